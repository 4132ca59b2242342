"""Shared fixtures: free ports, a real Mosquitto broker per test, a scratch PostgreSQL database,
and the hardware markers (gpu, jetson) that skip with a reason where the hardware is absent."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import Broker
from tests.support.net import free_port

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def _has_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def _has_tensorrt() -> bool:
    try:
        import tensorrt  # noqa: F401

        return Path("/etc/nv_tegra_release").exists() or bool(os.environ.get("SIGNET_TEST_TENSORRT"))
    except Exception:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_gpu = pytest.mark.skip(reason="no CUDA GPU on this machine")
    skip_jetson = pytest.mark.skip(reason="needs a Jetson with TensorRT and pycuda (not installed here)")
    gpu = jetson = None
    for item in items:
        if "gpu" in item.keywords:
            gpu = _has_cuda() if gpu is None else gpu
            if not gpu:
                item.add_marker(skip_gpu)
        if "jetson" in item.keywords:
            jetson = _has_tensorrt() if jetson is None else jetson
            if not jetson:
                item.add_marker(skip_jetson)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A real Mosquitto on a free loopback port, anonymous, with persistence in tmp_path."""
    if not shutil.which("mosquitto"):
        pytest.fail("mosquitto is not installed: run scripts/setup")
    b = Broker(tmp_path / "broker")
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real validation documents not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg not installed (cloud extra)")
    base = os.environ.get("SIGNET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = "signet_test_" + uuid.uuid4().hex[:12]
    try:
        admin = psycopg.connect(base, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL not reachable at {base} ({exc}); scripts/setup starts it")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    try:
        yield url
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
