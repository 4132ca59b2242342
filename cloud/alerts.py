"""Alerts: rules over the store, kept in the ``alerts`` table, sent to a webhook and by e-mail.

Rules (thresholds in ``AlertsConfig``):
- ``device_offline``: a registered device not seen for ``offline_after_min`` minutes;
- ``error_rate``: a device whose share of failed/partial pages over the window is too high;
- ``backlog``: a device whose outbox backlog (last health) is above ``backlog_pages``;
- ``unsigned_contract``: a contract with no signature, captured in the look-back window.

An alert opens once per (kind, key) and resolves itself when its condition clears; only newly
opened alerts are notified. Notification failures are stored on the alert, never raised: an SMTP
outage must not stop the rules. Run one evaluator (``signet cloud alerts run``, started by
``signet cloud serve``), not one per web worker.
"""

from __future__ import annotations

import json
import logging
import smtplib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import click
import requests
from sqlalchemy import Engine, and_, case, func, select
from sqlalchemy.orm import Session

from cloud.config import AlertsConfig
from cloud.db.engine import session_scope
from cloud.db.models import Alert, Device, Document, Page
from edge.contract import utcnow

log = logging.getLogger(__name__)

MAX_UNSIGNED_PER_RUN = 100


@dataclass
class Firing:
    kind: str
    key: str
    message: str
    severity: str = "warning"
    details: dict[str, Any] = field(default_factory=dict)


def firing_now(s: Session, cfg: AlertsConfig, now: datetime) -> list[Firing]:
    """Every alert condition true at ``now``."""
    out: list[Firing] = []
    offline_before = now - timedelta(minutes=cfg.offline_after_min)
    for dev in s.scalars(
        select(Device).where(
            Device.revoked_at.is_(None), Device.last_seen.is_not(None), Device.last_seen < offline_before
        )
    ):
        assert dev.last_seen is not None
        minutes = (now - dev.last_seen).total_seconds() / 60
        out.append(
            Firing(
                "device_offline",
                dev.id,
                f"device {dev.id} ({dev.site_id or 'no site'}) not seen for {minutes:.0f} min",
                "critical",
                {"device": dev.id, "site": dev.site_id, "last_seen": dev.last_seen.isoformat()},
            )
        )
    since = now - timedelta(minutes=cfg.error_window_min)
    bad = func.sum(case((Page.status != "ok", 1), else_=0))
    for device_id, n, n_bad in s.execute(
        select(Page.device_id, func.count(), bad).where(Page.received_at >= since).group_by(Page.device_id)
    ):
        n_bad = int(n_bad or 0)
        if n >= cfg.error_min_pages and n_bad / n >= cfg.error_rate:
            out.append(
                Firing(
                    "error_rate",
                    device_id,
                    f"device {device_id}: {n_bad} of {n} pages failed or partial in {cfg.error_window_min:.0f} min",
                    "warning",
                    {"device": device_id, "pages": n, "bad": n_bad, "rate": round(n_bad / n, 3)},
                )
            )
    for dev in s.scalars(
        select(Device).where(Device.outbox_backlog > cfg.backlog_pages, Device.revoked_at.is_(None))
    ):
        out.append(
            Firing(
                "backlog",
                dev.id,
                f"device {dev.id}: outbox backlog {dev.outbox_backlog} pages (limit {cfg.backlog_pages})",
                "warning",
                {"device": dev.id, "backlog": dev.outbox_backlog},
            )
        )
    if cfg.unsigned_contracts:
        look = now - timedelta(minutes=cfg.unsigned_window_min)
        for doc in s.scalars(
            select(Document)
            .where(
                and_(
                    Document.doc_type == "contract",
                    Document.signature_count == 0,
                    Document.captured_at >= look,
                )
            )
            .order_by(Document.captured_at.desc())
            .limit(MAX_UNSIGNED_PER_RUN)
        ):
            out.append(
                Firing(
                    "unsigned_contract",
                    f"document:{doc.id}",
                    f"unsigned contract {doc.id} from {doc.device_id} at {doc.site_id}",
                    "warning",
                    {
                        "document": doc.id,
                        "device": doc.device_id,
                        "site": doc.site_id,
                        "source": doc.source_uri,
                    },
                )
            )
    return out


