"""``signet cloud devices add|revoke`` and ``signet cloud broker config``."""

from __future__ import annotations

from pathlib import Path

import click

from cloud.db.cli import config_option, load_cloud_config


def _reload_hint(pid: int | None) -> None:
    if pid is None:
        click.echo("reload the broker to apply: systemctl reload mosquitto (or kill -HUP <pid>)")
        return
    import os
    import signal

    os.kill(pid, signal.SIGHUP)
    click.echo(f"broker (pid {pid}) told to reload its password file")


def _engine(config_path: Path | None):  # type: ignore[no-untyped-def]
    from cloud.db import make_engine
    from cloud.db.migrate import upgrade

    cfg = load_cloud_config(config_path)
    engine = make_engine(cfg.database.url)
    if engine.dialect.name == "sqlite":
        upgrade(engine)
    return cfg, engine


@click.group()
def devices() -> None:
    """Device identities: broker credentials and HTTP tokens."""


@devices.command("add")
@click.argument("device_id")
@click.option("--site", required=True, help="Site (branch or kiosk) the device belongs to.")
@click.option("--broker-pid", type=int, default=None, help="Send the broker SIGHUP so it reloads passwords.")
@config_option
def add(device_id: str, site: str, broker_pid: int | None, config_path: Path | None) -> None:
    """Create DEVICE_ID's broker password and token and print its config snippet (secrets shown once)."""
    from cloud.devices.broker import BrokerFiles
    from cloud.devices.registry import add_device, config_snippet

    cfg, engine = _engine(config_path)
    try:
        enrolment = add_device(engine, BrokerFiles(cfg.broker.dir), device_id, site)
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(config_snippet(enrolment, cfg.broker))
    _reload_hint(broker_pid)


@devices.command("revoke")
@click.argument("device_id")
@click.option("--broker-pid", type=int, default=None, help="Send the broker SIGHUP so it reloads passwords.")
@config_option
def revoke(device_id: str, broker_pid: int | None, config_path: Path | None) -> None:
    """Remove DEVICE_ID's broker user and token (its stored results stay)."""
    from cloud.devices.broker import BrokerFiles
    from cloud.devices.registry import revoke_device

    cfg, engine = _engine(config_path)
    try:
        known = revoke_device(engine, BrokerFiles(cfg.broker.dir), device_id)
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"device {device_id} revoked"
        if known
        else f"device {device_id} was not registered; broker user removed"
    )
    _reload_hint(broker_pid)


@click.group()
def broker() -> None:
    """The Mosquitto broker's configuration."""


@broker.command("config")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write mosquitto.conf, acl and passwords to (default: broker.dir).")  # fmt: skip
@click.option("--tls-port", default=8883, show_default=True, help="Devices' TLS listener.")
@click.option("--local-port", default=1883, show_default=True, help="Loopback listener for ingest and web.")
@click.option("--make-tls/--no-make-tls", default=False, help="Create a private CA and server certificate.")
@click.option("--host", default="localhost", show_default=True, help="Server certificate host name.")
@click.option("--installed-at", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder the files will be installed in, when not --out (paths in mosquitto.conf).")  # fmt: skip
@click.option("--no-users", is_flag=True, help="Do not create the service users (example configs).")
@click.option(
    "--run-as",
    default=None,
    help="User Mosquitto runs as when started as root (e.g. root for a demo in ./var).",
)
@config_option
def broker_config(
    out: Path | None,
    tls_port: int,
    local_port: int,
    make_tls: bool,
    host: str,
    installed_at: Path | None,
    no_users: bool,
    run_as: str | None,
    config_path: Path | None,
) -> None:
    """Generate mosquitto.conf: no anonymous access, password file, per-device ACL, TLS on 8883."""
    from cloud.devices.broker import BrokerFiles, write_config
    from cloud.devices.broker import make_tls as _make_tls

    if out is None:
        out = load_cloud_config(config_path).broker.dir
    files = BrokerFiles(out.resolve())
    try:
        created = write_config(
            files, tls_port, local_port, installed_at, service_users=not no_users, run_as=run_as
        )
        if make_tls:
            _make_tls(files.tls, host)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {files.conf}, {files.acl}, {files.passwords}")
    if not (files.tls / "server.crt").exists():
        click.echo(f"put ca.crt, server.crt and server.key in {files.tls} (or rerun with --make-tls)")
    for user, password in created.items():
        click.echo(
            f"service user {user}: password {password}  (shown once; SIGNET_INGEST__PASSWORD for ingest)"
        )
