"""Edge runtime benchmark on the bundled video and sample folder (CPU, ONNX Runtime).

Measures, each with a baseline taken in the same run:
  * start to first frame (process start of the edge app -> first annotated frame);
  * live overlay fps on 640x480 while reading runs (baseline: the detector alone in a loop);
  * still-to-Result latency median (document still in view -> Result in the store;
    baseline: detect + read of that frame in-process, no queues or workers);
  * scanner folder pages/minute (baseline: the same files one after the other with process_file);
  * resident memory of the whole edge (process + reading workers), peak.
Prints each next to the previous run's figure from bench/results/edge.json, then updates it.

    nice -n 10 .venv/bin/python bench/edge.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edge.app import EdgeApp  # noqa: E402
from edge.config import EdgeConfig  # noqa: E402
from edge.health import tree_rss_mb  # noqa: E402
from signet.config import load_settings  # noqa: E402

VIDEO = REPO / "samples" / "video" / "desk.mp4"
PAGES = REPO / "samples" / "pages" / "images"
PDFS = REPO / "samples" / "pdf"
RESULTS = REPO / "bench" / "results" / "edge.json"
TARGETS = {
    "overlay_fps": (">=", 15.0),
    "still_to_result_ms_median": ("<=", 2500.0),
    "scanner_pages_per_min": (">=", 60.0),
    "rss_mb_peak": ("<=", 1200.0),
    "start_to_first_frame_s": ("<=", 8.0),
}


def _cfg(tmp: Path, uris: list[str], realtime: bool = True, loop: bool = False) -> EdgeConfig:
    """Bench settings; SIGNET_* variables may point at other models (e.g. a candidate)."""
    return load_settings(
        EdgeConfig,
        None,
        environ=os.environ,
        overrides={
            "device": {"id": "bench-edge", "site": "bench"},
            "source": {"uri": uris[0], "also": uris[1:], "settle_s": 0, "realtime": realtime, "loop": loop},
            "store": {"path": str(tmp / "edge.db"), "images_dir": str(tmp / "images"), "min_free_mb": 0},
            "pipeline": {"workers": 2},
            "sync": {"enabled": False},
            "kiosk": {"enabled": False},
            "metrics": {"port": None},
        },
    )


class RssSampler:
    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, tree_rss_mb())

    def stop(self) -> float:
        self._stop.set()
        return self.peak


def _inbox(tmp: Path, quick: bool) -> tuple[Path, int]:
    inbox = tmp / "inbox"
    inbox.mkdir(parents=True)
    images = sorted(PAGES.glob("*"))[: 10 if quick else None]
    for p in images:
        shutil.copy(p, inbox / p.name)
    pages = len(images)
    if not quick:
        import pypdfium2 as pdfium

        for pdf in sorted(PDFS.glob("*.pdf")):
            shutil.copy(pdf, inbox / pdf.name)
            pages += len(pdfium.PdfDocument(str(pdf)))
    return inbox, pages


def bench_live(tmp: Path) -> dict[str, float]:
    """Realtime playback of the bundled video: start->first frame, latency, fps, RSS."""
    cfg = _cfg(tmp / "live", [f"file://{VIDEO}"], realtime=True)
    t0 = time.monotonic()
    app = EdgeApp(cfg, environ={})
    app.start()
    assert app.pipeline is not None
    view = app.pipeline.views[0]
    while view.seq == 0:
        time.sleep(0.01)
    first = time.monotonic() - t0
    rss = RssSampler()
    fps_samples = []
    while app.pipeline.sources[0].state != "ended":  # type: ignore[union-attr]
        time.sleep(1.0)
        fps_samples.append(app.pipeline.live_fps())
    deadline = time.monotonic() + 30
    while app.pipeline._busy() and time.monotonic() < deadline:
        time.sleep(0.1)
    lat = list(app.pipeline.still_latency_ms)
    dropped = sum(app.pipeline.dropped().values())
    docs = app.store.count_results() if app.store else 0
    app.stop()
    peak = rss.stop()
    return {
        "start_to_first_frame_s": round(first, 2),
        "overlay_fps_realtime": round(statistics.median(fps_samples[1:-1] or fps_samples), 1),
        "frames_dropped_realtime": dropped,
        "still_to_result_ms_median": round(statistics.median(lat), 0) if lat else float("nan"),
        "documents_read": docs,
        "rss_mb_peak": round(peak, 0),
    }


def bench_capacity(tmp: Path, seconds: float) -> dict[str, float]:
    """Unpaced looping video + the scanner folder at once: overlay fps while reading runs."""
    inbox, _ = _inbox(tmp / "cap", quick=True)
    cfg = _cfg(tmp / "cap", [f"file://{VIDEO}", f"folder://{inbox}"], realtime=False, loop=True)
    app = EdgeApp(cfg, environ={})
    app.start()
    assert app.pipeline is not None
    rss = RssSampler()
    time.sleep(3)
    view = app.pipeline.views[0]
    s0, t0 = view.seq, time.monotonic()
    reading = 0
    while time.monotonic() - t0 < seconds:
        time.sleep(0.5)
        reading = max(reading, app.pipeline.pool.in_flight())
    fps = (view.seq - s0) / (time.monotonic() - t0)
    app.stop()
    return {
        "overlay_fps": round(fps, 1),
        "reading_in_flight_max": reading,
        "rss_mb_peak_loaded": round(rss.stop(), 0),
    }


def bench_scanner(tmp: Path, quick: bool) -> dict[str, float]:
    inbox, pages = _inbox(tmp / "scan", quick)
    cfg = _cfg(tmp / "scan", [f"folder://{inbox}"])
    t0 = time.monotonic()
    app = EdgeApp(cfg, environ={})
    app.start()
    assert app.store is not None
    while app.store.count_results() < pages and time.monotonic() - t0 < 900:
        time.sleep(0.2)
    took = time.monotonic() - t0
    stored = app.store.count_results()
    app.stop()
    return {"scanner_pages": stored, "scanner_pages_per_min": round(stored / took * 60, 1)}


def baselines(tmp: Path, quick: bool) -> dict[str, float]:
    """The same work without the runtime: detector loop, in-process detect+read, sequential files."""
    import cv2

    from edge.detect import load_detector
    from edge.pipeline import process_file
    from edge.read import PageReader

    cfg = _cfg(tmp / "base", ["folder:///nonexistent"])
    det = load_detector(cfg.detector)
    cap = cv2.VideoCapture(str(VIDEO))
    frames = []
    while len(frames) < 60:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    t0 = time.perf_counter()
    for f in frames:
        det.detect(f)
    det_fps = len(frames) / (time.perf_counter() - t0)
    reader = PageReader(cfg.reader)
    meta = json.loads((VIDEO.with_suffix(".json")).read_text())
    cap = cv2.VideoCapture(str(VIDEO))
    still_frames = {d["still_start"] + 10 for d in meta["documents"]}
    lat = []
    i = 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        if i in still_frames:
            t = time.perf_counter()
            reader.read(img, det.detect(img), "webcam")
            lat.append((time.perf_counter() - t) * 1000)
        i += 1
    inbox, _ = _inbox(tmp / "base", quick)
    t0 = time.perf_counter()
    n = 0
    for p in sorted(inbox.iterdir()):
        if p.is_file():
            n += len(process_file(p, cfg, det, reader))
    seq_ppm = n / (time.perf_counter() - t0) * 60
    return {
        "baseline_detector_fps": round(det_fps, 1),
        "baseline_detect_read_ms_median": round(statistics.median(lat), 0),
        "baseline_sequential_pages_per_min": round(seq_ppm, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 sample pages, shorter capacity run")
    args = ap.parse_args()
    cfg = load_settings(EdgeConfig, None, environ=os.environ)
    missing = [str(p) for p in (cfg.detector.model, cfg.reader.classifier) if not (REPO / p).exists()]
    if missing or not VIDEO.exists():
        print(
            f"bench/edge.py: missing {', '.join(missing) or VIDEO}: build the models and samples first",
            file=sys.stderr,
        )
        return 2
    os.chdir(REPO)
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as d:
        tmp = Path(d)
        now: dict[str, float] = {}
        now.update(bench_live(tmp))
        now.update(bench_capacity(tmp, 8 if args.quick else 15))
        now.update(bench_scanner(tmp, args.quick))
        now.update(baselines(tmp, args.quick))
    now["rss_mb_peak"] = max(now["rss_mb_peak"], now.pop("rss_mb_peak_loaded"))
    ratios = {
        "overlay_fps": ("baseline_detector_fps", "of the detector alone"),
        "still_to_result_ms_median": ("baseline_detect_read_ms_median", "of in-process detect+read"),
        "scanner_pages_per_min": ("baseline_sequential_pages_per_min", "of sequential process_file"),
    }
    prev: dict[str, float] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    print(f"{'metric':34} {'now':>10} {'previous':>10}  target / baseline")
    for key, value in now.items():
        before = prev.get(key)
        line = f"{key:34} {value:>10} {before if before is not None else '-':>10}"
        if key in TARGETS:
            op, limit = TARGETS[key]
            ok = value >= limit if op == ">=" else value <= limit
            line += f"  {'meets' if ok else 'MISSES'} {op} {limit:g}"
        if key in ratios:
            base_key, what = ratios[key]
            line += f"; {value / now[base_key]:.2f}x {what}"
        print(line)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