#: The kinds these rules own: only they are resolved here when their condition clears. Alerts of
#: other kinds (``model_drift``, opened by the registry) are resolved by whoever opened them.
RULE_KINDS = ("device_offline", "error_rate", "backlog", "unsigned_contract")


def evaluate(s: Session, cfg: AlertsConfig, now: datetime | None = None) -> tuple[list[Alert], list[Alert]]:
    """Open alerts for new conditions and resolve cleared ones; returns (opened, resolved)."""
    now = now or utcnow()
    firing = {(f.kind, f.key): f for f in firing_now(s, cfg, now)}
    unknown = {k for k, _ in firing} - set(RULE_KINDS)
    assert not unknown, f"rules fire kinds missing from RULE_KINDS: {unknown}"
    open_rows = {
        (a.kind, a.key): a
        for a in s.scalars(select(Alert).where(Alert.resolved_at.is_(None), Alert.kind.in_(RULE_KINDS)))
    }
    opened: list[Alert] = []
    resolved: list[Alert] = []
    for k, f in firing.items():
        if k not in open_rows:
            a = Alert(
                kind=f.kind,
                key=f.key,
                severity=f.severity,
                message=f.message,
                details=f.details,
                opened_at=now,
            )
            s.add(a)
            opened.append(a)
    for k, a in open_rows.items():
        if k not in firing:
            a.resolved_at = now
            resolved.append(a)
    s.flush()
    return opened, resolved


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def alert_doc(a: Alert) -> dict[str, Any]:
    """An alert as the webhook and the REST API give it."""
    return {
        "id": a.id,
        "kind": a.kind,
        "key": a.key,
        "severity": a.severity,
        "message": a.message,
        "details": a.details,
        "opened_at": _iso(a.opened_at),
        "resolved_at": _iso(a.resolved_at),
        "notified_at": _iso(a.notified_at),
    }


def send_webhook(cfg: AlertsConfig, alerts: list[Alert]) -> None:
    if not cfg.webhook_url or not alerts:
        return
    resp = requests.post(
        cfg.webhook_url,
        data=json.dumps({"source": "signet", "alerts": [alert_doc(a) for a in alerts]}),
        headers={"Content-Type": "application/json"},
        timeout=cfg.webhook_timeout_s,
    )
    resp.raise_for_status()


def send_email(cfg: AlertsConfig, alerts: list[Alert]) -> None:
    if not cfg.smtp_host or not cfg.smtp_to or not alerts:
        return
    msg = EmailMessage()
    msg["From"] = cfg.smtp_from
    msg["To"] = ", ".join(cfg.smtp_to)
    first = alerts[0]
    msg["Subject"] = f"[signet] {first.message}" + (f" (+{len(alerts) - 1} more)" if len(alerts) > 1 else "")
    lines = [
        f"{a.opened_at:%Y-%m-%d %H:%M} UTC  {a.severity.upper():8} {a.kind}: {a.message}" for a in alerts
    ]
    msg.set_content("New Signet alerts:\n\n" + "\n".join(lines) + "\n")
    with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=10) as smtp:
        if cfg.smtp_starttls:
            smtp.starttls()
        if cfg.smtp_username:
            smtp.login(cfg.smtp_username, cfg.smtp_password or "")
        smtp.send_message(msg)


def notify(cfg: AlertsConfig, alerts: list[Alert], now: datetime | None = None) -> None:
    """Send new alerts to every configured channel; record success or the errors on each alert."""
    errors = []
    for name, send in (("webhook", send_webhook), ("email", send_email)):
        try:
            send(cfg, alerts)
        except Exception as exc:
            log.warning("alert %s notification failed: %s", name, exc)
            errors.append(f"{name}: {exc}")
    stamp = now or utcnow()
    for a in alerts:
        a.notified_at = stamp
        a.notify_error = "; ".join(errors) or None


#: Extra alert producers run in the same round, e.g. model drift from the registry.
Check = Callable[[Session], object]


