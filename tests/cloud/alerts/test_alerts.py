"""Alert rules open and resolve alerts, notify a webhook and SMTP once, and survive outages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from cloud.alerts import evaluate, notify, run_once
from cloud.config import AlertsConfig
from cloud.db.engine import session_scope
from cloud.db.models import Alert
from cloud.db.write import record_health, record_status, upsert_results
from edge import contract as c
from edge.contract import utcnow
from tests.cloud.factories import make_result
from tests.cloud.sinks import HttpReceiver, SmtpSink


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.close()


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    r = HttpReceiver()
    yield r
    r.close()


def cfg_for(smtp: SmtpSink | None = None, hook: HttpReceiver | None = None, **kw: object) -> AlertsConfig:
    base: dict[str, object] = {
        "offline_after_min": 10,
        "error_min_pages": 5,
        "error_rate": 0.5,
        "backlog_pages": 100,
    }
    if smtp:
        base.update(
            smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False, smtp_to=["ops@example.com"]
        )
    if hook:
        base.update(webhook_url=hook.url)
    base.update(kw)
    return AlertsConfig.model_validate(base)


def test_given_an_offline_device_then_one_alert_is_sent_by_webhook_and_email_and_resolves_later(
    engine: Engine, smtp: SmtpSink, hook: HttpReceiver
) -> None:
    now = utcnow()
    with session_scope(engine) as s:
        record_status(
            s, c.Status(device_id="kiosk-07", state="online", at=now - timedelta(minutes=30), site="lyon")
        )
        record_status(
            s, c.Status(device_id="kiosk-08", state="online", at=now - timedelta(minutes=1), site="lyon")
        )
    cfg = cfg_for(smtp, hook)
    opened, _ = run_once(engine, cfg)
    assert [(a.kind, a.key) for a in opened] == [("device_offline", "kiosk-07")]
    assert len(hook.bodies) == 1 and hook.bodies[0]["alerts"][0]["key"] == "kiosk-07"
    assert len(smtp.messages) == 1
    msg = smtp.messages[0]
    assert (
        "ops@example.com" in msg["to"][0] and "kiosk-07" in msg["data"] and "Subject: [signet]" in msg["data"]
    )
    # Still offline: no second notification.
    assert run_once(engine, cfg) == ([], [])
    assert len(hook.bodies) == 1 and len(smtp.messages) == 1
    with session_scope(engine) as s:
        record_health(s, c.Health(device_id="kiosk-07", at=utcnow()))
    opened, resolved = run_once(engine, cfg)
    assert opened == [] and [a.key for a in resolved] == ["kiosk-07"]
    with session_scope(engine) as s:
        a = s.scalars(select(Alert)).one()
        assert a.resolved_at is not None and a.notified_at is not None and a.notify_error is None


def test_given_errors_backlog_and_an_unsigned_contract_then_each_rule_fires(engine: Engine) -> None:
    now = utcnow()
    results = [
        make_result(
            i, device="scan-03", captured_at=now - timedelta(minutes=5), status="partial" if i < 4 else "ok"
        )
        for i in range(6)
    ]
    results.append(
        make_result(
            99, device="scan-04", doc_type="contract", signatures=0, captured_at=now - timedelta(minutes=2)
        )
    )
    results.append(
        make_result(
            98, device="scan-04", doc_type="contract", signatures=1, captured_at=now - timedelta(minutes=2)
        )
    )
    with session_scope(engine) as s:
        upsert_results(s, results)
        record_health(s, c.Health(device_id="scan-04", at=now, outbox_backlog=500))
        opened, _ = evaluate(s, cfg_for())
        kinds = sorted((a.kind, a.key.split(":")[0]) for a in opened)
    assert kinds == [("backlog", "scan-04"), ("error_rate", "scan-03"), ("unsigned_contract", "document")]


def test_given_channels_down_then_the_alert_is_kept_with_the_errors(
    engine: Engine, hook: HttpReceiver
) -> None:
    hook.status = 500
    now = utcnow()
    with session_scope(engine) as s:
        record_status(s, c.Status(device_id="kiosk-09", state="online", at=now - timedelta(hours=2)))
    # SMTP pointed at a closed port, webhook answering 500.
    cfg = cfg_for(
        hook=hook, smtp_host="127.0.0.1", smtp_port=1, smtp_starttls=False, smtp_to=["ops@example.com"]
    )
    opened, _ = run_once(engine, cfg)
    assert len(opened) == 1
    with session_scope(engine) as s:
        a = s.scalars(select(Alert)).one()
        assert a.notify_error is not None and "webhook" in a.notify_error and "email" in a.notify_error


def test_given_open_alerts_then_the_api_lists_them(engine: Engine, app) -> None:  # type: ignore[no-untyped-def]
    from tests.cloud.appsupport import api_token

    now = utcnow()
    with session_scope(engine) as s:
        record_status(s, c.Status(device_id="kiosk-10", state="online", at=now - timedelta(hours=1)))
        opened, _ = evaluate(s, cfg_for())
        notify(cfg_for(), opened)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer " + api_token(engine, "viewer")
    items = client.get("/api/v1/alerts").get_json()["items"]
    assert [(a["kind"], a["key"]) for a in items] == [("device_offline", "kiosk-10")]
