"""``signet edge sync``: run only the sync (drain the outbox, answer commands) until stopped.

Useful to empty a device's backlog without the camera pipeline, and used by the fault tests to
run sync in a process they can SIGKILL.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

import click

log = logging.getLogger(__name__)


@click.command("sync")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Edge settings YAML (default: $SIGNET_CONFIG).")  # fmt: skip
@click.option("--until-drained", is_flag=True, help="Exit once the result outbox is empty.")
def sync(config_path: Path | None, until_drained: bool) -> None:
    """Publish the outbox to the broker until interrupted (or drained)."""
    from edge.config import EdgeConfig
    from edge.store import EdgeStore
    from edge.sync import SyncClient
    from signet.config import ConfigError, load_settings

    path = config_path or (Path(os.environ["SIGNET_CONFIG"]) if os.environ.get("SIGNET_CONFIG") else None)
    try:
        cfg = load_settings(EdgeConfig, path, environ=os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    store = EdgeStore(cfg.store)
    client = SyncClient(cfg.sync, cfg.device, store)
    done = threading.Event()

    def _term(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    client.start()
    click.echo(
        f"sync {cfg.device.id}: {store.outbox_backlog()} pending, broker {cfg.sync.broker.host}:{cfg.sync.broker.port}"
    )
    while not done.wait(0.5):
        if until_drained and client.wait_drained(0.01):
            break
    client.stop()
    click.echo(f"stopped: {client.acknowledged} acknowledged, {store.outbox_backlog()} pending")
