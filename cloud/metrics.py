"""Prometheus metrics at /metrics and a liveness check at /healthz.

HTTP and database latency are measured per process (histograms; under gunicorn in
prometheus_client's multiprocess files, summed over the workers at scrape); fleet figures (devices online,
dead letters, ingest rate and lag, open alerts) are read from the database when scraped, so every
worker and replica reports the same values. Each app has its own registry (tests build many).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event, func, select, text

from cloud import context
from cloud.auth.core import public
from cloud.db.engine import session_factory
from cloud.db.models import Alert, DeadLetter, Device, Page
from edge.contract import utcnow

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)
EXT = "signet_metrics"
INGEST_WINDOW = timedelta(minutes=5)


class FleetCollector(Collector):
    """Figures read from the database at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        since = now - INGEST_WINDOW
        try:
            with session_factory(self.engine)() as s:
                online = (
                    s.scalar(select(func.count()).select_from(Device).where(Device.online.is_(True))) or 0
                )
                total = s.scalar(select(func.count()).select_from(Device)) or 0
                dead = s.scalar(select(func.count()).select_from(DeadLetter)) or 0
                recent = (
                    s.scalar(select(func.count()).select_from(Page).where(Page.received_at >= since)) or 0
                )
                last = s.execute(
                    select(Page.received_at, Page.processed_at).order_by(Page.received_at.desc()).limit(1)
                ).first()
                alerts = (
                    s.scalar(select(func.count()).select_from(Alert).where(Alert.resolved_at.is_(None))) or 0
                )
                backlog = s.scalar(select(func.coalesce(func.sum(Device.outbox_backlog), 0))) or 0
        except Exception:
            log.exception("metrics: database unreachable")
            yield GaugeMetricFamily("signet_db_up", "1 when the database answered the scrape.", value=0)
            return
        yield GaugeMetricFamily("signet_db_up", "1 when the database answered the scrape.", value=1)
        yield GaugeMetricFamily("signet_devices_online", "Devices whose last status is online.", value=online)
        yield GaugeMetricFamily("signet_devices_total", "Devices known.", value=total)
        yield GaugeMetricFamily("signet_dead_letters_total", "Messages kept as dead letters.", value=dead)
        yield GaugeMetricFamily(
            "signet_ingest_pages_per_second",
            "Pages stored per second over the last 5 minutes.",
            value=recent / INGEST_WINDOW.total_seconds(),
        )
        lag = (last[0] - last[1]).total_seconds() if last else 0.0
        yield GaugeMetricFamily(
            "signet_ingest_lag_seconds",
            "Processed-on-device to stored delay of the latest page.",
            value=max(lag, 0.0),
        )
        yield GaugeMetricFamily("signet_alerts_open", "Alerts not resolved.", value=alerts)
        yield GaugeMetricFamily(
            "signet_fleet_outbox_backlog", "Sum of device outbox backlogs (last health).", value=backlog
        )


def init_metrics(app: Flask) -> None:
    """Attach a registry, HTTP timing hooks and database timing events to ``app``."""
    engine = app.extensions[context.EXTENSION].engine
    registry = CollectorRegistry()
    http = Histogram(
        "signet_http_request_seconds",
        "HTTP request latency.",
        ["method", "endpoint", "status"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    )
    dbh = Histogram(
        "signet_db_query_seconds",
        "Database statement latency.",
        ["statement"],
        registry=registry,
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
    )
    registry.register(FleetCollector(engine))
    app.extensions[EXT] = {"registry": registry, "http": http, "db": dbh}

    @app.before_request
    def _start() -> None:
        g._signet_t0 = time.perf_counter()

    @app.after_request
    def _observe(resp: Response) -> Response:
        t0 = g.get("_signet_t0")
        if t0 is not None:
            elapsed = time.perf_counter() - t0
            http.labels(request.method, request.endpoint or "unmatched", str(resp.status_code)).observe(
                elapsed
            )
            resp.headers["Server-Timing"] = f"app;dur={elapsed * 1000:.1f}"
            ms = round(elapsed * 1000, 1)
            log.info(
                "%s %s %s %.1f ms",
                request.method,
                request.path,
                resp.status_code,
                ms,
                extra={"method": request.method, "path": request.path, "status": resp.status_code, "ms": ms},
            )
        return resp

    if not getattr(engine, "_signet_timed", False):
        event.listen(engine, "before_cursor_execute", _before_cursor)
        event.listen(engine, "after_cursor_execute", _after_cursor(dbh))
        engine._signet_timed = True  # type: ignore[attr-defined]


def _before_cursor(
    conn: Any, cursor: Any, statement: str, params: Any, context_: Any, executemany: bool
) -> None:
    conn.info.setdefault("_signet_t", []).append(time.perf_counter())


def _after_cursor(dbh: Histogram) -> Any:
    def after(conn: Any, cursor: Any, statement: str, params: Any, context_: Any, executemany: bool) -> None:
        stack = conn.info.get("_signet_t")
        if stack:
            kind = statement.lstrip().split(" ", 1)[0].upper()[:10] or "OTHER"
            dbh.labels(kind).observe(time.perf_counter() - stack.pop())

    return after


@bp.get("/metrics")
@public
def metrics() -> Response:
    registry = current_app.extensions[EXT]["registry"]
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Under gunicorn (`signet cloud serve`): every worker's histograms, summed, plus the
        # fleet figures from the database once.
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(FleetCollector(context.engine()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


@bp.get("/healthz")
@public
def healthz() -> Any:
    """Liveness plus a database round trip (503 when the database does not answer)."""
    try:
        with context.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("healthz: database check failed: %s", exc)
        return {"ok": False, "database": "unreachable"}, 503
    return {"ok": True, "database": "ok"}
