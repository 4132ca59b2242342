"""The outbox: what the device still owes the cloud, kept in the local SQLite store.

The outbox is the source of truth for sync. A row is written in the same transaction as the
thing it announces (a result row, an image file reference), so a crash can never leave a result
stored but forgotten by sync. Rows are published in ``seq`` order and marked sent only once the
broker (or the HTTP server, for images) acknowledged them, so a restart resumes where it stopped;
a message acknowledged by the broker but not yet marked sent is sent again after a crash and the
cloud's upsert by ``result_id`` makes that duplicate harmless.

``enqueue`` is idempotent by ``(kind, key)``: storing the same result twice leaves one row.

Transactions: ``enqueue`` joins the caller's open transaction when there is one (so the store can
insert its result row and the outbox row atomically: do your own INSERT first, then call
``enqueue``, then commit); called on its own it commits its row itself.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

TABLE = "outbox"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at REAL,
    UNIQUE (kind, key)
);
CREATE INDEX IF NOT EXISTS {TABLE}_pending ON {TABLE} (kind, seq) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS {TABLE}_sent ON {TABLE} (sent_at) WHERE sent_at IS NOT NULL;
"""


@dataclass(frozen=True)
class Row:
    """One pending message. ``kind`` is ``result`` (MQTT) or ``image`` (HTTPS upload, key=sha256)."""

    seq: int
    kind: str
    key: str
    topic: str
    payload: bytes
    qos: int
    attempts: int


def _conn(db: Any) -> sqlite3.Connection:
    """Accept a ``sqlite_utils.Database`` or a bare ``sqlite3.Connection``."""
    conn = getattr(db, "conn", db)
    if not isinstance(conn, sqlite3.Connection):
        raise TypeError(f"expected a sqlite_utils.Database or sqlite3.Connection, got {type(db).__name__}")
    return conn


def ensure_schema(db: Any) -> None:
    """Create the outbox table and its indexes (idempotent) and switch the file to WAL.

    WAL lets the sync thread read and mark rows while the pipeline writes new ones.
    """
    conn = _conn(db)
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()
    if mode and str(mode[0]).lower() not in {"wal", "memory"}:
        log.warning("outbox: journal_mode is %s, not WAL", mode[0])
    was_open = conn.in_transaction
    _run_statements(conn, _SCHEMA)
    if not was_open and conn.in_transaction:
        conn.commit()


def _run_statements(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the caller's transaction first; run one statement at a time.
    for stmt in script.split(";"):
        if stmt.strip():
            conn.execute(stmt)


def enqueue(db: Any, kind: str, key: str, topic: str, payload: bytes, qos: int = 1) -> bool:
    """Add one message to the outbox; returns False when ``(kind, key)`` was already there.

    Joins the caller's open transaction if any; otherwise commits on its own.
    """
    if not kind or not key:
        raise ValueError("kind and key must be non-empty strings")
    if qos not in (0, 1, 2):
        raise ValueError(f"qos must be 0, 1 or 2, got {qos}")
    conn = _conn(db)
    own = not conn.in_transaction
    cur = conn.execute(
        f"INSERT INTO {TABLE} (kind, key, topic, payload, qos, created_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (kind, key) DO NOTHING",
        (kind, key, topic, bytes(payload), qos, time.time()),
    )
    if own:
        conn.commit()
    return cur.rowcount == 1


def claim(db: Any, limit: int, after_seq: int = 0, kinds: Sequence[str] | None = ("result",)) -> list[Row]:
    """Oldest pending rows with ``seq > after_seq``, in ``seq`` order, at most ``limit``.

    Claiming does not change the row: a message is pending until ``mark_sent``. The sync client
    keeps the highest seq it has in flight and passes it as ``after_seq`` so it does not publish
    a message twice while waiting for its acknowledgement. ``kinds=None`` returns every kind.
    """
    conn = _conn(db)
    where = "sent_at IS NULL AND seq > ?"
    args: list[Any] = [after_seq]
    if kinds is not None:
        where += f" AND kind IN ({','.join('?' * len(kinds))})"
        args.extend(kinds)
    args.append(int(limit))
    rows = conn.execute(
        f"SELECT seq, kind, key, topic, payload, qos, attempts FROM {TABLE} WHERE {where} ORDER BY seq LIMIT ?",
        args,
    ).fetchall()
    return [Row(int(r[0]), r[1], r[2], r[3], bytes(r[4]), int(r[5]), int(r[6])) for r in rows]


def mark_sent(db: Any, seqs: Iterable[int]) -> int:
    """Mark acknowledged messages as sent (one transaction); returns how many rows changed."""
    conn = _conn(db)
    items = [(time.time(), int(s)) for s in seqs]
    if not items:
        return 0
    own = not conn.in_transaction
    before = conn.total_changes
    conn.executemany(f"UPDATE {TABLE} SET sent_at = ? WHERE seq = ? AND sent_at IS NULL", items)
    if own:
        conn.commit()
    return conn.total_changes - before


def recently_sent(
    db: Any, since: float, limit: int = 100_000, kinds: Sequence[str] = ("result",)
) -> list[Row]:
    """Rows acknowledged at or after ``since`` (epoch seconds), in ``seq`` order.

    Used after a reconnect: a broker that crashed may have lost messages it had acknowledged but
    not yet saved or delivered, so the last few seconds are sent again (duplicates are harmless).
    """
    conn = _conn(db)
    rows = conn.execute(
        f"SELECT seq, kind, key, topic, payload, qos, attempts FROM {TABLE} WHERE sent_at >= ? "
        f"AND kind IN ({','.join('?' * len(kinds))}) ORDER BY seq LIMIT ?",
        [since, *kinds, int(limit)],
    ).fetchall()
    return [Row(int(r[0]), r[1], r[2], r[3], bytes(r[4]), int(r[5]), int(r[6])) for r in rows]


def mark_failed(db: Any, seq: int, error: str) -> None:
    """Count a failed attempt (an image upload refused, ...); the row stays pending."""
    conn = _conn(db)
    own = not conn.in_transaction
    conn.execute(
        f"UPDATE {TABLE} SET attempts = attempts + 1, last_error = ? WHERE seq = ?", (error[:2000], int(seq))
    )
    if own:
        conn.commit()


def backlog(db: Any, kind: str | None = None) -> int:
    """How many messages are still pending (of one kind, or all)."""
    conn = _conn(db)
    if kind is None:
        row = conn.execute(f"SELECT count(*) FROM {TABLE} WHERE sent_at IS NULL").fetchone()
    else:
        row = conn.execute(
            f"SELECT count(*) FROM {TABLE} WHERE sent_at IS NULL AND kind = ?", (kind,)
        ).fetchone()
    return int(row[0])


def is_sent(db: Any, kind: str, key: str) -> bool:
    """Whether ``(kind, key)`` is in the outbox and acknowledged (used by retention)."""
    row = _conn(db).execute(f"SELECT sent_at FROM {TABLE} WHERE kind = ? AND key = ?", (kind, key)).fetchone()
    return bool(row and row[0] is not None)


def purge_sent(db: Any, older_than_s: float) -> int:
    """Delete rows acknowledged more than ``older_than_s`` seconds ago; returns how many.

    The AUTOINCREMENT counter survives deletion, so order is kept for later rows.
    """
    conn = _conn(db)
    own = not conn.in_transaction
    cur = conn.execute(
        f"DELETE FROM {TABLE} WHERE sent_at IS NOT NULL AND sent_at < ?", (time.time() - older_than_s,)
    )
    if own:
        conn.commit()
    return cur.rowcount
