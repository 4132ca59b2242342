"""`signet demo` for real: broker, cloud web, ingest, MLflow and two edge devices as processes,
the bundled samples in, the summary read back from the cloud's REST API."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_demo_runs_the_whole_chain_on_the_bundled_samples(tmp_path: Path) -> None:
    for artifact in ("detector.onnx", "classifier.int8.onnx"):
        if not (REPO / "models" / "artifacts" / artifact).exists():
            pytest.skip(f"models/artifacts/{artifact} not built (see its model card)")
    proc = subprocess.run(
        [sys.executable, "-m", "signet.cli", "demo", "--workdir", str(tmp_path / "demo"), "--timeout", "480"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=560,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    # Every scanned page (30 images and 7 PDF pages) reached the cloud as documents.
    m = re.search(r"(\d+) documents in the cloud", out)
    assert m, out[-4000:]
    assert int(m.group(1)) >= 32  # 30 images + 2 PDFs, plus whatever the kiosk saw
    branch_rows = [line for line in out.splitlines() if line.startswith("branch-01")]
    assert len(branch_rows) == 32
    assert any("scanner-batch.pdf" in r and re.search(r"\s4\s", r) for r in branch_rows)
    assert "Whole chain in" in out and "Dashboard: http://127.0.0.1:" in out
    assert any(line.startswith("kiosk-01") for line in out.splitlines())  # the webcam video
    # Every service was stopped: no process of the demo is left behind.
    import psutil

    left = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if str(tmp_path) in " ".join(p.info["cmdline"] or []):
                left.append(p.info["cmdline"])
        except psutil.Error:
            continue
    assert left == []


def test_given_services_that_ended_when_checked_then_only_an_error_exit_is_a_failure(tmp_path: Path) -> None:
    """``signet demo --serve`` keeps the chain up when the kiosk's video file has ended (the
    device exits 0 once every source has ended) and stops it when a service fails."""
    from signet.demo import Services

    (tmp_path / "logs").mkdir()
    services = Services(tmp_path)
    done = services.start("edge-kiosk", [sys.executable, "-c", "pass"])
    broken = services.start("web", [sys.executable, "-c", "raise SystemExit(3)"])
    up = services.start("ingest", [sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        done.wait(10)
        broken.wait(10)
        assert sorted(services.check()) == ["edge-kiosk", "web"]
        assert services.failed() == ["web"]
        assert up.poll() is None
    finally:
        services.stop()
