"""``signet cloud serve``: the web app under gunicorn (or Flask's dev server with --dev) plus the
alert evaluator, with SQLite by default so it runs with no external service."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from cloud.config import CloudConfig
from cloud.db.cli import config_option, load_cloud_config

log = logging.getLogger(__name__)

DEFAULT_KEY_FILE = Path("var/cloud-secret-key")


def ensure_secret_key(cfg: CloudConfig, key_file: Path = DEFAULT_KEY_FILE) -> CloudConfig:
    """A stable session key: the configured one, or one made once and kept (mode 0600) in var/.

    Every gunicorn worker must sign sessions with the same key, and a restart must not log
    everyone out, so a random per-process key will not do.
    """
    if cfg.web.secret_key or cfg.web.secret_key_file:
        return cfg
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        log.info("made a session key in %s", key_file)
    cfg.web.secret_key_file = key_file
    return cfg


def gunicorn_options(cfg: CloudConfig) -> dict[str, Any]:
    """gunicorn settings for the web app (threads: requests mostly wait on the database)."""
    return {
        "bind": f"{cfg.web.host}:{cfg.web.port}",
        "workers": cfg.web.workers,
        "threads": cfg.web.threads,
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 5,
        # Recycle workers now and then so a slow leak cannot grow without bound.
        "max_requests": 5000,
        "max_requests_jitter": 500,
        "accesslog": None,  # our after_request log line has the timing; no duplicate access log
        "errorlog": "-",
        "forwarded_allow_ips": "127.0.0.1",
        "proc_name": "signet-web",
        "preload_app": False,
        "child_exit": _worker_exited,
    }


def _worker_exited(server: Any, worker: Any) -> None:
    """A recycled or dead worker's live gauges leave the aggregated /metrics (its counts stay)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def metrics_dir() -> Path:
    """A fresh folder for prometheus_client's multiprocess files: each gunicorn worker writes its
    histograms there and /metrics sums them, so a scrape sees every worker, not just the one
    that answered. Must be in the environment before a worker imports prometheus_client."""
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="signet-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(d)
    return d


def run_gunicorn(cfg: CloudConfig) -> None:
    from gunicorn.app.base import BaseApplication

    class SignetWeb(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in gunicorn_options(cfg).items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from cloud.app import create_app

            return create_app(cfg)

    SignetWeb().run()


def _prepare(cfg: CloudConfig) -> None:
    """Migrate once before any worker starts (SQLite), so workers never race on it."""
    from cloud.db.engine import make_engine
    from cloud.db.migrate import is_current, upgrade

    engine = make_engine(cfg.database.url)
    if engine.dialect.name == "sqlite":
        upgrade(engine)
    elif not is_current(engine):
        raise click.ClickException("the database schema is not current: run `signet cloud db upgrade` first")
    engine.dispose()


@click.command("serve")
@config_option
@click.option("--host", default=None, help="Bind address (default: web.host).")
@click.option("--port", type=int, default=None, help="Port (default: web.port).")
@click.option("--workers", type=int, default=None, help="gunicorn workers (default: web.workers).")
@click.option("--dev", is_flag=True, help="Flask's development server (reloader off), one process.")
@click.option(
    "--alerts/--no-alerts", default=True, show_default=True, help="Run the alert evaluator alongside."
)
@click.option(
    "--ingest/--no-ingest",
    default=False,
    show_default=True,
    help="Also run one ingest worker alongside (a single-machine pilot; at scale run them separately).",
)
def serve(
    config_path: Path | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    dev: bool,
    alerts: bool,
    ingest: bool,
) -> None:
    """Serve the dashboard and API (gunicorn), and evaluate alerts."""
    cfg = load_cloud_config(config_path)
    if host:
        cfg.web.host = host
    if port is not None:
        cfg.web.port = port
    if workers:
        cfg.web.workers = workers
    cfg = ensure_secret_key(cfg)
    _prepare(cfg)
    children: list[subprocess.Popen[bytes]] = []
    env = dict(os.environ, SIGNET_DATABASE__URL=cfg.database.url)
    # Separate processes: exactly one evaluator (and one worker) however many web workers run.
    for wanted, sub in ((alerts, ["alerts", "run"]), (ingest, ["ingest"])):
        if wanted:
            cmd = [sys.executable, "-m", "signet.cli", "cloud", *sub]
            if config_path:
                cmd += ["--config", str(config_path)]
            children.append(subprocess.Popen(cmd, env=env))
    click.echo(
        f"signet web on http://{cfg.web.host}:{cfg.web.port} ({'dev server' if dev else 'gunicorn'}, {cfg.database.url.split('://')[0]})"
    )
    try:
        if dev:
            from cloud.app import create_app

            create_app(cfg).run(
                host=cfg.web.host, port=cfg.web.port, debug=False, use_reloader=False, threaded=True
            )
        else:
            mdir = metrics_dir()
            try:
                run_gunicorn(cfg)
            finally:
                import shutil

                shutil.rmtree(mdir, ignore_errors=True)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
