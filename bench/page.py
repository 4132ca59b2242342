"""Page benchmark: detect + OCR + fields + classify of A4 pages at 200 dpi, against a naive baseline
measured in the same run (pytesseract ``image_to_string`` on the full page, default settings).

Both run with two worker processes (both cores busy). Printed: median latency per page, pages per
minute, the ratio, and the character error rate of both against the pages' true text.

    .venv/bin/python bench/page.py [--pages 12]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_STATE: dict[str, Any] = {}


def _init_ours(classifier: str) -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    from edge.config import DetectorConfig, ReaderConfig
    from edge.read import PageReader

    _STATE["reader"] = PageReader(ReaderConfig(classifier=Path(classifier)))
    try:
        from edge.detect import load_detector

        _STATE["detector"] = load_detector(DetectorConfig(threads=1))
        _STATE["detector_note"] = ""
    except Exception as exc:  # the detector is another part: time the rest and say so
        _STATE["detector"] = None
        _STATE["detector_note"] = f"detector unavailable ({exc}); timed without detection"


def _run_ours(path: str) -> tuple[float, str, str]:
    import cv2

    img = cv2.imread(path, cv2.IMREAD_COLOR)
    t0 = time.perf_counter()
    dets = _STATE["detector"].detect(img) if _STATE["detector"] is not None else []
    reading = _STATE["reader"].read(img, dets, "scan")
    return time.perf_counter() - t0, reading.text, _STATE["detector_note"]


def _init_naive() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"


def _run_naive(path: str) -> tuple[float, str, str]:
    import cv2
    import pytesseract

    img = cv2.imread(path, cv2.IMREAD_COLOR)
    t0 = time.perf_counter()
    text = pytesseract.image_to_string(img)
    return time.perf_counter() - t0, text, ""


def _measure(
    name: str, init: Any, initargs: tuple, fn: Any, paths: list[str], workers: int
) -> dict[str, Any]:
    with mp.get_context("spawn").Pool(workers, initializer=init, initargs=initargs) as pool:
        # One warm-up page per worker: model loading is not per-page cost.
        pool.map(fn, paths[:workers])
        t0 = time.perf_counter()
        results = pool.map(fn, paths, chunksize=1)
        wall = time.perf_counter() - t0
    lat = [r[0] for r in results]
    return {
        "name": name,
        "median_s": statistics.median(lat),
        "ppm": 60.0 * len(paths) / wall,
        "texts": [r[1] for r in results],
        "note": next((r[2] for r in results if r[2]), ""),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--classifier", default="models/artifacts/classifier.int8.onnx")
    args = ap.parse_args()

    import cv2

    from models.corpus import generate_page, page_seed
    from models.reading_report import cer_counts

    kinds = [
        "invoice",
        "letter",
        "contract",
        "receipt",
        "payslip",
        "purchase_order",
        "delivery_note",
        "other",
    ]
    tmp = Path(tempfile.mkdtemp(prefix="bench-page-"))
    paths, truths = [], []
    for i in range(args.pages):
        page = generate_page(page_seed(4000, i), "scan", ("en", "fr")[i % 2], kinds[i % len(kinds)], dpi=200)
        p = tmp / f"{i}.png"
        cv2.imwrite(str(p), page.image)
        paths.append(str(p))
        truths.append(page.meta["text"])
    h, w = cv2.imread(paths[0]).shape[:2]
    print(
        f"{args.pages} corpus scan pages at 200 dpi (first {w}x{h}), {args.workers} worker processes, load average {os.getloadavg()[0]:.1f}"
    )

    ours = _measure("ours", _init_ours, (args.classifier,), _run_ours, paths, args.workers)
    naive = _measure("naive", _init_naive, (), _run_naive, paths, args.workers)
    for r in (ours, naive):
        d = sum(cer_counts(t, x)[0] for t, x in zip(truths, r["texts"], strict=True))
        n = sum(cer_counts(t, x)[1] for t, x in zip(truths, r["texts"], strict=True))
        r["cer"] = d / max(1, n)
    label = {"ours": "ours  (detect+OCR+fields+classify)", "naive": "naive (image_to_string, defaults)"}
    for r in (ours, naive):
        print(
            f"{label[r['name']]}: median {r['median_s']:.2f} s/page, {r['ppm']:.1f} pages/min, CER {r['cer']:.2%}"
        )
    if ours["note"]:
        print(f"note: {ours['note']}")
    speed = naive["median_s"] / max(1e-9, ours["median_s"])
    print(
        f"ratio: ours is {speed:.2f}x the naive speed (median latency), throughput {ours['ppm'] / max(1e-9, naive['ppm']):.2f}x"
    )
    faster = ours["median_s"] < naive["median_s"]
    no_worse = ours["cer"] <= naive["cer"]
    target = ours["median_s"] < 1.5 and ours["ppm"] >= 60
    print(
        f"verdict: faster {'yes' if faster else 'NO'}; no less accurate {'yes' if no_worse else 'NO'}; "
        f"target (<1.5 s median, >=60 pages/min) {'met' if target else 'NOT met'} on this machine"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