def run_once(
    engine: Engine, cfg: AlertsConfig, checks: Sequence[Check] = ()
) -> tuple[list[Alert], list[Alert]]:
    """One evaluation and notification round, in its own transaction.

    Every open alert not notified yet is sent: those the rules opened now, those ``checks``
    opened, and those opened elsewhere (the Models page opens drift alerts when viewed)."""
    with session_scope(engine) as s:
        _, resolved = evaluate(s, cfg)
        for check in checks:
            try:
                check(s)
            except Exception:  # one producer failing (MLflow down) must not stop the rules
                log.exception("alert check %s failed", getattr(check, "__name__", check))
        s.flush()
        # Every alert is notified in the round it is opened, so the un-notified open ones are
        # exactly those opened since the last round: by the rules, the checks or elsewhere.
        opened = list(
            s.scalars(
                select(Alert)
                .where(Alert.resolved_at.is_(None), Alert.notified_at.is_(None))
                .order_by(Alert.id)
            )
        )
        if opened:
            notify(cfg, opened)
        for a in opened:
            log.warning("alert opened", extra={"kind": a.kind, "key": a.key, "alert": a.message})
        for a in resolved:
            log.info("alert resolved", extra={"kind": a.kind, "key": a.key})
    return opened, resolved


class AlertLoop:
    """Evaluate alerts every ``check_interval_s`` in a background thread until stopped."""

    def __init__(self, engine: Engine, cfg: AlertsConfig, checks: Sequence[Check] = ()) -> None:
        self.engine = engine
        self.cfg = cfg
        self.checks = list(checks)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                run_once(self.engine, self.cfg, self.checks)
            except Exception:
                log.exception("alert evaluation failed")
            self._stop.wait(self.cfg.check_interval_s)


# -- command line ---------------------------------------------------------------------------


@click.group("alerts")
def alerts_cli() -> None:
    """Alert rules and notifications."""


def _load(config_path: Path | None, url: str | None) -> tuple[Engine, AlertsConfig, list[Check]]:
    from cloud.db.cli import load_cloud_config
    from cloud.db.engine import make_engine
    from cloud.db.migrate import upgrade

    cfg = load_cloud_config(config_path)
    engine = make_engine(url or cfg.database.url)
    if engine.dialect.name == "sqlite":
        upgrade(engine)
    return engine, cfg.alerts, [_drift_check(cfg)]


#: Drift moves over days: checking it every quarter of an hour is plenty, and spares MLflow.
DRIFT_EVERY_S = 900.0


def _drift_check(cfg: Any, every_s: float = DRIFT_EVERY_S) -> Check:
    """Model drift of each production version, from the registry the cloud is configured with.
    Skipped, with one log line, while the tracking server does not answer (MLflow's own client
    would retry for minutes and hold up every other rule)."""
    from cloud.registry.quality import check_drift
    from cloud.registry.registry import Registry

    uri = cfg.mlflow.tracking_uri
    registry = Registry(uri, cfg.mlflow.packages_dir)
    threshold = cfg.mlflow.drift_psi_threshold
    last = {"at": -1e18, "down": False}

    def model_drift(s: Session) -> object:
        now = time.monotonic()
        if now - last["at"] < every_s:
            return []
        if uri.startswith(("http://", "https://")):
            try:
                requests.get(uri.rstrip("/") + "/health", timeout=3).raise_for_status()
            except requests.RequestException as exc:
                if not last["down"]:
                    log.info("drift check skipped: MLflow at %s does not answer (%s)", uri, exc)
                last["down"] = True
                return []
        last.update(at=now, down=False)
        return check_drift(s, registry, threshold)

    return model_drift


_config = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None
)
_url = click.option("--url", default=None, help="Database URL (overrides the settings).")


@alerts_cli.command("check")
@_config
@_url
def alerts_check(config_path: Path | None, url: str | None) -> None:
    """Evaluate the rules once and notify new alerts."""
    engine, cfg, checks = _load(config_path, url)
    opened, resolved = run_once(engine, cfg, checks)
    for a in opened:
        click.echo(f"opened  {a.kind} {a.key}: {a.message}")
    for a in resolved:
        click.echo(f"resolved {a.kind} {a.key}")
    click.echo(f"{len(opened)} opened, {len(resolved)} resolved")


@alerts_cli.command("run")
@_config
@_url
def alerts_run(config_path: Path | None, url: str | None) -> None:
    """Evaluate the rules every check_interval_s until interrupted."""
    engine, cfg, checks = _load(config_path, url)
    loop = AlertLoop(engine, cfg, checks)
    loop.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        loop.stop()
