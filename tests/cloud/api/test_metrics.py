"""/metrics reports fleet figures from the database and request/DB latency; /healthz checks the DB."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import Engine

from cloud.db.engine import session_scope
from cloud.db.write import add_dead_letter, record_status, upsert_results
from edge import contract as c
from edge.contract import utcnow
from tests.cloud.factories import make_result


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


def test_given_devices_pages_and_dead_letters_then_metrics_report_them(app: Flask, engine: Engine) -> None:
    now = utcnow()
    with session_scope(engine) as s:
        record_status(s, c.Status(device_id="kiosk-01", state="online", at=now))
        record_status(s, c.Status(device_id="kiosk-02", state="offline", at=now))
        upsert_results(s, [make_result(i, captured_at=now - timedelta(seconds=30)) for i in range(3)])
        add_dead_letter(s, "signet/v1/kiosk-01/result", b"{}", "schema_version: missing")
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"ok": True, "database": "ok"}
    body = client.get("/metrics").get_data(as_text=True)
    assert metric(body, "signet_devices_online") == 1
    assert metric(body, "signet_devices_total") == 2
    assert metric(body, "signet_dead_letters_total") == 1
    assert metric(body, "signet_ingest_pages_per_second") == 3 / 300
    assert 0 <= metric(body, "signet_ingest_lag_seconds") < 60
    assert metric(body, "signet_db_up") == 1
    assert 'signet_http_request_seconds_count{endpoint="metrics.healthz",method="GET",status="200"}' in body
    assert "signet_db_query_seconds_bucket" in body
