"""Writing what devices send: results (idempotent by ``result_id``), status, health, dead letters.

First version by F1; the ingest owner (E) tunes it for throughput. Everything here works on a
caller's session and never commits: the caller's transaction decides (one batch, one commit).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cloud.db.models import (
    CheckRow,
    CodeRow,
    DeadLetter,
    Device,
    Document,
    FieldRow,
    LineItemRow,
    Page,
    SignatureBox,
    Site,
)
from edge.contract import Health, Result, Status, utcnow

log = logging.getLogger(__name__)

# Rows per INSERT statement: keeps SQLite under its bound-parameter limit.
CHUNK = 200
MULTI_PAGE_KINDS = frozenset({"folder", "file", "upload", "sane"})
_STATUS_RANK = {"ok": 0, "partial": 1, "failed": 2}


def _insert(session: Session, table: Any) -> Any:
    """Dialect insert with ON CONFLICT support (SQLite and PostgreSQL both have it)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database dialect {name}")


def _multi_page(result: Result) -> bool:
    src = result.source
    return src.kind in MULTI_PAGE_KINDS and (src.page_count or 1) > 1


def document_key(result: Result) -> str:
    """Pages of one multi-page file share a document; anything else is a document of its own."""
    src = result.source
    if _multi_page(result):
        raw = f"{result.device_id}|{src.kind}|{src.uri}|{src.page_count}"
    else:
        raw = f"result|{result.result_id}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def ensure_sites_devices(session: Session, pairs: Iterable[tuple[str, str | None]]) -> None:
    """Create unknown sites and devices (a device first seen through its messages has no token)."""
    pairs = list(pairs)
    sites = sorted({s for _, s in pairs if s})
    if sites:
        session.connection().execute(
            _insert(session, Site.__table__).on_conflict_do_nothing(),
            [{"id": s, "created_at": utcnow()} for s in sites],
        )
    devices: dict[str, str | None] = {}
    for d, s in pairs:
        devices.setdefault(d, s)
    if devices:
        session.connection().execute(
            _insert(session, Device.__table__).on_conflict_do_nothing(),
            [
                {
                    "id": d,
                    "site_id": s,
                    "created_at": utcnow(),
                    "online": False,
                    "versions": {},
                    "outbox_backlog": 0,
                }
                for d, s in sorted(devices.items())
            ],
        )


