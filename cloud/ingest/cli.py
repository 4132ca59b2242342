"""``signet cloud ingest``: run one ingest worker until interrupted."""

from __future__ import annotations

import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

import click

from cloud.db.cli import config_option, load_cloud_config

log = logging.getLogger(__name__)


@click.command("ingest")
@config_option
@click.option("--client-id", default=None, help="MQTT client id of this worker (overrides ingest.client_id).")
def ingest(config_path: Path | None, client_id: str | None) -> None:
    """Store what devices publish (results, status, health), dead-lettering invalid messages."""
    from cloud.db import make_engine
    from cloud.db.migrate import is_current, upgrade
    from cloud.ingest.worker import IngestWorker, tune_gc

    cfg = load_cloud_config(config_path)
    if client_id:
        cfg.ingest.client_id = client_id
    engine = make_engine(cfg.database.url, echo=cfg.database.echo)
    if engine.dialect.name == "sqlite":
        upgrade(engine)  # single file, single host: bring the schema up on start
    elif not is_current(engine):
        raise click.ClickException("database schema is not current: run `signet cloud db upgrade` first")
    # Model rollout progress reported by devices (their retained .../cmd/model/state) goes to the
    # registry's rollout store, so the Models page shows it without a separate watcher process.
    from cloud.registry.rollout import RolloutStore
    from edge.contract import MODEL_KINDS, CommandState

    rollouts = RolloutStore(cfg.mlflow.state_db)

    def _model_state(cs: CommandState) -> None:
        if cs.name in ("model", "rollback") and cs.data.get("kind") in MODEL_KINDS:
            try:
                rollouts.record_state(cs)
            except Exception:  # the results stream must not stop for the rollout store
                log.exception("could not record the model state of %s", cs.device_id)

    worker = IngestWorker(cfg.ingest, engine, on_command_state=_model_state)

    def _term(signum: int, frame: Any) -> None:
        log.info("signal %d: stopping ingest after the current batch", signum)
        worker.request_stop()

    signal.signal(signal.SIGTERM, _term)
    tune_gc()  # this process is the worker and nothing else
    click.echo(
        f"ingest {cfg.ingest.client_id}: broker {cfg.ingest.host}:{cfg.ingest.port}, database {engine.url!r}"
    )
    with contextlib.suppress(KeyboardInterrupt):
        worker.run()
    s = worker.stats
    click.echo(f"stopped: {s.stored} stored, {s.duplicates} duplicates, {s.dead_letters} dead-lettered")
