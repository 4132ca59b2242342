"""EdgeStore: idempotent saves, WAL, outbox in the same transaction, kill -9 safety, full disk."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from edge.config import StoreConfig
from edge.store import EdgeStore, StoreFull, encode_page, outbox
from tests.edge.factories import make_result, page_image

REPO = Path(__file__).resolve().parents[3]


def _cfg(tmp_path: Path, **kw: object) -> StoreConfig:
    return StoreConfig(path=tmp_path / "edge.db", images_dir=tmp_path / "images", min_free_mb=0, **kw)


def test_given_a_result_when_saved_twice_then_one_row_and_one_outbox_entry(tmp_path: Path) -> None:
    store = EdgeStore(_cfg(tmp_path))
    img = page_image(1)
    r = make_result(img)
    assert store.save_result(r, img) is True
    assert store.save_result(r, img) is False
    assert store.count_results() == 1
    assert outbox.backlog(store.db, "result") == 1
    assert outbox.backlog(store.db, "image") == 1
    assert store.image_path(r.image.sha256).read_bytes() == encode_page(img)
    assert store.recent_results(5)[0].result_id == r.result_id


def test_given_a_new_store_then_the_journal_is_wal(tmp_path: Path) -> None:
    store = EdgeStore(_cfg(tmp_path))
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_given_image_bytes_not_matching_the_result_when_saved_then_refused_and_nothing_stored(
    tmp_path: Path,
) -> None:
    store = EdgeStore(_cfg(tmp_path))
    r = make_result(page_image(1))
    with pytest.raises(ValueError, match="does not match"):
        store.save_result(r, encode_page(page_image(2)))
    assert store.count_results() == 0
    assert outbox.backlog(store.db) == 0


def test_given_free_space_below_the_floor_then_intake_stops_with_a_reason_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    # The real statvfs of this file system against a floor no disk here can meet.
    store = EdgeStore(StoreConfig(path=tmp_path / "e.db", images_dir=tmp_path / "img", min_free_mb=10**9))
    ok, reason = store.intake_status()
    assert not ok and reason and "disk full" in reason
    img = page_image(3)
    with pytest.raises(StoreFull):
        store.save_result(make_result(img), img)
    assert store.count_results() == 0
    assert store.check() == "ok"


def test_given_images_past_the_quota_then_the_oldest_synced_are_evicted_and_unsynced_kept(
    tmp_path: Path,
) -> None:
    store = EdgeStore(_cfg(tmp_path, images_quota_mb=1))
    big = [page_image(i, h=600, w=800) for i in range(4)]  # ~600 KB each as JPEG of noise
    results = []
    for img in big[:2]:
        r = make_result(img)
        store.save_result(r, img)
        results.append(r)
    # The first image is acknowledged by the cloud; the second is not.
    seqs = [
        row.seq for row in outbox.claim(store.db, 10, kinds=["image"]) if row.key == results[0].image.sha256
    ]
    outbox.mark_sent(store.db, seqs)
    r3 = make_result(big[2])
    store.save_result(r3, big[2])
    assert not store.image_path(results[0].image.sha256).exists()
    assert store.image_path(results[1].image.sha256).exists()  # unsynced: never evicted
    assert store.image_path(r3.image.sha256).exists()
    assert store.count_results() == 3  # results themselves stay


def test_given_old_synced_results_when_pruned_then_removed_and_pending_kept(tmp_path: Path) -> None:
    store = EdgeStore(_cfg(tmp_path, retention_days=1))
    a, b = page_image(5), page_image(6)
    ra, rb = make_result(a), make_result(b)
    store.save_result(ra, a)
    store.save_result(rb, b)
    rows = outbox.claim(store.db, 10, kinds=None)
    outbox.mark_sent(store.db, [r.seq for r in rows if r.key in (str(ra.result_id), ra.image.sha256)])
    out = store.prune(now=time.time() + 3 * 86400)
    assert out["results"] == 1
    assert store.get_result(str(ra.result_id)) is None
    assert store.get_result(str(rb.result_id)) is not None
    assert not store.image_path(ra.image.sha256).exists()
    assert store.image_path(rb.image.sha256).exists()


_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from edge.config import StoreConfig
    from edge.store import EdgeStore
    from tests.edge.factories import make_result, page_image
    tmp = Path(sys.argv[1])
    store = EdgeStore(StoreConfig(path=tmp / "edge.db", images_dir=tmp / "images", min_free_mb=0))
    i = 0
    while True:
        img = page_image(i)
        r = make_result(img)
        store.save_result(r, img)
        print(r.result_id, flush=True)  # printed only after the transaction returned
        i += 1
    """
)


def test_given_a_writer_killed_mid_stream_when_reopened_then_consistent_and_every_finished_result_present(
    tmp_path: Path,
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    finished: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while len(finished) < 25 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            finished.append(line.strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(finished) >= 25
    store = EdgeStore(_cfg(tmp_path))
    assert store.check() == "ok"
    for rid in finished:
        assert store.has_result(rid), rid
    # Every stored result has its outbox row and its image file (one transaction, image first).
    n = store.count_results()
    assert outbox.backlog(store.db, "result") == n
    for r in store.recent_results(n):
        assert store.image_path(r.image.sha256).exists()
    conn = sqlite3.connect(tmp_path / "edge.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_given_sqlite_refusing_to_grow_when_saving_then_store_full_and_nothing_half_written(
    tmp_path: Path,
) -> None:
    # A real SQLITE_FULL: the database may not grow past its current pages (what a full disk
    # does to SQLite), so the insert itself fails inside the transaction.
    store = EdgeStore(_cfg(tmp_path))
    first = page_image(1)
    assert store.save_result(make_result(first), first)
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")
    img = page_image(2)
    r = make_result(img)
    r = r.model_copy(update={"text": "x" * 200_000})  # needs new pages whatever the free list holds
    with pytest.raises(StoreFull, match="disk full"):
        store.save_result(r, img)
    assert store.count_results() == 1 and outbox.backlog(store.db) == 2  # the first, untouched
    assert not store.image_path(r.image.sha256).exists()  # no orphan image file
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.db.execute("PRAGMA max_page_count = 1073741823")  # space is back: the same page saves
    assert store.save_result(r, img) is True
    assert store.count_results() == 2


@pytest.fixture
def tiny_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A real 512 KiB file system (tmpfs), where a write ends in ENOSPC."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_given_a_disk_that_fills_up_when_saving_images_then_store_full_and_the_store_stays_usable(
    tmp_path: Path, tiny_disk: Path
) -> None:
    import numpy as np

    store = EdgeStore(StoreConfig(path=tmp_path / "edge.db", images_dir=tiny_disk, min_free_mb=0))
    rng = np.random.default_rng(0)
    saved, refused = 0, None
    for _ in range(40):  # random pixels do not compress: ~100 KB each, the disk holds a few
        img = rng.integers(0, 255, (200, 180, 3), np.uint8)
        try:
            store.save_result(make_result(img), img)
            saved += 1
        except StoreFull as exc:
            refused = exc
            break
    assert refused is not None and "disk full" in str(refused), "the tiny disk never filled"
    assert saved >= 1 and store.count_results() == saved
    assert not list(tiny_disk.rglob(".tmp-*"))  # the partial write was removed
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
