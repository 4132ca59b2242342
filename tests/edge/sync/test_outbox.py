"""The outbox keeps order, refuses duplicates by (kind, key) and survives reopening."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from edge.store import outbox


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    d = sqlite_utils.Database(tmp_path / "edge.db")
    outbox.ensure_schema(d)
    return d


def test_given_new_store_when_schema_ensured_then_wal_and_idempotent(db: sqlite_utils.Database) -> None:
    outbox.ensure_schema(db)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert "outbox" in db.table_names()


def test_given_messages_when_claimed_then_seq_order_and_after_seq_skips_inflight(
    db: sqlite_utils.Database,
) -> None:
    for i in range(5):
        assert outbox.enqueue(db, "result", f"k{i}", "t", f"p{i}".encode())
    rows = outbox.claim(db, 3)
    assert [r.key for r in rows] == ["k0", "k1", "k2"]
    assert [r.payload for r in rows] == [b"p0", b"p1", b"p2"]
    more = outbox.claim(db, 10, after_seq=rows[-1].seq)
    assert [r.key for r in more] == ["k3", "k4"]


def test_given_same_kind_and_key_when_enqueued_twice_then_one_row(db: sqlite_utils.Database) -> None:
    assert outbox.enqueue(db, "result", "same", "t", b"a") is True
    assert outbox.enqueue(db, "result", "same", "t", b"b") is False
    assert outbox.enqueue(db, "image", "same", "", b"") is True
    assert outbox.backlog(db) == 2
    assert outbox.claim(db, 10)[0].payload == b"a"


def test_given_sent_rows_when_claimed_then_skipped_and_backlog_counts_pending(
    db: sqlite_utils.Database,
) -> None:
    for i in range(4):
        outbox.enqueue(db, "result", str(i), "t", b"x")
    rows = outbox.claim(db, 10)
    assert outbox.mark_sent(db, [rows[0].seq, rows[2].seq]) == 2
    assert outbox.mark_sent(db, [rows[0].seq]) == 0  # already sent: nothing changes
    assert [r.key for r in outbox.claim(db, 10)] == ["1", "3"]
    assert outbox.backlog(db) == 2
    assert outbox.is_sent(db, "result", "0") and not outbox.is_sent(db, "result", "1")


def test_given_kinds_filter_when_claimed_then_only_that_kind(db: sqlite_utils.Database) -> None:
    outbox.enqueue(db, "result", "r", "t", b"x")
    outbox.enqueue(db, "image", "abc", "", b"")
    assert [r.kind for r in outbox.claim(db, 10)] == ["result"]
    assert [r.kind for r in outbox.claim(db, 10, kinds=("image",))] == ["image"]
    assert len(outbox.claim(db, 10, kinds=None)) == 2
    assert outbox.backlog(db, "image") == 1


def test_given_caller_transaction_when_rolled_back_then_enqueue_is_undone(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE results (id TEXT PRIMARY KEY)")
    conn = db.conn
    conn.execute("INSERT INTO results VALUES ('r1')")
    outbox.enqueue(db, "result", "r1", "t", b"x")  # joins the open transaction
    conn.rollback()
    assert outbox.backlog(db) == 0
    conn.execute("INSERT INTO results VALUES ('r1')")
    outbox.enqueue(db, "result", "r1", "t", b"x")
    conn.commit()
    assert outbox.backlog(db) == 1


def test_given_reopened_file_when_claimed_then_pending_rows_resume(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    conn = sqlite3.connect(path)
    outbox.ensure_schema(conn)
    for i in range(3):
        outbox.enqueue(conn, "result", str(i), "t", b"x")
    outbox.mark_sent(conn, [outbox.claim(conn, 1)[0].seq])
    conn.close()
    again = sqlite_utils.Database(path)
    assert [r.key for r in outbox.claim(again, 10)] == ["1", "2"]


def test_given_old_sent_rows_when_purged_then_order_continues(db: sqlite_utils.Database) -> None:
    outbox.enqueue(db, "result", "a", "t", b"x")
    seq = outbox.claim(db, 1)[0].seq
    outbox.mark_sent(db, [seq])
    assert outbox.purge_sent(db, older_than_s=-1) == 1
    outbox.enqueue(db, "result", "b", "t", b"x")
    assert outbox.claim(db, 1)[0].seq > seq


def test_given_bad_arguments_when_enqueued_then_clear_error(db: sqlite_utils.Database) -> None:
    with pytest.raises(ValueError, match="qos"):
        outbox.enqueue(db, "result", "k", "t", b"x", qos=3)
    with pytest.raises(ValueError, match="non-empty"):
        outbox.enqueue(db, "", "k", "t", b"x")
    with pytest.raises(TypeError, match="sqlite"):
        outbox.claim(object(), 1)
