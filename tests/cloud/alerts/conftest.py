from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine

from tests.cloud.appsupport import add_users, make_app


@pytest.fixture
def app(engine: Engine, db_url: str, tmp_path: Path) -> Flask:
    add_users(engine)
    return make_app(engine, db_url, tmp_path)
