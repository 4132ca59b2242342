"""Rollout to the real edge process: MLflow server, the cloud app over HTTP, Mosquitto and
`signet edge run` as a subprocess. Two versions of the shipped detector are registered; the
admin promotes the second; the edge downloads it, verifies it, self-tests it, swaps it in and says
so on its state topic; the next scanned page's Result names it."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml

from edge.config import StoreConfig
from edge.store import EdgeStore
from tests.e2e.rollout_env import MlflowServer, run_cli
from tests.support.broker import Broker
from tests.support.net import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "models" / "artifacts" / "detector.onnx"
PAGE = sorted((REPO / "samples" / "pages" / "images").glob("*"))[:1]
DEVICE, TOKEN, NAME = "dev-r", "sdt_dev-r-token-0123456789abcdef", "signet-detector"


def _restamped(src: Path, dst: Path, version: str) -> Path:
    """The same network under another version (different bytes, so another sha256)."""
    import onnx

    proto = onnx.load(str(src))
    for p in proto.metadata_props:
        if p.key == "signet.version":
            p.value = json.dumps(version)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(dst))
    return dst


def _register(mlflow_url: str, onnx_path: Path) -> str:
    from models.tracking import tracked_run

    with tracked_run("detector", {"source": onnx_path.name}, tracking_uri=mlflow_url) as t:
        t.metrics({"val_map50": 0.8})
        return t.register_onnx(onnx_path, NAME)


def _state_watch(port: int) -> tuple[mqtt.Client, queue.Queue[dict]]:
    got: queue.Queue[dict] = queue.Queue()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="state-watch")
    c.on_message = lambda _c, _u, m: got.put(json.loads(m.payload))
    c.connect("127.0.0.1", port)
    c.subscribe(f"signet/v1/{DEVICE}/cmd/model/state", qos=1)
    c.loop_start()
    return c, got


@pytest.mark.skipif(not SHIPPED.is_file() or not PAGE, reason="shipped detector or sample pages not built")
def test_given_a_promoted_version_when_the_real_edge_runs_then_it_switches_and_results_name_it(
    tmp_path: Path,
) -> None:
    from werkzeug.serving import make_server

    from cloud.app import create_app
    from cloud.auth.tokens import hash_token
    from cloud.config import CloudConfig
    from cloud.db.engine import make_engine, session_scope
    from cloud.db.models import Device, Site

    broker = Broker(tmp_path / "broker")
    broker.start()
    mlflow = MlflowServer(tmp_path / "mlflow")
    mlflow.start()
    app_port = free_port()
    settings = {
        "database": {"url": f"sqlite:///{tmp_path}/cloud.db"},
        "web": {"secret_key": "test-secret"},
        "ingest": {"host": "127.0.0.1", "port": broker.port},
        "mlflow": {
            "tracking_uri": mlflow.url,
            "packages_dir": str(tmp_path / "packages"),
            "state_db": str(tmp_path / "rollouts.db"),
            "device_base_url": f"http://127.0.0.1:{app_port}",
        },
    }
    cloud_yaml = tmp_path / "cloud.yaml"
    cloud_yaml.write_text(yaml.safe_dump(settings))
    engine = make_engine(settings["database"]["url"])
    app = create_app(
        CloudConfig.model_validate(settings),
        engine=engine,
        blueprints=[("cloud.auth.views", "bp"), ("cloud.registry.web", "bp")],
    )
    with session_scope(engine) as s:
        s.add(Site(id="lab"))
        s.flush()
        s.add(Device(id=DEVICE, site_id="lab", token_hash=hash_token(TOKEN)))
    server = make_server("127.0.0.1", app_port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    wait_for_port(app_port)
    watcher, states = _state_watch(broker.port)
    edge = None
    try:
        _register(mlflow.url, SHIPPED)
        v2 = _register(mlflow.url, _restamped(SHIPPED, tmp_path / "v2" / "detector.onnx", "1.3.0-rc2"))
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        edge_yaml = tmp_path / "edge.yaml"
        edge_yaml.write_text(
            yaml.safe_dump(
                {
                    "device": {"id": DEVICE, "site": "lab"},
                    "source": {"uri": f"folder://{inbox}", "settle_s": 0.2},
                    "detector": {"model": str(SHIPPED)},
                    "pipeline": {"workers": 1},
                    "store": {
                        "path": str(tmp_path / "edge.db"),
                        "images_dir": str(tmp_path / "images"),
                        "min_free_mb": 0,
                    },
                    "sync": {
                        "broker": {"port": broker.port, "reconnect_min_s": 0.2, "reconnect_max_s": 1.0},
                        "cloud_url": f"http://127.0.0.1:{app_port}",
                        "images": "none",
                    },
                    "kiosk": {"enabled": False},
                    "metrics": {"port": None},
                    "rollout": {"models_dir": str(tmp_path / "models")},
                }
            )
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNET_")}
        env["SIGNET_SYNC__TOKEN"] = TOKEN
        edge = subprocess.Popen(
            [sys.executable, "-m", "signet.cli", "edge", "run", "--config", str(edge_yaml)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        cli_env = {**os.environ, "SIGNET_CONFIG": str(cloud_yaml), "SIGNET_LOG_LEVEL": "WARNING"}
        promoted = run_cli(["cloud", "models", "promote", NAME, v2, "--fleet"], cli_env, REPO)
        assert promoted.returncode == 0, promoted.stderr

        seen: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert edge.poll() is None, edge.stdout.read().decode()[-3000:] if edge.stdout else ""
            try:
                st = states.get(timeout=1.0)
            except queue.Empty:
                continue
            if st.get("data", {}).get("version") == v2:
                seen.append(st["state"])
                if st["state"] in ("active", "failed"):
                    break
        assert seen and seen[-1] == "active", seen
        assert {"downloading", "verifying", "testing"} <= set(seen), seen

        shutil.copy(PAGE[0], inbox / PAGE[0].name)  # the next page, after the swap
        store = EdgeStore(
            StoreConfig(path=tmp_path / "edge.db", images_dir=tmp_path / "images", min_free_mb=0)
        )
        deadline = time.monotonic() + 120
        results = []
        while time.monotonic() < deadline and not results:
            results = store.recent_results(5)
            time.sleep(0.5)
        assert results, "the page was not processed"
        assert results[0].models.detector.name == NAME and results[0].models.detector.version == v2
        print(f"edge states for v{v2}: {' -> '.join(dict.fromkeys(seen))}; Result names {NAME} v{v2}")
    finally:
        if edge is not None and edge.poll() is None:
            edge.send_signal(signal.SIGTERM)
            try:
                edge.wait(60)
            except subprocess.TimeoutExpired:
                edge.kill()
        watcher.loop_stop()
        watcher.disconnect()
        server.shutdown()
        mlflow.stop()
        broker.stop()
        engine.dispose()
