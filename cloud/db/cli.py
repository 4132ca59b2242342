"""``signet cloud db ...``: schema migrations."""

from __future__ import annotations

from pathlib import Path

import click

from cloud.config import CloudConfig


def load_cloud_config(config_path: Path | None) -> CloudConfig:
    """Cloud settings from an optional YAML file and the SIGNET_* environment."""
    import os

    from signet.config import ConfigError, load_settings

    path = config_path or (Path(os.environ["SIGNET_CONFIG"]) if os.environ.get("SIGNET_CONFIG") else None)
    try:
        return load_settings(CloudConfig, path, environ=os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Cloud settings YAML.",
)


@click.group()
def db() -> None:
    """The cloud database schema."""


@db.command("upgrade")
@config_option
@click.option("--url", default=None, help="Database URL (overrides the settings).")
def db_upgrade(config_path: Path | None, url: str | None) -> None:
    """Apply migrations up to the latest schema."""
    from cloud.db.engine import make_engine
    from cloud.db.migrate import current_revision, upgrade

    cfg = load_cloud_config(config_path)
    engine = make_engine(url or cfg.database.url)
    upgrade(engine)
    click.echo(f"database at revision {current_revision(engine)}")


@db.command("current")
@config_option
@click.option("--url", default=None, help="Database URL (overrides the settings).")
def db_current(config_path: Path | None, url: str | None) -> None:
    """Print the schema revision of the database."""
    from cloud.db.engine import make_engine
    from cloud.db.migrate import current_revision, head_revision

    cfg = load_cloud_config(config_path)
    engine = make_engine(url or cfg.database.url)
    click.echo(f"current {current_revision(engine)} (head {head_revision()})")
