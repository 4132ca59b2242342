"""Helpers for ingest tests: a migrated database, a publisher, waiting for rows."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select

from cloud.config import IngestConfig
from cloud.db import make_engine, session_scope, upgrade
from cloud.db.models import DeadLetter, Page


def migrated_engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def sqlite_engine(tmp_path: Path) -> Engine:
    return migrated_engine(f"sqlite:///{tmp_path / 'cloud.db'}")


def ingest_cfg(port: int, client_id: str = "ingest-1", **kw: object) -> IngestConfig:
    return IngestConfig(port=port, client_id=client_id, sweep_interval_s=0.5, **kw)  # type: ignore[arg-type]


def publisher(
    port: int, client_id: str = "pub", username: str | None = None, password: str | None = None
) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if username:
        c.username_pw_set(username, password)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def result_ids(engine: Engine) -> set[str]:
    with session_scope(engine) as s:
        return {str(r) for r in s.scalars(select(Page.result_id))}


def dead_letters(engine: Engine) -> list[DeadLetter]:
    with session_scope(engine) as s:
        return list(s.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def count(engine: Engine, model: type) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def wait_until(check: Callable[[], bool], timeout: float = 20.0, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()
