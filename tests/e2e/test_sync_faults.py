"""Sync under faults: real Mosquitto processes, real SQLite/PostgreSQL, real subprocesses killed.

Every test ends with the exact set of produced result ids in the cloud (nothing lost, nothing
that was not produced), counted and printed.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud.ingest.worker import IngestWorker
from edge.store import outbox
from tests.cloud.ingest.support import ingest_cfg, migrated_engine, result_ids, sqlite_engine, wait_until
from tests.e2e.sync_env import (
    Producer,
    TcpProxy,
    check_exact,
    edge_store,
    prefill,
    start_edge_sync,
    start_ingest,
    sync_client,
)
from tests.support.broker import Broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """Mosquitto whose persistence really works when the tests run as root.

    As root, Mosquitto drops to the ``mosquitto`` user, which cannot write pytest's tmp dirs, so
    without ``user root`` nothing (sessions, queued messages) would survive a restart.
    """
    b = Broker(tmp_path / "broker")  # stays root when started as root (see Broker.write_conf)
    b.start()
    try:
        yield b
    finally:
        b.stop()


def _worker(engine, port: int) -> IngestWorker:  # type: ignore[no-untyped-def]
    w = IngestWorker(ingest_cfg(port), engine)
    w.start()
    assert w.wait_connected(10)
    return w


def test_given_stream_when_broker_killed_and_restarted_five_times_then_exact_set_stored(
    tmp_path: Path, broker: Broker
) -> None:
    engine = sqlite_engine(tmp_path)
    worker = _worker(engine, broker.port)
    time.sleep(1.5)  # the broker saves the worker's session (autosave 1 s) before the first kill
    store = edge_store(tmp_path)
    sync = sync_client(store, broker.port)
    sync.start()
    producer = Producer(store, n=1500, rate=200)
    producer.start()
    try:
        for _ in range(5):
            time.sleep(1.0)
            broker.kill()  # SIGKILL: like a crash, unsaved broker state is lost
            time.sleep(0.5)
            broker.start()
        producer.join()
        check_exact(
            "broker killed x5", engine, set(producer.ids),
            edge_connects=sync.connects, replayed=sync.replayed, duplicates_ignored=worker.stats.duplicates,
        )  # fmt: skip
        assert sync.connects >= 3  # a kill can land while the edge is still backing off
    finally:
        sync.stop()
        worker.stop()


@pytest.mark.slow
def test_given_broker_down_60s_when_edge_keeps_producing_then_exact_set_stored(
    tmp_path: Path, broker: Broker
) -> None:
    engine = sqlite_engine(tmp_path)
    worker = _worker(engine, broker.port)
    time.sleep(1.5)
    store = edge_store(tmp_path)
    sync = sync_client(store, broker.port)
    sync.start()
    producer = Producer(store, n=4000, rate=50)  # 80 s of production
    producer.start()
    try:
        time.sleep(5)
        broker.stop()
        time.sleep(60)
        backlog = outbox.backlog(store.db, "result")
        broker.start()
        producer.join()
        check_exact("broker down 60 s", engine, set(producer.ids), timeout=120, backlog_at_return=backlog)
        assert backlog > 2000  # the edge kept producing into its outbox meanwhile
    finally:
        sync.stop()
        worker.stop()


def test_given_edge_sigkilled_mid_drain_when_restarted_then_exact_set_stored(
    tmp_path: Path, broker: Broker
) -> None:
    engine = sqlite_engine(tmp_path)
    worker = _worker(engine, broker.port)
    store = edge_store(tmp_path)
    # Enough backlog that the drain (thousands a second) is still going when the poll, which a
    # loaded 2-core machine may delay by a second or two, sees it start.
    n = 12_000
    produced = prefill(store, n)
    proc = start_edge_sync(tmp_path, broker.port)
    try:
        assert wait_until(lambda: outbox.backlog(store.db, "result") < n - 500, timeout=60, every=0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        left = outbox.backlog(store.db, "result")
        again = start_edge_sync(tmp_path, broker.port, "--until-drained")
        out, _ = again.communicate(timeout=120)
        assert again.returncode == 0, out.decode()[-2000:]
        check_exact(
            "edge SIGKILL mid-drain", engine, produced,
            pending_at_kill=left, duplicates_ignored=worker.stats.duplicates,
        )  # fmt: skip
        assert 0 < left < n  # the kill did land mid-drain
    finally:
        if proc.poll() is None:
            proc.kill()
        worker.stop()


def test_given_ingest_worker_killed_mid_batch_when_restarted_then_exact_set_stored(
    tmp_path: Path, broker: Broker
) -> None:
    engine = sqlite_engine(tmp_path)
    url = str(engine.url.render_as_string(hide_password=False))
    ingest = start_ingest(url, broker.port)
    store = edge_store(tmp_path)
    produced = prefill(store, 3000)
    sync = sync_client(store, broker.port)
    try:
        time.sleep(3)  # the worker is up and subscribed (its session persists on the broker)
        sync.start()
        assert wait_until(lambda: len(result_ids(engine)) > 300, timeout=60, every=0.02)
        ingest.send_signal(signal.SIGKILL)
        ingest.wait(10)
        at_kill = len(result_ids(engine))
        ingest = start_ingest(url, broker.port)
        check_exact("ingest SIGKILL mid-batch", engine, produced, timeout=120, stored_at_kill=at_kill)
        assert at_kill < 3000
    finally:
        sync.stop()
        ingest.kill()
        ingest.wait(10)


def _db_outage(tmp_path: Path, broker: Broker, postgres_url: str, outage_s: float) -> None:
    migrated_engine(postgres_url).dispose()
    port = int(postgres_url.rsplit(":", 1)[1].split("/", 1)[0])
    proxy = TcpProxy(port)
    proxy.start()
    proxied = postgres_url.replace(f":{port}/", f":{proxy.port}/")
    engine = migrated_engine(proxied)
    direct = migrated_engine(postgres_url)
    worker = _worker(engine, broker.port)
    store = edge_store(tmp_path)
    sync = sync_client(store, broker.port)
    sync.start()
    producer = Producer(store, n=int(200 + outage_s * 40), rate=40)
    producer.start()
    try:
        time.sleep(2)
        proxy.stop()
        time.sleep(outage_s)
        retries = worker.stats.db_retries
        proxy.start()
        producer.join()
        check_exact(
            f"PostgreSQL away {outage_s:.0f} s", direct, set(producer.ids), timeout=120,
            db_retries_during_outage=retries, duplicates_ignored=worker.stats.duplicates,
        )  # fmt: skip
        assert worker.stats.db_retries > 0  # it did hit the outage, and kept running through it
        assert worker._thread is not None and worker._thread.is_alive()
    finally:
        sync.stop()
        worker.stop()
        proxy.stop()
        engine.dispose()
        direct.dispose()


@pytest.mark.postgres
def test_given_database_away_5s_when_ingesting_then_exact_set_stored(
    tmp_path: Path, broker: Broker, postgres_url: str
) -> None:
    _db_outage(tmp_path, broker, postgres_url, 5.0)


@pytest.mark.slow
@pytest.mark.postgres
def test_given_database_away_30s_when_ingesting_then_exact_set_stored(
    tmp_path: Path, broker: Broker, postgres_url: str
) -> None:
    _db_outage(tmp_path, broker, postgres_url, 30.0)
