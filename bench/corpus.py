"""Corpus generation speed: pages/s with one worker (the baseline) and with all cores, and the
ratio, for the scan profile (the issue asks for at least 5 pages/s per core) and the webcam one.

    .venv/bin/python bench/corpus.py [--pages N] [--profile scan|webcam|both]

Wall-clock rates depend on what else runs on the machine, so the CPU time per page of the
single-worker run is printed too (pages per CPU-second = what one free core would do).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.corpus.writer import generate


def _cpu() -> float:
    ru_self, ru_kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru_self.ru_utime + ru_self.ru_stime + ru_kids.ru_utime + ru_kids.ru_stime


def run(pages: int, profile: str, workers: int) -> tuple[float, float]:
    out = Path(tempfile.mkdtemp(prefix="signet-bench-corpus-"))
    try:
        c0, t0 = _cpu(), time.perf_counter()
        generate(out, pages, seed=9000, profile=profile, lang="mixed", workers=workers)
        return pages / (time.perf_counter() - t0), pages / max(1e-9, _cpu() - c0)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=60)
    ap.add_argument("--profile", choices=["scan", "webcam", "both"], default="both")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"corpus bench: {args.pages} pages per run, {cores} cores, load average {load:.1f}")
    for profile in ["scan", "webcam"] if args.profile == "both" else [args.profile]:
        one, one_cpu = run(args.pages, profile, 1)
        many, _ = run(args.pages * cores, profile, cores)
        print(
            f"{profile:7s} 1 worker: {one:6.2f} pages/s ({one_cpu:.2f} pages per CPU-second)   "
            f"{cores} workers: {many:6.2f} pages/s   ratio {many / one:.2f}x"
        )
        if profile == "scan" and one_cpu < 5:
            print(f"WARNING: scan profile below 5 pages per CPU-second ({one_cpu:.2f})")


if __name__ == "__main__":
    main()
