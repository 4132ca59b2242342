"""The wire contract: round trips, invalid messages named by field, unknown versions refused."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from edge import contract as c

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)


def make_result(**over: object) -> c.Result:
    doc: dict[str, object] = {
        "device_id": "kiosk-01",
        "site": "paris-01",
        "source": {"kind": "folder", "uri": "folder:///srv/scans/a.pdf", "page_index": 1, "page_count": 3},
        "captured_at": NOW,
        "processed_at": NOW + timedelta(seconds=1),
        "image": {"sha256": "a" * 64, "width": 1654, "height": 2339, "dpi": 200},
        "signatures": [{"box": {"x1": 0.1, "y1": 0.8, "x2": 0.3, "y2": 0.86}, "score": 0.93}],
        "signature_count": 1,
        "text": "FACTURE N° F-2026-001",
        "fields": {
            "values": {"number": {"value": "F-2026-001", "confidence": 0.9, "raw": "F-2026-001"}},
            "line_items": [{"description": "Widget", "quantity": 2, "unit_price": 5.0, "amount": 10.0}],
            "checks": [{"name": "lines_sum_to_total", "ok": True}],
            "codes": [{"kind": "qr", "payload": "INV:F-2026-001;TOTAL:10.00"}],
        },
        "doc_type": {"label": "invoice", "confidence": 0.97, "needs_review": False},
        "models": {
            "detector": {"name": "sigdet", "version": "1.0.0"},
            "classifier": {"name": "doctype", "version": "1.0.0"},
            "ocr": {"name": "tesseract", "version": "5.3.0"},
        },
        "timings_ms": {"detect": 31.0, "ocr": 420.5},
    }
    doc.update(over)
    return c.Result.model_validate(doc)


def test_result_round_trips_through_json_unchanged() -> None:
    r = make_result()
    back = c.decode(c.Result, c.encode(r))
    assert back == r
    assert back.models.handwriting is None  # optional: a result without it is whole
    hand = c.ModelRef(name="signet-handwriting", version="1.0.0")
    r2 = r.model_copy(update={"models": r.models.model_copy(update={"handwriting": hand})})
    assert c.decode(c.Result, c.encode(r2)).models.handwriting == hand
    assert isinstance(back.result_id, uuid.UUID)
    assert back.schema_version == c.SCHEMA_VERSION


def test_every_message_round_trips() -> None:
    msgs = [
        c.Status(device_id="kiosk-01", state="offline", versions={"software": "0.1.0"}),
        c.Health(device_id="kiosk-01", fps=15.2, queues={"frames": 1}, outbox_backlog=3),
        c.Command(name="ping"),
        c.CommandState(device_id="kiosk-01", name="model", state="downloading", progress=0.5),
        c.DesiredModels(
            models=[
                c.DesiredModel(
                    kind="detector", name="sigdet", version="2", sha256="b" * 64, size=10, url="https://x/m"
                )
            ]
        ),
    ]
    for m in msgs:
        assert c.decode(type(m), c.encode(m)) == m


def test_result_ids_are_made_fresh_per_result() -> None:
    assert make_result().result_id != make_result().result_id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"device_id": "Kiosk/01"}, "device_id"),
        ({"device_id": ""}, "device_id"),
        ({"signature_count": 2}, "signature_count"),
        ({"image": {"sha256": "xyz", "width": 10, "height": 10}}, "image.sha256"),
        ({"image": {"sha256": "a" * 64, "width": 0, "height": 10}}, "image.width"),
        (
            {"signatures": [{"box": {"x1": 0.5, "y1": 0.1, "x2": 0.4, "y2": 0.2}, "score": 0.9}]},
            "signatures.0.box",
        ),
        (
            {"signatures": [{"box": {"x1": 0.1, "y1": 0.1, "x2": 1.4, "y2": 0.2}, "score": 0.9}]},
            "signatures.0.box.x2",
        ),
        (
            {"signatures": [{"box": {"x1": 0.1, "y1": 0.1, "x2": 0.4, "y2": 0.2}, "score": 1.5}]},
            "signatures.0.score",
        ),
        ({"doc_type": {"label": "spaceship", "confidence": 0.5, "needs_review": True}}, "doc_type.label"),
        ({"doc_type": {"label": "invoice", "confidence": -0.1, "needs_review": True}}, "doc_type.confidence"),
        ({"captured_at": "2026-11-22T10:00:00"}, "captured_at"),
        ({"result_id": "not-a-uuid"}, "result_id"),
        ({"source": {"kind": "carrier-pigeon", "uri": "x"}}, "source.kind"),
        ({"timings_ms": {"ocr": -1}}, "timings_ms.ocr"),
        ({"surprise": 1}, "surprise"),
        ({"status": "meh"}, "status"),
    ],
)
def test_invalid_result_names_the_field(change: dict[str, object], field: str) -> None:
    doc = json.loads(c.encode(make_result()))
    doc.update(change)
    with pytest.raises(c.ContractError) as err:
        c.decode(c.Result, json.dumps(doc).encode())
    assert field in err.value.reason


def test_processed_before_captured_is_refused() -> None:
    with pytest.raises(ValidationError, match="processed_at"):
        make_result(processed_at=NOW - timedelta(seconds=5))


@pytest.mark.parametrize("version", [0, 2, 99, "1", None])
def test_unknown_schema_version_is_refused_with_reason(version: object) -> None:
    doc = json.loads(c.encode(make_result()))
    doc["schema_version"] = version
    with pytest.raises(c.ContractError, match="unsupported schema_version"):
        c.decode(c.Result, json.dumps(doc))


def test_missing_schema_version_is_refused() -> None:
    doc = json.loads(c.encode(make_result()))
    del doc["schema_version"]
    with pytest.raises(c.ContractError, match="schema_version"):
        c.decode(c.Result, json.dumps(doc))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [(b"\xff\xfe", "not JSON"), (b"{", "not JSON"), (b"[1,2]", "JSON object"), (b"null", "JSON object")],
)
def test_garbage_payloads_get_clear_reasons(payload: bytes, reason: str) -> None:
    with pytest.raises(c.ContractError, match=reason):
        c.decode(c.Result, payload)


def test_oversize_payload_is_refused_before_parsing() -> None:
    with pytest.raises(c.ContractError, match="exceeds"):
        c.decode(c.Result, b" " * (c.MAX_MESSAGE_BYTES + 1))


def test_topics_parse_back_to_device() -> None:
    assert c.parse_topic(c.result_topic("kiosk-01")) == ("kiosk-01", "result")
    assert c.parse_topic(c.command_state_topic("a1", "model")) == ("a1", "cmd/model/state")
    for bad in ["other/v1/x/result", "signet/v1/", "signet/v1/UPPER/result", "signet/v1/x"]:
        with pytest.raises(c.ContractError):
            c.parse_topic(bad)


def test_desired_models_needs_at_least_one_model() -> None:
    with pytest.raises(ValidationError, match="models"):
        c.DesiredModels(models=[])
