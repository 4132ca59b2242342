"""`signet edge doctor` as a process, on this machine: what is there is ok, what is broken is
named with its fix, and the exit status says whether anything must be fixed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "models" / "artifacts" / "detector.onnx"


def _doctor(tmp_path: Path, yaml_text: str, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(yaml_text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNET_")}
    return subprocess.run(
        [sys.executable, "-m", "signet.cli", "edge", "doctor", "--config", str(cfg), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_given_a_working_station_then_every_check_passes_and_exit_zero(tmp_path: Path, broker) -> None:  # type: ignore[no-untyped-def]
    if not SHIPPED.is_file():
        pytest.skip("models/artifacts/detector.onnx not built")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    yaml_text = f"""
device: {{id: doc-01, site: lab}}
source: {{uri: "folder://{inbox}"}}
detector: {{model: {SHIPPED}}}
store: {{path: {tmp_path / "edge.db"}, images_dir: {tmp_path / "images"}}}
sync: {{broker: {{host: 127.0.0.1, port: {broker.port}}}}}
"""
    r = _doctor(tmp_path, yaml_text)
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    for name in (
        "source folder://",
        "ONNX Runtime",
        "detector: signet-detector",
        "Tesseract",
        "libtesseract",
        "MQTT broker",
        "disk",
        "handwriting model",
    ):
        assert any(line.startswith("[ok  ]") and name in line for line in out.splitlines()), (name, out)
    assert "0 to fix" in out


def test_given_missing_model_and_dead_broker_then_each_named_with_a_fix_and_exit_one(
    tmp_path: Path,
) -> None:
    yaml_text = f"""
device: {{id: doc-02, site: lab}}
source: {{uri: "folder://{tmp_path / "inbox"}"}}
detector: {{model: {tmp_path / "missing.onnx"}}}
reader: {{handwriting: {tmp_path / "no-hand.onnx"}}}
store: {{path: {tmp_path / "edge.db"}, images_dir: {tmp_path / "images"}}}
sync: {{broker: {{host: 127.0.0.1, port: {_closed_port()}}}}}
"""
    r = _doctor(tmp_path, yaml_text)
    out = r.stdout
    assert r.returncode == 1, out + r.stderr
    fails = [line for line in out.splitlines() if line.startswith("[FAIL]")]
    assert any("detector" in f for f in fails), out
    # the reader works without the handwriting model: a warning with its fix, not a failure
    assert any(
        line.startswith("[warn] handwriting model") and "not found" in line for line in out.splitlines()
    ), out
    assert any("MQTT broker" in f for f in fails), out
    assert out.count("fix:") >= len(fails) >= 2, out
    assert "to fix" in out.splitlines()[-1]
