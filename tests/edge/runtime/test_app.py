"""EdgeApp wiring with stand-in stage callables: kiosk API and stream, Prometheus endpoint, health,
intake paused on a full disk, drain on stop. (The real detector and reader run in test_integration.)"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import requests

from edge.app import EdgeApp
from edge.config import EdgeConfig
from edge.health import parse_tegrastats, thermal_zones
from tests.edge.pipeline.fakes import FakeDetector, fake_reader_factory
from tests.edge.sources.test_sources import video


def _cfg(tmp_path: Path, *uris: str, **extra: object) -> EdgeConfig:
    data = {
        "device": {"id": "dev-test", "site": "lab"},
        "source": {"uri": uris[0], "also": list(uris[1:]), "settle_s": 0, "realtime": True, "loop": True},
        "store": {"path": str(tmp_path / "edge.db"), "images_dir": str(tmp_path / "img"), "min_free_mb": 0},
        "pipeline": {"workers": 1, "still_s": 0.2},
        "sync": {"enabled": False},
        "kiosk": {"port": 0},
        "metrics": {"port": 0},
    }
    data.update(extra)
    return EdgeConfig.model_validate(data)


def _wait(pred, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_given_a_camera_and_a_scan_folder_then_the_kiosk_serves_frames_results_queue_and_health(
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    page = np.full((300, 220, 3), 230, np.uint8)
    cv2.putText(page, "INVOICE", (10, 80), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 0, 0), 2)
    cv2.imwrite(str(inbox / "scan.png"), page)
    (inbox / "junk.txt").write_text("not a page")
    cam = video(tmp_path / "cam.avi", frames=30, size=(320, 240))
    app = EdgeApp(
        _cfg(tmp_path, f"file://{cam}", f"folder://{inbox}"),
        environ={},
        detector=FakeDetector(),
        reader_factory=fake_reader_factory,
    )
    app.start()
    try:
        base = f"http://127.0.0.1:{app.kiosk_port}"
        html = requests.get(base + "/", timeout=5).text
        assert "stream.mjpg" in html and "Scanner queue" in html
        assert (
            "http" not in html.replace(base, "").split("<body")[1].split("stream.mjpg")[0]
        )  # no remote assets
        assert _wait(lambda: requests.get(base + "/api/state", timeout=5).json()["last"] is not None)
        st = requests.get(base + "/api/state", timeout=5).json()
        assert st["last"]["signature_count"] == 1
        assert st["mode"] == "camera" and st["has_queue"]
        assert _wait(
            lambda: any(
                f["name"] == "junk.txt"
                for f in requests.get(base + "/api/state", timeout=5).json()["queue"]["failed"]
            )
        )
        # the stream: a multipart response whose first part is a JPEG
        with requests.get(base + "/stream.mjpg", stream=True, timeout=10) as r:
            assert r.headers["Content-Type"].startswith("multipart/x-mixed-replace")
            buf = b""
            for chunk in r.iter_content(4096):
                buf += chunk
                if b"\xff\xd9" in buf:
                    break
        start = buf.index(b"\xff\xd8")
        frame = cv2.imdecode(
            np.frombuffer(buf[start : buf.index(b"\xff\xd9") + 2], np.uint8), cv2.IMREAD_COLOR
        )
        assert frame.shape == (240, 320, 3)
        metrics = requests.get(f"http://127.0.0.1:{app.metrics_port}/metrics", timeout=5).text
        assert "signet_edge_fps" in metrics and 'signet_edge_queue_depth{queue="pages"}' in metrics
        assert "signet_edge_stage_latency_ms" in metrics
        h = app.monitor.snapshot()
        assert h.fps > 0 and h.rss_mb and h.rss_mb > 50 and h.disk_free_mb
        assert h.pages_processed >= 1
    finally:
        assert app.stop()


def test_given_the_disk_below_the_floor_then_intake_pauses_with_the_reason_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cv2.imwrite(str(inbox / "scan.png"), np.full((100, 100, 3), 200, np.uint8))
    cfg = _cfg(tmp_path, f"folder://{inbox}")
    cfg.store.min_free_mb = 10**9  # the real statvfs of this disk against a floor no disk meets
    app = EdgeApp(cfg, environ={}, detector=FakeDetector(), reader_factory=fake_reader_factory)
    app.start()
    try:
        assert app.pipeline is not None
        assert _wait(lambda: app.pipeline.intake_paused is not None, timeout=10)
        h = app.monitor.snapshot()
        assert h.intake_paused and "disk full" in h.intake_paused
        state = requests.get(f"http://127.0.0.1:{app.kiosk_port}/api/state", timeout=5).json()
        assert "disk full" in state["health"]["intake_paused"]
        assert app.store.count_results() == 0
        # Space comes back: intake resumes and the waiting file is processed.
        app.store.cfg.min_free_mb = 0
        assert _wait(lambda: (inbox / "done" / "scan.png").exists(), timeout=15)
    finally:
        app.stop()
    assert (inbox / "done" / "scan.png").exists()


def test_tegrastats_and_thermal_readers() -> None:
    line = "RAM 2448/3964MB (lfb 5x2MB) CPU [12%@1479,5%@1479] EMC_FREQ 0% GR3D_FREQ 0% PLL@38C CPU@41.5C PMIC@50C GPU@39C AO@46C thermal@40.25C"
    t = parse_tegrastats(line)
    assert t["cpu"] == 41.5 and t["gpu"] == 39.0
    zones = thermal_zones()
    assert all(isinstance(v, float) for v in zones.values())


def test_given_sigterm_semantics_then_run_drains_and_returns_zero(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    app = EdgeApp(
        _cfg(tmp_path, f"folder://{inbox}", kiosk={"enabled": False}, metrics={"port": None}),
        environ={},
        detector=FakeDetector(),
        reader_factory=fake_reader_factory,
    )
    import os
    import signal

    code: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        return
    threading.Timer(3.0, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    code.append(app.run())
    assert code == [0]


def test_given_sync_enabled_then_stored_results_reach_a_real_broker_and_the_outbox_empties(
    tmp_path: Path, broker
) -> None:  # type: ignore[no-untyped-def]
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from edge.contract import ModelRef, Result, decode, result_topic

    got: list[Result] = []
    sub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="test-sub")
    sub.on_message = lambda c, u, m: got.append(decode(Result, m.payload))
    sub.connect("127.0.0.1", broker.port)
    sub.subscribe(result_topic("dev-test"), qos=1)
    sub.loop_start()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cv2.imwrite(str(inbox / "scan.png"), np.full((120, 90, 3), 180, np.uint8))
    cfg = _cfg(
        tmp_path,
        f"folder://{inbox}",
        sync={"enabled": True, "images": "none", "broker": {"port": broker.port}},
        kiosk={"enabled": False},
        metrics={"port": None},
    )
    app = EdgeApp(cfg, environ={}, detector=FakeDetector(), reader_factory=fake_reader_factory)
    app.start()
    try:
        assert _wait(lambda: len(got) == 1, timeout=30)
        assert app.store is not None
        assert _wait(lambda: app.store.outbox_backlog() == 0, timeout=15)
        assert got[0].result_id == app.store.recent_results(1)[0].result_id
        assert app.sync is not None and app.sync.connected
        # a model the rollout swaps in is named in the device's status from then on
        assert app.updater is not None
        artifacts = Path(__file__).resolve().parents[3] / "models" / "artifacts"
        clf, hand = artifacts / "classifier.int8.onnx", artifacts / "handwriting.onnx"
        # from the start, the status names the reader's models by the files the workers load
        from edge.read.hand import HandwritingModel

        info = HandwritingModel(hand).info
        assert app.sync.versions["handwriting"] == f"{info.name}:{info.version}"
        assert app.sync.versions["classifier"].split(":")[1] not in ("", "unknown", "unavailable")
        app.updater.swap("classifier", clf, ModelRef(name="signet-classifier", version="3"))
        app.updater.swap("handwriting", hand, ModelRef(name="signet-handwriting", version="2"))
        assert app.sync.versions["handwriting"] == "signet-handwriting:2"
        assert app.pipeline is not None
        reader = app.pipeline.reader_config()
        assert reader.handwriting == hand  # readers rebuilt on it
        # ... and on the classifier swapped in before it, not the start-up one; results name both
        # by the registry's versions
        assert reader.classifier == clf and reader.classifier_label == "signet-classifier:3"
        assert reader.handwriting_label == "signet-handwriting:2"
    finally:
        app.stop()
        sub.loop_stop()
        sub.disconnect()
