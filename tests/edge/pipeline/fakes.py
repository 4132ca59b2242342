"""Small behaving stand-ins for the stage callables (detector, reader) in pipeline unit tests.

They do real, checkable work (the reader reports the page's mean brightness as its text), so a
test can tell which page produced which Result. Module-level so worker processes can import them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.contract import DocType, Fields, ModelRef


class FakeDetector:
    """One detection in the top-left quarter of every image; counts calls."""

    name = "fake-detector"

    def __init__(self, version: str = "1") -> None:
        self.version = version
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[Any]:
        from edge.detect import Detection

        self.calls += 1
        return [Detection(box=(0.1, 0.1, 0.4, 0.3), score=0.9)]


class FakeReader:
    """Reads a page as its mean grey level; ``cfg.languages[0]`` may ask it to stall or crash."""

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.mode = cfg.languages[0] if cfg.languages else "eng"

    def read(self, image: np.ndarray, signatures: list[Any], profile: str) -> Any:
        from edge.read import Reading

        if self.mode == "stall":
            time.sleep(3600)
        if self.mode == "crash":
            os._exit(3)
        if self.mode.startswith("slow"):
            time.sleep(float(self.mode[4:] or 0.5))
        log = os.environ.get("FAKE_READER_LOG")  # unset: no log (it once wrote /nonexistent as root)
        if log:
            with Path(log).open("a") as fh:
                fh.write(f"{int(image.mean())}\n")
        return Reading(
            text=f"mean {int(image.mean())} {profile} sigs {len(signatures)}",
            fields=Fields(),
            doc_type=DocType(label="letter", confidence=0.9, needs_review=False),
            ocr=ModelRef(name="fake-ocr", version="1"),
            classifier=ModelRef(name="fake-classifier", version=self.mode),
            timings_ms={"total": 1.0},
        )


def fake_reader_factory(cfg: Any) -> FakeReader:
    return FakeReader(cfg)
