"""The ingest worker against a real Mosquitto and real SQLite / PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from cloud.db import session_scope
from cloud.db.models import Device, Page
from cloud.ingest.worker import IngestWorker
from edge.contract import Health, Status, encode, health_topic, result_topic, status_topic
from tests.cloud.ingest.support import (
    dead_letters,
    ingest_cfg,
    migrated_engine,
    publisher,
    result_ids,
    sqlite_engine,
    wait_until,
)
from tests.edge.sync.factory import result
from tests.support.broker import Broker


def _run_batch(engine, broker: Broker, n: int = 300) -> tuple[IngestWorker, set[str]]:  # type: ignore[no-untyped-def]
    worker = IngestWorker(ingest_cfg(broker.port), engine)
    worker.start()
    assert worker.wait_connected(10)
    pub = publisher(broker.port)
    ids = set()
    msgs = []
    for i in range(n):
        r = result("dev-1", i)
        ids.add(str(r.result_id))
        msgs.append(r)
    for r in msgs + msgs[:50]:  # 50 redelivered duplicates
        pub.publish(result_topic("dev-1"), encode(r), qos=1).wait_for_publish(5)
    assert wait_until(lambda: worker.stats.received >= n + 50)
    assert wait_until(lambda: result_ids(engine) == ids)
    pub.loop_stop()
    pub.disconnect()
    return worker, ids


def test_given_results_and_duplicates_when_ingested_into_sqlite_then_each_stored_once(
    tmp_path: Path, broker: Broker
) -> None:
    engine = sqlite_engine(tmp_path)
    worker, ids = _run_batch(engine, broker)
    worker.stop()
    got = result_ids(engine)
    print(f"sqlite: {len(got)} stored of {len(ids)} produced, {worker.stats.duplicates} duplicates ignored")
    assert got == ids and worker.stats.duplicates == 50 and worker.stats.dead_letters == 0


@pytest.mark.postgres
def test_given_results_and_duplicates_when_ingested_into_postgres_then_each_stored_once(
    postgres_url: str, broker: Broker
) -> None:
    engine = migrated_engine(postgres_url)
    worker, ids = _run_batch(engine, broker)
    worker.stop()
    assert result_ids(engine) == ids
    engine.dispose()


def test_given_invalid_payloads_when_ingested_then_dead_lettered_with_reason_and_worker_keeps_going(
    tmp_path: Path, broker: Broker
) -> None:
    engine = sqlite_engine(tmp_path)
    worker = IngestWorker(ingest_cfg(broker.port, max_payload_bytes=4096), engine)
    worker.start()
    assert worker.wait_connected(10)
    pub = publisher(broker.port)
    good = result("dev-1", 1)
    other = result("dev-2", 2)
    doc = json.loads(encode(good))
    doc["signature_count"] = 7
    cases = {
        b"{not json": "not JSON",
        json.dumps(doc).encode(): "signature_count",
        encode(other): "does not match topic device",
        b'{"schema_version": 99}': "unsupported schema_version",
        b"x" * 5000: "exceeds",
    }
    for payload in cases:
        pub.publish(result_topic("dev-1"), payload, qos=1).wait_for_publish(5)
    pub.publish(result_topic("dev-1"), encode(good), qos=1).wait_for_publish(5)
    assert wait_until(
        lambda: len(dead_letters(engine)) == len(cases) and result_ids(engine) == {str(good.result_id)}
    )
    reasons = [d.reason for d in dead_letters(engine)]
    for expected, reason in zip(cases.values(), reasons, strict=True):
        assert expected in reason
    assert all(d.topic == result_topic("dev-1") for d in dead_letters(engine))
    worker.stop()
    pub.loop_stop()


def test_given_last_will_and_silence_when_ingested_then_devices_marked_offline(
    tmp_path: Path, broker: Broker
) -> None:
    engine = sqlite_engine(tmp_path)
    worker = IngestWorker(ingest_cfg(broker.port, offline_after_s=1.0), engine)
    worker.start()
    assert worker.wait_connected(10)
    pub = publisher(broker.port)
    pub.publish(status_topic("dev-a"), encode(Status(device_id="dev-a", state="online", site="s")), 1, True)
    pub.publish(health_topic("dev-b"), encode(Health(device_id="dev-b")), 1).wait_for_publish(5)

    def online() -> dict[str, bool]:
        with session_scope(engine) as s:
            return {d.id: d.online for d in s.scalars(select(Device))}

    assert wait_until(lambda: online() == {"dev-a": True, "dev-b": True}, timeout=10, every=0.05)
    # dev-a's connection drops: the broker publishes its last will (an offline Status)
    pub.publish(status_topic("dev-a"), encode(Status(device_id="dev-a", state="offline")), 1, True)
    assert wait_until(lambda: online().get("dev-a") is False, timeout=10)
    # dev-b just stops reporting: the sweep marks it offline after offline_after_s
    assert wait_until(lambda: online().get("dev-b") is False, timeout=10)
    worker.stop()
    pub.loop_stop()


def test_given_worker_stopped_when_results_published_then_delivered_on_restart(
    tmp_path: Path, broker: Broker
) -> None:
    engine = sqlite_engine(tmp_path)
    worker = IngestWorker(ingest_cfg(broker.port), engine)
    worker.start()
    assert worker.wait_connected(10)
    worker.stop()  # persistent session: the broker queues for it
    pub = publisher(broker.port)
    ids = set()
    for i in range(100):
        r = result("dev-1", i)
        ids.add(str(r.result_id))
        pub.publish(result_topic("dev-1"), encode(r), qos=1).wait_for_publish(5)
    again = IngestWorker(ingest_cfg(broker.port), engine)
    again.start()
    assert wait_until(lambda: result_ids(engine) == ids)
    again.stop()
    with session_scope(engine) as s:
        assert s.query(Page).count() == 100


def test_given_two_workers_on_the_shared_subscription_then_they_split_the_results_exactly(
    tmp_path: Path, broker: Broker
) -> None:
    engine = sqlite_engine(tmp_path)
    workers = [IngestWorker(ingest_cfg(broker.port, client_id=f"ingest-{k}"), engine) for k in (1, 2)]
    for w in workers:
        w.start()
        assert w.wait_connected(10)
    pub = publisher(broker.port)
    ids = set()
    for i in range(400):
        r = result(f"dev-{i % 4}", i)  # several devices, as in a fleet
        ids.add(str(r.result_id))
        pub.publish(result_topic(r.device_id), encode(r), qos=1).wait_for_publish(5)
    try:
        assert wait_until(lambda: result_ids(engine) == ids, timeout=60)
    finally:
        pub.loop_stop()
        pub.disconnect()
        for w in workers:
            w.stop()
    got = [w.stats.received for w in workers]
    print(f"shared subscription: worker 1 received {got[0]}, worker 2 {got[1]} of {len(ids)}")
    assert sum(got) == len(ids)  # each message went to exactly one of them
    assert min(got) > 0  # and both did work


def test_given_worker_process_when_gc_tuned_then_startup_objects_frozen_and_collections_rarer() -> None:
    import gc

    from cloud.ingest.worker import tune_gc

    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_freeze_count() > 1000  # modules, SQLAlchemy, paho: out of every scan
        assert gc.get_threshold()[0] > before[0]
        assert gc.isenabled()  # cycles are still collected
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
