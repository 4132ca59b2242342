"""Pipeline: drop policies, the still gate, pages through worker processes into the store,
restart without duplicates, the watchdog and its budget, stuck readers, drain and sd_notify."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from edge.config import EdgeConfig
from edge.pipeline import Pipeline, page_result_id
from edge.pipeline.gate import StillGate, dhash, hamming
from edge.pipeline.queues import Closed, StageQueue
from edge.pipeline.watchdog import Notifier, Stage, Watchdog
from edge.sources.folder import file_sha256
from edge.store import EdgeStore
from tests.edge.pipeline.fakes import FakeDetector, fake_reader_factory


def _cfg(tmp_path: Path, **pipeline: object) -> EdgeConfig:
    return EdgeConfig.model_validate(
        {
            "device": {"id": "dev-test", "site": "lab"},
            "source": {"uri": f"folder://{tmp_path / 'inbox'}", "settle_s": 0},
            "store": {
                "path": str(tmp_path / "edge.db"),
                "images_dir": str(tmp_path / "img"),
                "min_free_mb": 0,
            },
            "pipeline": {"workers": 2, **pipeline},
            "sync": {"enabled": False},
        }
    )


def _page(level: int, h: int = 200, w: int = 150) -> np.ndarray:
    img = np.full((h, w, 3), level, np.uint8)
    cv2.putText(img, "X", (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (0, 0, 0), 3)
    return img


def _wait(pred, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


# -- queues ----------------------------------------------------------------------------------
def test_given_a_full_drop_oldest_queue_when_a_frame_arrives_then_the_oldest_goes_and_is_counted() -> None:
    q: StageQueue[int] = StageQueue("frames", 2, "drop_oldest")
    for i in range(5):
        assert q.put(i)
    assert q.dropped == 3
    assert [q.get(0), q.get(0)] == [3, 4]


def test_given_a_full_block_queue_then_nothing_is_dropped_and_the_producer_waits() -> None:
    q: StageQueue[int] = StageQueue("pages", 2, "block")
    q.put(1)
    q.put(2)
    assert q.put(3, timeout=0.1) is False  # waited, refused, not dropped
    assert q.dropped == 0
    threading.Timer(0.1, q.get).start()
    assert q.put(3, timeout=2) is True
    assert [q.get(0), q.get(0)] == [2, 3]
    q.close()
    with pytest.raises(Closed):
        q.get(0)


# -- gate ------------------------------------------------------------------------------------
def _doc_frame(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((480, 640, 3), 60, np.uint8)
    cv2.rectangle(img, (120, 40), (520, 440), (235, 235, 235), -1)
    for _ in range(25):
        y = int(rng.integers(60, 420))
        x = int(rng.integers(140, 300))
        cv2.line(img, (x, y), (x + int(rng.integers(50, 200)), y), (20, 20, 20), 2)
    return img


def test_given_a_document_held_still_then_the_gate_fires_once_and_again_only_for_a_new_one() -> None:
    gate = StillGate(still_s=0.5)
    a, b = _doc_frame(1), _doc_frame(2)
    blank = np.full((480, 640, 3), 60, np.uint8)
    fires = []
    t = 0.0
    for frame, n in ((blank, 20), (a, 30), (blank, 5), (a, 30), (b, 30)):
        for _ in range(n):
            fires.append(gate.update(frame, t).fire)
            t += 0.05
    # empty desk: never; doc a: once; a again after a gap (same document): not again; doc b: once
    assert sum(fires[:20]) == 0
    assert sum(fires[20:50]) == 1
    assert sum(fires[55:85]) == 0
    assert sum(fires[85:]) == 1
    assert hamming(dhash(a), dhash(a)) == 0 and hamming(dhash(a), dhash(b)) > 16


def test_given_a_moving_document_then_the_gate_waits_until_it_is_still() -> None:
    gate = StillGate(still_s=0.5)
    base = _doc_frame(3)
    t = 0.0
    for i in range(30):  # sliding: never still
        assert not gate.update(np.roll(base, i * 8, axis=1), t).fire
        t += 0.05
    fired = [gate.update(base, t + k * 0.05).fire for k in range(20)]
    assert any(fired) and fired.index(True) >= 9  # only after still_s of stillness


# -- pipeline with page sources ----------------------------------------------------------------
def test_given_files_in_the_hot_folder_then_every_page_is_stored_once_and_files_move(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ims = [Image.fromarray(_page(100 + 10 * i)) for i in range(3)]
    ims[0].save(inbox / "three.tif", save_all=True, append_images=ims[1:])
    cv2.imwrite(str(inbox / "one.png"), _page(200))
    (inbox / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    cfg = _cfg(tmp_path)
    store = EdgeStore(cfg.store)
    det = FakeDetector()
    pipe = Pipeline(cfg, det, store, reader_factory=fake_reader_factory)
    pipe.start()
    try:
        assert _wait(lambda: store.count_results() == 4 and (inbox / "done" / "three.tif").exists())
    finally:
        assert pipe.stop(drain=True)
    assert (inbox / "done" / "one.png").exists()
    assert (inbox / "failed" / "bad.pdf.reason.txt").exists()
    results = store.recent_results(10)
    texts = sorted(r.text for r in results)
    assert texts[0].startswith("mean ") and all("scan sigs 1" in t for t in texts)
    tif = [r for r in results if r.source.uri.endswith("three.tif")]
    assert sorted(r.source.page_index for r in tif) == [0, 1, 2]
    assert all(r.source.page_count == 3 and r.signature_count == 1 for r in tif)
    assert all({"detect", "read", "encode", "total"} <= set(r.timings_ms) for r in results)
    assert results[0].models.detector.name == "fake-detector"
    assert results[0].models.classifier.name == "fake-classifier"


def test_given_pages_stored_before_a_crash_when_the_file_is_taken_again_then_only_the_rest_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ims = [Image.fromarray(_page(50 + 40 * i)) for i in range(3)]
    ims[0].save(inbox / "doc.tif", save_all=True, append_images=ims[1:])
    cfg = _cfg(tmp_path)
    store = EdgeStore(cfg.store)
    # First run: pages 0 and 1 were stored, then the process died before the file moved.
    key = file_sha256(inbox / "doc.tif")
    from tests.edge.factories import make_result

    for i in (0, 1):
        img = np.asarray(ims[i])
        store.save_result(make_result(img, result_id=page_result_id("dev-test", key, i)), img)
    log = tmp_path / "reads.log"
    monkeypatch.setenv("FAKE_READER_LOG", str(log))
    pipe = Pipeline(cfg, FakeDetector(), store, reader_factory=fake_reader_factory)
    pipe.start()
    try:
        assert _wait(lambda: (inbox / "done" / "doc.tif").exists())
    finally:
        pipe.stop()
    assert store.count_results() == 3
    assert log.read_text().split() == [str(int(np.asarray(ims[2]).mean()))]  # only page 2 was read


def test_given_a_reader_that_hangs_then_the_pool_is_rebuilt_and_the_page_stored_as_failed(
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cv2.imwrite(str(inbox / "p.png"), _page(120))
    cfg = _cfg(tmp_path, stage_timeout_s=2.0, workers=1)
    cfg.reader.languages = ["stall"]
    store = EdgeStore(cfg.store)
    pipe = Pipeline(cfg, FakeDetector(), store, reader_factory=fake_reader_factory)
    pipe.start()
    try:
        assert _wait(lambda: store.count_results() == 1, timeout=40)
    finally:
        pipe.stop(drain=False)
    (r,) = store.recent_results(1)
    assert r.status == "failed" and "gave up after 2 attempts" in r.errors[0]
    assert pipe.pool.restarts >= 2
    assert (inbox / "done" / "p.png").exists()  # processed (with a failed reading), not lost


def test_given_pages_in_flight_when_stopped_with_drain_then_they_reach_the_store(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(4):
        cv2.imwrite(str(inbox / f"p{i}.png"), _page(60 + 30 * i))
    cfg = _cfg(tmp_path)
    cfg.reader.languages = ["slow0.5"]
    store = EdgeStore(cfg.store)
    pipe = Pipeline(cfg, FakeDetector(), store, reader_factory=fake_reader_factory)
    pipe.start()
    assert _wait(lambda: pipe.pool.in_flight() > 0)
    assert pipe.stop(drain=True)
    n = store.count_results()
    assert n >= 1
    done = len(list((inbox / "done").iterdir()))
    assert done == n  # every stored page's file moved; the rest wait in the inbox
    assert len([p for p in inbox.iterdir() if p.is_file()]) == 4 - n


def test_swap_models_replaces_the_detector_for_the_next_page(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cfg = _cfg(tmp_path, workers=1)
    store = EdgeStore(cfg.store)
    pipe = Pipeline(cfg, FakeDetector("1"), store, reader_factory=fake_reader_factory)
    pipe.start()
    try:
        cv2.imwrite(str(inbox / "a.png"), _page(90))
        assert _wait(lambda: store.count_results() == 1)
        pipe.swap_models(detector=FakeDetector("2"))
        cv2.imwrite(str(inbox / "b.png"), _page(150))
        assert _wait(lambda: store.count_results() == 2)
    finally:
        pipe.stop()
    versions = sorted(r.models.detector.version for r in store.recent_results(2))
    assert versions == ["1", "2"]


# -- watchdog and sd_notify -------------------------------------------------------------------
def test_given_a_stalled_stage_then_the_watchdog_restarts_it_until_the_budget_is_spent() -> None:
    runs: list[int] = []
    hang = threading.Event()

    def loop(st: Stage) -> None:
        runs.append(st.generation)
        hang.wait()  # a stage stuck inside a call: no heartbeat

    st = Stage("stuck", loop)
    st.start()
    wd = Watchdog([st], timeout_s=0.2, budget=2)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 3 and wd.fatal is None:
        wd.check_once()
        time.sleep(0.1)
    hang.set()
    assert runs == [1, 2, 3]  # started, restarted twice
    assert wd.fatal is not None and "restart budget spent" in wd.fatal


def test_given_a_notify_socket_then_ready_watchdog_and_status_arrive(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    srv.settimeout(2)
    n = Notifier(path, watchdog_usec="2000000")
    assert n.watchdog_s == 2.0
    n.ready("running")
    beat = Stage("ok", lambda st: None)
    beat.thread = threading.current_thread()  # an alive, fresh stage
    wd = Watchdog([beat], timeout_s=60, budget=1, notifier=n)
    wd.check_once()
    got = [srv.recv(1024).decode(), srv.recv(1024).decode()]
    srv.close()
    assert got == ["READY=1\nSTATUS=running", "WATCHDOG=1"]


def test_given_the_budget_is_spent_then_systemd_is_no_longer_petted(tmp_path: Path) -> None:
    n = Notifier(str(tmp_path / "none.sock"))
    wd = Watchdog([], timeout_s=1, budget=0, notifier=n, extra_checks=[lambda: "read pool restarted: test"])
    wd.check_once()
    assert wd.fatal and "WATCHDOG=1" not in n.sent


def _doc_video(path: Path, docs: list[int], still_frames: int = 16, fps: float = 20.0) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (640, 480))
    blank = np.full((480, 640, 3), 60, np.uint8)
    for seed in docs:
        for _ in range(4):
            w.write(blank)
        frame = _doc_frame(seed)
        for _ in range(still_frames):
            w.write(frame)
    for _ in range(4):
        w.write(blank)
    w.release()
    return path


def test_given_a_video_then_each_still_document_is_read_once_with_the_webcam_profile(tmp_path: Path) -> None:
    vid = _doc_video(tmp_path / "desk.avi", [1, 2])
    cfg = _cfg(tmp_path, still_s=0.3)
    cfg.source.uri = f"file://{vid}"
    store = EdgeStore(cfg.store)
    pipe = Pipeline(cfg, FakeDetector(), store, reader_factory=fake_reader_factory)
    pipe.start()
    try:
        assert _wait(lambda: pipe.sources[0].state == "ended" and not pipe._busy(), timeout=60)  # type: ignore[union-attr]
    finally:
        pipe.stop()
    results = store.recent_results(10)
    assert len(results) == 2
    assert all(r.source.kind == "video" and "webcam" in r.text for r in results)
    assert all(r.image.width == 640 and r.signature_count == 1 for r in results)
    assert len(pipe.still_latency_ms) == 2 and all(ms > 0 for ms in pipe.still_latency_ms)


def _slow_video_run(tmp_path: Path) -> tuple[Pipeline, EdgeStore]:
    """Three still documents shown one after the other while the first takes 2 s to read."""
    vid = _doc_video(tmp_path / "desk.avi", [1, 2, 3], still_frames=12)
    cfg = _cfg(tmp_path, still_s=0.2, workers=1)
    cfg.source.uri = f"file://{vid}"
    cfg.reader.languages = ["slow2"]
    store = EdgeStore(cfg.store)
    pipe = Pipeline(cfg, FakeDetector(), store, reader_factory=fake_reader_factory)
    pipe.start()
    try:
        assert _wait(lambda: pipe.sources[0].state == "ended" and not pipe._busy(), timeout=60)  # type: ignore[union-attr]
    finally:
        pipe.stop()
    return pipe, store


def test_given_a_slow_reader_then_the_documents_shown_meanwhile_wait_and_are_all_read(tmp_path: Path) -> None:
    pipe, store = _slow_video_run(tmp_path)
    assert pipe.live_superseded == 0
    assert store.count_results() == 3
    assert len({r.source.page_index for r in store.recent_results(10)}) == 3  # three different stills


def test_given_more_documents_waiting_than_the_backlog_then_the_oldest_waiting_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import edge.pipeline.runtime as runtime

    monkeypatch.setattr(runtime, "LIVE_BACKLOG", 1)
    pipe, store = _slow_video_run(tmp_path)
    assert pipe.live_superseded == 1
    assert store.count_results() == 2  # the first and the newest; the one in between was dropped
