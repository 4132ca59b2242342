"""Generated malformed payloads (hypothesis): each one dead-lettered, the worker keeps running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cloud.ingest.worker import IngestWorker
from edge.contract import encode, result_topic
from tests.cloud.ingest.support import (
    dead_letters,
    ingest_cfg,
    publisher,
    result_ids,
    sqlite_engine,
    wait_until,
)
from tests.edge.sync.factory import result
from tests.support.broker import Broker

VALID = json.loads(encode(result("dev-1", 0)))
KEYS = sorted(VALID)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@st.composite
def malformed(draw: st.DrawFn) -> bytes:
    """A payload that must never be accepted as a Result from dev-1."""
    kind = draw(st.sampled_from(["bytes", "json", "drop", "retype", "device", "version", "big"]))
    if kind == "bytes":
        # random bytes: never a JSON object with a valid Result inside
        return draw(st.binary(max_size=200))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    doc = json.loads(json.dumps(VALID))
    if kind == "drop":  # a required key missing
        doc.pop(
            draw(
                st.sampled_from(
                    [
                        "result_id",
                        "device_id",
                        "site",
                        "source",
                        "captured_at",
                        "image",
                        "doc_type",
                        "models",
                        "signature_count",
                        "schema_version",
                    ]
                )
            )
        )
    elif kind == "retype":  # a key given a value of the wrong kind
        key = draw(st.sampled_from(["source", "image", "doc_type", "models", "signatures", "fields"]))
        doc[key] = draw(json_scalars)
    elif kind == "device":  # speaks for another device
        doc["device_id"] = draw(st.from_regex(r"dev-[2-9][0-9]{0,3}", fullmatch=True))
    elif kind == "version":
        doc["schema_version"] = draw(st.integers().filter(lambda v: v != 1) | st.text(max_size=5))
    elif kind == "big":
        doc["text"] = "x" * 300_000  # over the contract's 200,000-character limit
    return json.dumps(doc).encode()


BATCH = 50


def _run(tmp_path: Path, total: int) -> None:
    """One broker and worker; hypothesis sends ``total`` payloads in examples of BATCH."""
    broker = Broker(tmp_path / "broker")
    broker.start()
    engine = sqlite_engine(tmp_path)
    worker = IngestWorker(ingest_cfg(broker.port, batch_size=500), engine)
    pub = None
    sent: list[bytes] = []
    try:
        worker.start()
        assert worker.wait_connected(10)
        pub = publisher(broker.port)

        @settings(
            max_examples=total // BATCH,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.generate],  # shrinking would rerun broker round trips
        )
        @given(st.lists(malformed(), min_size=BATCH, max_size=BATCH))
        def send(payloads: list[bytes]) -> None:
            assert pub is not None
            for info in [pub.publish(result_topic("dev-1"), p, qos=1) for p in payloads]:
                info.wait_for_publish(60)
            sent.extend(payloads)

        send()
        good = result("dev-1", 1)
        pub.publish(result_topic("dev-1"), encode(good), qos=1).wait_for_publish(60)
        # Under pytest-timeout's 300 s, so a stall fails here and prints the counts below
        # (sent, dead-lettered, stored) instead of being killed without them.
        ok = wait_until(
            lambda: len(dead_letters(engine)) >= len(sent) and bool(result_ids(engine)),
            timeout=200,
            every=0.5,
        )
        letters = dead_letters(engine)
        alive = worker._thread is not None and worker._thread.is_alive()
        kinds = sorted({d.reason.split(":")[0][:40] for d in letters})
        print(
            f"\n[malformed] sent={len(sent)} dead-lettered={len(letters)} valid stored={len(result_ids(engine))} worker alive={alive} distinct reasons={len(kinds)}"
        )
        assert ok and alive
        assert len(sent) == total
        assert len(letters) == len(sent)
        assert all(d.reason for d in letters)
        assert sorted(d.payload for d in letters) == sorted(sent)
        assert result_ids(engine) == {str(good.result_id)}  # the worker still stores valid results
    finally:
        if pub is not None:
            pub.loop_stop()
        worker.stop()
        broker.stop()
        engine.dispose()


def test_given_500_generated_malformed_payloads_when_ingested_then_each_dead_lettered(tmp_path: Path) -> None:
    _run(tmp_path, 500)


@pytest.mark.slow
def test_given_10000_generated_malformed_payloads_when_ingested_then_each_dead_lettered(
    tmp_path: Path,
) -> None:
    _run(tmp_path, 10_000)