def _value_type(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    return "str"


def _page_row(r: Result, document_id: int, now: datetime) -> dict[str, Any]:
    return {
        "result_id": r.result_id,
        "document_id": document_id,
        "device_id": r.device_id,
        "site_id": r.site,
        "source_kind": r.source.kind,
        "source_uri": r.source.uri,
        "page_index": r.source.page_index,
        "page_count": r.source.page_count,
        "captured_at": r.captured_at,
        "processed_at": r.processed_at,
        "received_at": now,
        "image_sha256": r.image.sha256,
        "image_width": r.image.width,
        "image_height": r.image.height,
        "image_dpi": r.image.dpi,
        "text": r.text,
        "doc_type": r.doc_type.label,
        "type_confidence": r.doc_type.confidence,
        "type_scores": dict(r.doc_type.scores),
        "needs_review": r.doc_type.needs_review,
        "signature_count": r.signature_count,
        "detector_version": f"{r.models.detector.name}:{r.models.detector.version}",
        "classifier_version": f"{r.models.classifier.name}:{r.models.classifier.version}",
        "ocr_version": f"{r.models.ocr.name}:{r.models.ocr.version}",
        "handwriting_version": (
            f"{r.models.handwriting.name}:{r.models.handwriting.version}" if r.models.handwriting else None
        ),
        "timings_ms": dict(r.timings_ms),
        "status": r.status,
        "errors": list(r.errors),
    }


def upsert_results(session: Session, results: Sequence[Result]) -> int:
    """Store a batch of results; ones already stored (same ``result_id``) are skipped.

    Returns how many pages were new. Safe to call again with the same batch (at-least-once
    delivery): ``INSERT ... ON CONFLICT (result_id) DO NOTHING`` decides, so two ingest workers
    racing on one result store it once.
    """
    if not results:
        return 0
    # Duplicates inside one batch: keep the first.
    seen: set[Any] = set()
    batch = [r for r in results if not (r.result_id in seen or seen.add(r.result_id))]  # type: ignore[func-returns-value]
    ensure_sites_devices(session, [(r.device_id, r.site) for r in batch])
    now = utcnow()

    keys = {r.result_id: document_key(r) for r in batch}
    doc_rows: dict[str, dict[str, Any]] = {}
    for r in sorted(batch, key=lambda r: r.source.page_index):
        doc_rows.setdefault(
            keys[r.result_id],
            {
                "doc_key": keys[r.result_id],
                "device_id": r.device_id,
                "site_id": r.site,
                "source_kind": r.source.kind,
                "source_uri": r.source.uri,
                "captured_at": r.captured_at,
                "received_at": now,
                "page_count": 0,
                "expected_pages": r.source.page_count,
                "doc_type": r.doc_type.label,
                "type_confidence": r.doc_type.confidence,
                "needs_review": False,
                "signature_count": 0,
                "status": "ok",
            },
        )
    # A single-page document is created complete (its key is its result's id, so it exists only
    # with its page): no aggregate UPDATE afterwards, one statement less per batch.
    single = {keys[r.result_id]: r for r in batch if not _multi_page(r)}
    for key, r in single.items():
        doc_rows[key].update(
            page_count=1,
            signature_count=r.signature_count,
            needs_review=r.doc_type.needs_review,
            status=r.status,
        )
    # Throughput (the ingest owner's tuning): Core statements run as executemany, so each is
    # compiled once and cached; SQLAlchemy 2 batches them into multi-row INSERTs
    # ("insertmanyvalues"), with RETURNING telling which rows were really new.
    conn = session.connection()
    dt = Document.__table__
    pt = Page.__table__
    pg = session.get_bind().dialect.name == "postgresql"
    # RETURNING gives the ids of the documents this batch created (nearly all: a single-page
    # document's key is its result id); only the others (duplicates, later pages of multi-page
    # documents) are looked up. Looking every key up was a SELECT ... IN (200 keys) per chunk,
    # which PostgreSQL planned as a sequential scan while a fast-growing table's statistics
    # lagged: ingest slowed from ~2,400 to ~600 results/s over the first 40,000 rows.
    if pg:
        doc_ids = dict(_pg_insert_new(session, dt, list(doc_rows.values()), "doc_key"))
    else:
        doc_ids = {
            key: doc_id
            for doc_id, key in conn.execute(
                _insert(session, dt)
                .on_conflict_do_nothing(index_elements=["doc_key"])
                .returning(dt.c.id, dt.c.doc_key),
                list(doc_rows.values()),
            )
        }
    missing = [k for k in doc_rows if k not in doc_ids]
    for i in range(0, len(missing), CHUNK):
        for doc_id, key in conn.execute(
            select(dt.c.id, dt.c.doc_key).where(dt.c.doc_key.in_(missing[i : i + CHUNK]))
        ):
            doc_ids[key] = doc_id

    page_rows = [_page_row(r, doc_ids[keys[r.result_id]], now) for r in batch]
    page_ids: dict[Any, int] = {}
    if pg:
        page_ids = {rid: page_id for rid, page_id in _pg_insert_new(session, pt, page_rows, "result_id")}
    else:
        stmt = (
            _insert(session, pt)
            .on_conflict_do_nothing(index_elements=["result_id"])
            .returning(pt.c.id, pt.c.result_id)
        )
        page_ids = {result_id: page_id for page_id, result_id in conn.execute(stmt, page_rows)}
    inserted = set(page_ids)
    new = [r for r in batch if r.result_id in inserted]
    if not new:
        return 0
    _insert_children(session, new, page_ids)
    multi = [r for r in new if keys[r.result_id] not in single]
    if multi:
        _update_documents(session, multi, {r.result_id: doc_ids[keys[r.result_id]] for r in multi})
    log.debug("stored %d new pages of %d", len(new), len(results))
    return len(new)


def _insert_children(session: Session, new: list[Result], page_ids: dict[Any, int]) -> None:
    sigs, fields, items, checks, codes = [], [], [], [], []
    for r in new:
        pid = page_ids[r.result_id]
        for s in r.signatures:
            b = s.box
            sigs.append(
                {
                    "page_id": pid,
                    "x1": b.x1,
                    "y1": b.y1,
                    "x2": b.x2,
                    "y2": b.y2,
                    "score": s.score,
                    "source": "model",
                    "removed": False,
                }
            )
        for name, fv in r.fields.values.items():
            fields.append(
                {
                    "page_id": pid,
                    "name": name,
                    "value": None if fv.value is None else str(fv.value),
                    "value_type": _value_type(fv.value),
                    "confidence": fv.confidence,
                    "raw": fv.raw,
                    "source": "model",
                }
            )
        for pos, li in enumerate(r.fields.line_items):
            items.append(
                {
                    "page_id": pid,
                    "position": pos,
                    "description": li.description,
                    "quantity": li.quantity,
                    "unit_price": li.unit_price,
                    "amount": li.amount,
                    "confidence": li.confidence,
                }
            )
        for ck in r.fields.checks:
            checks.append({"page_id": pid, "name": ck.name, "ok": ck.ok, "detail": ck.detail})
        for code in r.fields.codes:
            codes.append({"page_id": pid, "kind": code.kind, "payload": code.payload})
    for model, rows in (
        (SignatureBox, sigs),
        (FieldRow, fields),
        (LineItemRow, items),
        (CheckRow, checks),
        (CodeRow, codes),
    ):
        if not rows:
            continue
        table = model.__table__
        assert isinstance(table, Table)
        if session.get_bind().dialect.name == "postgresql":
            _pg_copy(_pg_cursor(session), table.name, list(rows[0]), rows)
        else:
            session.connection().execute(table.insert(), rows)


# -- PostgreSQL: COPY ---------------------------------------------------------------------------
# A multi-row INSERT of 500 wide rows is a statement of ~1 MB that psycopg parses for its
# placeholders on every batch (it caches only short statements): that parse was ~55% of the
# ingest worker's time. COPY sends rows without a statement to parse, so on PostgreSQL new rows go
# through COPY: straight into the child tables (their rows are always new), and through a
# per-session temporary staging table for documents and pages, whose INSERT ... SELECT keeps
# ON CONFLICT DO NOTHING (idempotency) and RETURNING (which rows were new).


def _pg_cursor(session: Session) -> Any:
    """A psycopg cursor on the session's connection, inside the session's transaction."""
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


def _pg_value(v: Any) -> Any:
    if isinstance(v, dict | list):
        from psycopg.types.json import Jsonb

        return Jsonb(v)
    return v


def _pg_copy(cur: Any, table: str, cols: list[str], rows: Sequence[dict[str, Any]]) -> None:
    from psycopg import sql

    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, cols))
    )
    with cur.copy(stmt) as cp:
        for row in rows:
            cp.write_row([_pg_value(row[c]) for c in cols])


