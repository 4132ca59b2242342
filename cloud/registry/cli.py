"""``signet cloud mlflow`` (tracking server) and ``signet cloud models ...`` (promote, rollback, status)."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from pathlib import Path

import click

from edge.contract import MODEL_KINDS

log = logging.getLogger(__name__)

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SIGNET_CONFIG",
    default=None,
    help="Cloud settings file (SIGNET_* variables override it).",
)


def _settings(config_path: Path | None):  # type: ignore[no-untyped-def]
    from cloud.config import CloudConfig
    from signet.config import ConfigError, load_settings

    try:
        return load_settings(CloudConfig, config_path, environ=os.environ)
    except ConfigError as exc:
        raise click.ClickException("; ".join(exc.errors)) from exc


def mlflow_server_argv(
    backend_store_uri: str, artifacts: Path, host: str, port: int, workers: int = 1
) -> list[str]:
    """The command line of an MLflow server with proxied artifacts (clients need no storage access)."""
    exe = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow") or "mlflow"
    return [
        exe,
        "server",
        "--backend-store-uri",
        backend_store_uri,
        "--artifacts-destination",
        str(artifacts.resolve()),
        "--serve-artifacts",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


@click.command("mlflow")
@config_option
@click.option("--host", default=None, help="Bind address (default from settings: loopback).")
@click.option("--port", type=int, default=None, help="Port (default from settings: 5000).")
def mlflow_cmd(config_path: Path | None, host: str | None, port: int | None) -> None:
    """Run the MLflow tracking server: SQLite backend, artifacts proxied through the server."""
    cfg = _settings(config_path).mlflow
    if cfg.backend_store_uri.startswith("sqlite:///"):
        Path(cfg.backend_store_uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    cfg.artifacts_destination.mkdir(parents=True, exist_ok=True)
    argv = mlflow_server_argv(
        cfg.backend_store_uri, cfg.artifacts_destination, host or cfg.host, port or cfg.port, cfg.workers
    )
    click.echo(
        f"MLflow tracking server on http://{host or cfg.host}:{port or cfg.port} ({cfg.backend_store_uri})"
    )
    os.execv(argv[0], argv)  # become the server: signals and exit status are its own


@click.group("models")
def models_cmd() -> None:
    """Registered model versions and their rollout to the fleet."""
    # MLflow draws download progress bars on stderr; in a terminal command they are noise.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@models_cmd.command("list")
@config_option
@click.argument("name", required=False)
def list_cmd(config_path: Path | None, name: str | None) -> None:
    """Versions with aliases and offline metrics."""
    from cloud.registry.service import make_services

    svc = make_services(_settings(config_path))
    for n in [name] if name else svc.registry.model_names():
        for v in svc.registry.versions(n):
            metrics = ", ".join(f"{k}={val:.4g}" for k, val in sorted(v.metrics.items())[:6])
            click.echo(f"{n}\tv{v.version}\t{','.join(v.aliases) or '-'}\t{v.sha256[:12]}\t{metrics}")


@models_cmd.command("promote")
@config_option
@click.argument("name")
@click.argument("version")
@click.option("--fleet", is_flag=True, help="Every device.")
@click.option("--site", default=None, help="Only the devices of this site.")
@click.option(
    "--percent", type=float, default=None, help="Canary: this percentage of devices (of --site if given)."
)
def promote_cmd(
    config_path: Path | None, name: str, version: str, fleet: bool, site: str | None, percent: float | None
) -> None:
    """Publish NAME VERSION as the desired model for the fleet, a site or a canary."""
    from cloud.registry.service import make_services, promote

    svc = make_services(_settings(config_path))
    try:
        out = promote(svc, name, version, fleet=fleet, site=site, percent=percent, actor="cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    who = (
        "the fleet"
        if out["devices"] is None
        else f"{len(out['devices'])} device(s): {', '.join(out['devices'])}"
    )
    click.echo(f"rollout {out['rollout_id']}: {name} {version} ({out['model'].sha256[:12]}) to {who}")


@models_cmd.command("rollback")
@config_option
@click.option("--kind", type=click.Choice(MODEL_KINDS), default="detector", show_default=True)
def rollback_cmd(config_path: Path | None, kind: str) -> None:
    """Put the whole fleet back on the version before the last fleet promotion (one action)."""
    from cloud.registry.service import make_services

    svc = make_services(_settings(config_path))
    try:
        prev = svc.rollouts.rollback_fleet(kind, actor="cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    svc.registry.set_alias(prev.name, "production", prev.version)
    click.echo(f"fleet {kind} rolled back to {prev.name} {prev.version}")


@models_cmd.command("status")
@config_option
@click.option(
    "--watch-s", type=float, default=2.0, show_default=True, help="Listen this long for device states first."
)
def status_cmd(config_path: Path | None, watch_s: float) -> None:
    """Recent rollouts with per-device progress."""
    from cloud.registry.rollout import StateWatcher
    from cloud.registry.service import make_services

    cfg = _settings(config_path)
    svc = make_services(cfg)
    if watch_s > 0:
        w = StateWatcher(
            svc.store, cfg.ingest.host, cfg.ingest.port, cfg.ingest.username, cfg.ingest.password
        )
        w.start()
        time.sleep(watch_s)  # retained states arrive right after subscribing
        w.stop()
    for r in svc.store.rollouts(10):
        prog = svc.store.progress(r)
        line = ", ".join(f"{k}={v}" for k, v in sorted(prog.items())) or "no reports"
        flag = " (rolled back)" if r["rolled_back_at"] and r["scope"] != "rollback" else ""
        click.echo(
            f"{r['at'][:19]}  {r['scope']:<8} {r['target'] or '':<12} {r['name']} {r['version']}{flag}: {line}"
        )
    for s in svc.store.device_states():
        click.echo(
            f"  {s['device_id']:<20} {s['kind']:<10} {s['name']} {s['version']}: {s['state']} {s['detail'][:80]}"
        )


@models_cmd.command("watch")
@config_option
def watch_cmd(config_path: Path | None) -> None:
    """Record devices' model states as they arrive (Ctrl-C stops).

    `signet cloud ingest` records them too; this is for a registry whose ingest runs elsewhere
    (another rollout store) or for watching a rollout from a laptop."""
    from cloud.registry.rollout import StateWatcher
    from cloud.registry.service import make_services

    cfg = _settings(config_path)
    w = StateWatcher(
        make_services(cfg).store, cfg.ingest.host, cfg.ingest.port, cfg.ingest.username, cfg.ingest.password
    )
    w.start()
    click.echo(f"recording model states from {cfg.ingest.host}:{cfg.ingest.port}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        w.stop()
