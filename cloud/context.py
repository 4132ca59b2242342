"""What a request can reach: the settings, the engine and a request-scoped database session.

Blueprints (ours, the dashboard's, the registry's) use these instead of globals, so several apps
with different databases can live in one process (the tests do that).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cloud.config import CloudConfig
from cloud.db.engine import session_factory

EXTENSION = "signet"


@dataclass
class AppState:
    cfg: CloudConfig
    engine: Engine
    extras: dict[str, Any] = field(default_factory=dict)


def init_state(app: Flask, cfg: CloudConfig, engine: Engine) -> AppState:
    state = AppState(cfg=cfg, engine=engine)
    app.extensions[EXTENSION] = state
    app.teardown_appcontext(_close_session)
    return state


def state() -> AppState:
    """The current app's state (settings, engine)."""
    st = current_app.extensions[EXTENSION]
    assert isinstance(st, AppState)
    return st


def settings() -> CloudConfig:
    return state().cfg


def engine() -> Engine:
    return state().engine


def db() -> Session:
    """The request's session (opened on first use, closed at teardown; commit explicitly)."""
    session = g.get("_signet_db")
    if session is None:
        session = session_factory(state().engine)()
        g._signet_db = session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("_signet_db", None)
    if session is not None:
        session.close()