def _pg_insert_new(
    session: Session, table: Any, rows: list[dict[str, Any]], key: str
) -> list[tuple[Any, int]]:
    """Insert the rows whose ``key`` is not stored yet; returns (key, id) of each row inserted."""
    if not rows:
        return []
    from psycopg import sql

    cols = list(rows[0])
    stage = f"_stage_{table.name}"
    col_list = sql.SQL(", ").join(map(sql.Identifier, cols))
    cur = _pg_cursor(session)
    # Created once per connection (and again after a rolled-back first use); the column types
    # are the table's own, without its constraints; emptied at every commit.
    cur.execute(
        sql.SQL(
            "CREATE TEMPORARY TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS SELECT {} FROM {} WITH NO DATA"
        ).format(sql.Identifier(stage), col_list, sql.Identifier(table.name))
    )
    cur.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(stage)))  # a second call in one transaction
    _pg_copy(cur, stage, cols, rows)
    cur.execute(
        sql.SQL(
            "INSERT INTO {t} ({c}) SELECT {c} FROM {s} ON CONFLICT ({k}) DO NOTHING RETURNING {k}, id"
        ).format(t=sql.Identifier(table.name), c=col_list, s=sql.Identifier(stage), k=sql.Identifier(key))
    )
    return [(k, int(i)) for k, i in cur.fetchall()]


