"""Sources: hot folder (settle, done/failed with reason, restart), PDF/TIFF pages, video frames,
reconnect after a camera dies, SANE batches through the real scanimage test backend."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from edge.config import SourceConfig
from edge.sources import SourceError, open_source
from edge.sources.camera import CaptureSource, csi_pipeline
from edge.sources.folder import FolderSource
from edge.sources.pages import PageError, open_pages


def _page(seed: int = 0, h: int = 300, w: int = 220) -> np.ndarray:
    img = np.full((h, w, 3), 245, np.uint8)
    cv2.putText(img, f"PAGE {seed}", (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2)
    return img


def _pdf(path: Path, pages: int) -> Path:
    ims = [Image.fromarray(cv2.cvtColor(_page(i), cv2.COLOR_BGR2RGB)) for i in range(pages)]
    ims[0].save(path, "PDF", resolution=72.0, save_all=True, append_images=ims[1:])
    return path


def _tiff(path: Path, pages: int) -> Path:
    ims = [Image.fromarray(cv2.cvtColor(_page(i), cv2.COLOR_BGR2RGB)) for i in range(pages)]
    ims[0].save(path, "TIFF", save_all=True, append_images=ims[1:])
    return path


def video(path: Path, frames: int = 20, size: tuple[int, int] = (160, 120)) -> Path:
    """A small real MJPEG AVI file (what OpenCV's FFmpeg reads back everywhere)."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 20.0, size)
    assert w.isOpened()
    for i in range(frames):
        img = np.full((size[1], size[0], 3), (i * 10) % 255, np.uint8)
        w.write(img)
    w.release()
    return path


def _png_header(w: int, h: int) -> bytes:
    """A PNG whose header declares w x h pixels (the pixel data is not there: never decoded)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _drain(src: FolderSource) -> list:
    """Docs from one pass over the folder (settle_s=0: everything present is ready)."""
    return [d for d in (src.take(p) for p in src.ready_files()) if d is not None]


def test_given_a_pdf_then_pages_are_rendered_at_the_configured_dpi(tmp_path: Path) -> None:
    cfg = SourceConfig(pdf_dpi=144)
    paged = open_pages(_pdf(tmp_path / "a.pdf", 3), cfg)
    pages = list(paged.pages)
    assert paged.page_count == 3 and len(pages) == 3
    assert pages[0].shape[1] == 440  # 220 pt at 144 dpi
    assert pages[0].dtype == np.uint8 and pages[0].shape[2] == 3


def test_given_a_pdf_over_the_page_limit_then_refused_with_the_limit_named(tmp_path: Path) -> None:
    with pytest.raises(PageError, match="limit of 2"):
        open_pages(_pdf(tmp_path / "a.pdf", 3), SourceConfig(pdf_max_pages=2))


def test_given_a_multipage_tiff_then_every_page_is_returned(tmp_path: Path) -> None:
    paged = open_pages(_tiff(tmp_path / "a.tif", 4), SourceConfig())
    assert paged.page_count == 4
    assert len(list(paged.pages)) == 4


def test_given_a_file_still_growing_then_it_is_not_taken_until_settled(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    src = FolderSource(f"folder://{inbox}", SourceConfig(settle_s=0.5))
    f = inbox / "scan.png"
    cv2.imwrite(str(f), _page())
    t0 = time.monotonic()
    assert src.ready_files(t0) == []
    assert src.ready_files(t0 + 0.2) == []
    with f.open("ab") as fh:  # the scanner writes more
        fh.write(b"\0")
    assert src.ready_files(t0 + 0.6) == []  # changed: the clock restarts
    assert src.ready_files(t0 + 1.2) == [f]


def test_given_good_and_bad_files_then_good_move_to_done_and_bad_to_failed_with_a_reason(
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    cv2.imwrite(str(inbox / "good.png"), _page())
    (inbox / "empty.pdf").write_bytes(b"")
    (inbox / "corrupt.pdf").write_bytes(b"%PDF-1.4\n this is not a pdf at all")
    (inbox / "notes.txt").write_text("hello")
    (inbox / "truncated.png").write_bytes((inbox / "good.png").read_bytes()[:60])
    # Huge: a real PNG header declaring 50000x50000 pixels (refused from the header, never decoded).
    (inbox / "huge.png").write_bytes(_png_header(50000, 50000))
    (inbox / ".hidden.png").write_bytes(b"x")
    src = FolderSource(f"folder://{inbox}", SourceConfig(settle_s=0))
    docs = _drain(src)
    assert [d.path.name for d in docs] == ["good.png"]
    docs[0].finish(True)
    assert (inbox / "done" / "good.png").exists()
    reasons = {p.name: p.read_text() for p in (inbox / "failed").glob("*.reason.txt")}
    assert "empty" in reasons["empty.pdf.reason.txt"]
    assert "PDF" in reasons["corrupt.pdf.reason.txt"]
    assert "unsupported file type" in reasons["notes.txt.reason.txt"]
    assert "corrupt" in reasons["truncated.png.reason.txt"]
    assert "too large" in reasons["huge.png.reason.txt"]
    for name in ("empty.pdf", "corrupt.pdf", "notes.txt", "truncated.png", "huge.png"):
        assert (inbox / "failed" / name).exists()
    assert (inbox / ".hidden.png").exists()  # ignored, not touched
    q = src.queue_state()
    assert {r["name"] for r in q["failed"]} >= {"empty.pdf", "notes.txt"}
    assert all(r["reason"] for r in q["failed"])


def test_given_a_restart_then_done_files_are_not_taken_again_and_unfinished_ones_are(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    cv2.imwrite(str(inbox / "a.png"), _page(1))
    cv2.imwrite(str(inbox / "b.png"), _page(2))
    first = FolderSource(f"folder://{inbox}", SourceConfig(settle_s=0))
    docs = _drain(first)
    keys = {d.path.name: d.key for d in docs}
    docs[0].finish(True)  # a.png finished; b.png was taken but the process "died" before finishing
    second = FolderSource(f"folder://{inbox}", SourceConfig(settle_s=0))
    again = _drain(second)
    assert [d.path.name for d in again] == [docs[1].path.name]
    assert again[0].key == keys[again[0].path.name]  # same content, same key -> same result ids


def test_given_a_done_name_already_taken_then_the_new_file_gets_a_fresh_name(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    src = FolderSource(f"folder://{inbox}", SourceConfig(settle_s=0))
    for i in range(2):
        cv2.imwrite(str(inbox / "scan.png"), _page(i))
        (d,) = _drain(src)
        d.finish(True)
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["scan-2.png", "scan.png"]


def test_given_a_video_file_then_all_its_frames_arrive_in_order(tmp_path: Path) -> None:
    path = video(tmp_path / "v.avi", frames=15)
    src = open_source(f"file://{path}", SourceConfig(realtime=False))
    frames = list(src.frames(threading.Event()))  # type: ignore[union-attr]
    assert len(frames) == 15
    assert [f.index for f in frames] == list(range(15))
    assert frames[0].image.shape == (120, 160, 3)


def test_given_a_looping_video_then_it_plays_past_its_end(tmp_path: Path) -> None:
    path = video(tmp_path / "v.avi", frames=5)
    src = open_source(f"file://{path}", SourceConfig(realtime=False, loop=True))
    stop = threading.Event()
    got = []
    for f in src.frames(stop):  # type: ignore[union-attr]
        got.append(f)
        if len(got) == 12:
            stop.set()
    assert len(got) == 12


def test_given_a_camera_that_is_gone_then_it_reconnects_with_backoff_when_it_returns(tmp_path: Path) -> None:
    # A camera that is unplugged at start and whose stream later dies: stand-in is a stream
    # target that does not exist yet, then ends (a live source treats an end as a loss).
    target = tmp_path / "cam.avi"
    src = CaptureSource("rtsp://cam", SourceConfig(reconnect_s=0.1), "rtsp", str(target), cv2.CAP_FFMPEG)
    stop = threading.Event()
    got: list = []

    def consume() -> None:
        for f in src.frames(stop):
            got.append(f)
            if len(got) >= 10:
                stop.set()

    th = threading.Thread(target=consume, daemon=True)
    th.start()
    time.sleep(0.5)
    assert got == [] and src.state == "reconnecting"
    video(tmp_path / "tmp.avi", frames=6).replace(target)  # plugged in
    th.join(timeout=15)
    stop.set()
    assert len(got) >= 10  # 6 frames, lost, reconnected, more frames
    assert src.reconnects >= 2


def test_given_unknown_or_bad_uris_then_a_clear_error() -> None:
    with pytest.raises(SourceError, match="unknown source scheme"):
        open_source("ftp://x", SourceConfig())
    with pytest.raises(SourceError, match="no scheme"):
        open_source("video.mp4", SourceConfig())
    with pytest.raises(SourceError, match="csi://"):
        open_source("csi://left", SourceConfig())


def test_csi_pipeline_names_the_argus_source_and_a_dropping_appsink() -> None:
    p = csi_pipeline(1, 1280, 720, 30)
    assert p.startswith("nvarguscamerasrc sensor-id=1 ")
    assert "width=1280,height=720,framerate=30/1" in p
    assert p.endswith("appsink drop=true max-buffers=1 sync=false")


@pytest.mark.skipif(not shutil.which("scanimage"), reason="scanimage (sane-utils) not installed")
def test_given_the_sane_test_scanner_then_a_batch_becomes_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SANE's own virtual scanner (the `test` backend of sane-backends), enabled through a config
    # folder of the test's (SANE_CONFIG_DIR) rather than by editing /etc/sane.d.
    conf = tmp_path / "sane.d"
    conf.mkdir()
    (conf / "dll.conf").write_text("test\n")
    if Path("/etc/sane.d/test.conf").is_file():
        shutil.copy("/etc/sane.d/test.conf", conf / "test.conf")
    monkeypatch.setenv("SANE_CONFIG_DIR", str(conf))
    probe = subprocess.run(["scanimage", "-d", "test", "-n"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"SANE's test backend does not load here: {probe.stderr.decode()[-300:]}")
    from edge.sources.sane import SaneSource

    src = SaneSource("sane://test", SourceConfig(scan_dpi=75, pdf_max_pages=2), spool=tmp_path / "spool")
    n = src.scan_batch(timeout_s=60)
    assert n == 2
    stop = threading.Event()
    doc = next(src.docs(stop))
    stop.set()
    page = next(doc.pages)
    assert page.ndim == 3 and page.shape[2] == 3
    doc.finish(True)
    assert any((tmp_path / "spool" / "done").iterdir())


@pytest.mark.parametrize(
    ("uri", "target"),
    [("/dev/video0", "/dev/video0"), ("/dev/video12", "/dev/video12"), ("v4l2://0", 0), ("v4l2://3", 3)],
)
def test_given_a_usb_camera_uri_then_it_opens_that_v4l2_device(uri: str, target: object) -> None:
    src = open_source(uri, SourceConfig())
    try:
        assert src.live and src.kind == "camera"  # type: ignore[union-attr]
        assert src.target == target and src.api == cv2.CAP_V4L2  # type: ignore[union-attr]
    finally:
        src.close()


def test_given_an_absent_usb_camera_then_the_source_waits_and_says_so(tmp_path: Path) -> None:
    src = open_source("/dev/video99", SourceConfig(reconnect_s=0.1))
    stop = threading.Event()
    frames: list[object] = []
    t = threading.Thread(target=lambda: frames.extend(src.frames(stop)), daemon=True)  # type: ignore[union-attr]
    t.start()
    time.sleep(1.0)
    stop.set()
    t.join(5)
    assert not t.is_alive() and frames == []
    assert src.reconnects >= 1 and src.state != "streaming"  # type: ignore[union-attr]