def _update_documents(session: Session, new: list[Result], doc_of: dict[Any, int]) -> None:
    """Add the new pages' counts to their documents' aggregates."""
    agg: dict[int, dict[str, Any]] = {}
    for r in new:
        a = agg.setdefault(
            doc_of[r.result_id],
            {"b_id": doc_of[r.result_id], "b_pages": 0, "b_sigs": 0, "b_review": False, "b_status": "ok"},
        )
        a["b_pages"] += 1
        a["b_sigs"] += r.signature_count
        a["b_review"] = a["b_review"] or r.doc_type.needs_review
        if _STATUS_RANK[r.status] > _STATUS_RANK[a["b_status"]]:
            a["b_status"] = r.status
    t = Document.__table__
    assert isinstance(t, Table)
    stmt = (
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(
            page_count=t.c.page_count + bindparam("b_pages"),
            signature_count=t.c.signature_count + bindparam("b_sigs"),
            needs_review=t.c.needs_review | bindparam("b_review"),
            status=case(
                (t.c.status == "failed", "failed"),
                (bindparam("b_status") == "failed", "failed"),
                (bindparam("b_status") == "partial", "partial"),
                else_=t.c.status,
            ),
        )
    )
    session.connection().execute(stmt, list(agg.values()))


def add_dead_letter(session: Session, topic: str, payload: bytes, reason: str) -> None:
    """Keep a message that could not be used, with why (never dropped silently)."""
    session.add(DeadLetter(topic=topic[:500], payload=bytes(payload), reason=reason, received_at=utcnow()))
    session.flush()


def record_status(session: Session, status: Status) -> None:
    """Apply an online/offline status; an older status than the one stored is ignored."""
    ensure_sites_devices(session, [(status.device_id, status.site)])
    dev = session.get(Device, status.device_id)
    assert dev is not None
    if dev.status_at is not None and status.at < dev.status_at:
        return
    dev.online = status.state == "online"
    dev.status_at = status.at
    if status.versions:
        dev.versions = dict(status.versions)
    if status.site and not dev.site_id:
        dev.site_id = status.site
    if status.state == "online":
        dev.last_seen = max(dev.last_seen, status.at) if dev.last_seen else status.at
    session.flush()


def record_health(session: Session, health: Health) -> None:
    """Keep the latest health report of a device (older reports are ignored)."""
    ensure_sites_devices(session, [(health.device_id, None)])
    dev = session.get(Device, health.device_id)
    assert dev is not None
    if dev.health_at is not None and health.at < dev.health_at:
        return
    dev.last_health = health.model_dump(mode="json")
    dev.health_at = health.at
    dev.outbox_backlog = health.outbox_backlog
    dev.last_seen = max(dev.last_seen, health.at) if dev.last_seen else health.at
    # A health report newer than the last status means the device is alive whatever was lost.
    if dev.status_at is None or health.at >= dev.status_at:
        dev.online = True
    session.flush()


def page_count(session: Session) -> int:
    """How many pages are stored (used by metrics and tests)."""
    return int(session.scalar(select(func.count()).select_from(Page)) or 0)


def mark_silent_offline(session: Session, cutoff: datetime) -> list[str]:
    """Mark devices online but not heard from since ``cutoff`` as offline; returns their ids.

    The last will covers a device whose connection dropped; this covers one whose broker session
    is still open but which stopped reporting (a hung process, a half-open network).
    """
    ids = list(
        session.scalars(
            select(Device.id).where(
                Device.online.is_(True), (Device.last_seen.is_(None)) | (Device.last_seen < cutoff)
            )
        )
    )
    if ids:
        session.execute(update(Device).where(Device.id.in_(ids)).values(online=False))
    return ids
