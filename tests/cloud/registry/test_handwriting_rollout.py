"""A handwriting model rolled out through the whole chain, with real pieces: registered in MLflow
(SQLite file), promoted by the cloud, told to a real ``EdgeApp`` over Mosquitto, downloaded over
HTTP, self-tested, swapped into the reading workers; the page read after it comes back through
the broker to the cloud's ingest, names the registry version, and is counted in that version's
live figures, as is the page read before it with the same file as shipped. (The detector's rollout paths are tests/cloud/registry/test_registry.py.)"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edge.contract import Result, decode, result_topic
from edge.rollout import write_golden
from models.tracking import tracked_run
from tests.e2e.rollout_env import AppServer, wait_until
from tests.support.broker import Broker

NAME = "signet-handwriting"
DEVICE, SITE, TOKEN = "d-hw", "west", "sdt_d-hw-secret-token-value"
SHIPPED = Path(__file__).resolve().parents[3] / "models" / "artifacts" / "handwriting.onnx"


def _page(number: str) -> np.ndarray:
    img = np.full((1100, 850, 3), 255, np.uint8)
    for i, line in enumerate([f"INVOICE {number}", "Date: 2026-03-14", "Total due: 412.50 EUR"]):
        cv2.putText(img, line, (60, 120 + 60 * i), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (0, 0, 0), 2, cv2.LINE_AA)
    return img


@pytest.fixture()
def chain(tmp_path: Path) -> Iterator[dict[str, Any]]:
    from cloud.app import create_app
    from cloud.auth.tokens import hash_token
    from cloud.config import CloudConfig
    from cloud.db.engine import make_engine, session_scope
    from cloud.db.models import Device, Site
    from cloud.ingest.worker import IngestWorker
    from cloud.registry.rollout import StateWatcher
    from cloud.registry.service import make_services

    uri = f"sqlite:///{tmp_path}/mlflow/mlflow.db"
    model = tmp_path / "reg" / "handwriting.onnx"
    model.parent.mkdir()
    shutil.copy(SHIPPED, model)
    rng = np.random.default_rng(7)
    golden = write_golden(
        model.with_name("handwriting.golden.npz"),
        model,
        [{"crops": rng.random((4, 1, 32, 128), dtype=np.float32)}],
    )
    with tracked_run("handwriting", {"seed": 7}, tracking_uri=uri) as t:
        t.metrics({"val_auc": 0.99})
        version = t.register_onnx(model, NAME, golden=golden, kind="handwriting")
    broker = Broker(tmp_path / "broker")
    broker.start()
    cfg = CloudConfig.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path}/cloud.db"},
            "web": {"secret_key": "k" * 32},
            "ingest": {"port": broker.port, "client_id": "ingest-hw", "sweep_interval_s": 0.5},
            "mlflow": {
                "tracking_uri": uri,
                "packages_dir": str(tmp_path / "packages"),
                "state_db": str(tmp_path / "rollouts.db"),
                "device_base_url": "http://127.0.0.1:0",  # replaced below, once the port is known
            },
        }
    )
    engine = make_engine(cfg.database.url)
    app = create_app(cfg, engine=engine, blueprints=[("cloud.registry.web", "bp")], testing=True)
    server = AppServer(app)
    cfg.mlflow.device_base_url = server.url
    with session_scope(engine) as s:
        s.add(Site(id=SITE))
        s.flush()
        s.add(Device(id=DEVICE, site_id=SITE, token_hash=hash_token(TOKEN)))
    server.start()
    svc = make_services(cfg)
    watcher = StateWatcher(svc.store, "127.0.0.1", broker.port)
    ingest = IngestWorker(cfg.ingest, engine)
    watcher.start()
    ingest.start()
    try:
        yield {"svc": svc, "engine": engine, "broker": broker, "version": version, "root": tmp_path}
    finally:
        ingest.stop()
        watcher.stop()
        server.stop()
        broker.stop()
        engine.dispose()


def test_given_a_handwriting_version_promoted_when_the_device_runs_it_then_its_pages_name_and_count_it(
    chain: dict[str, Any],
) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from cloud.db.engine import session_scope
    from cloud.registry.quality import live_metrics
    from cloud.registry.registry import page_labels
    from cloud.registry.service import promote
    from edge.app import EdgeApp
    from edge.config import EdgeConfig

    root: Path = chain["root"]
    version: str = chain["version"]
    inbox = root / "inbox"
    inbox.mkdir()
    cfg = EdgeConfig.model_validate(
        {
            "device": {"id": DEVICE, "site": SITE},
            "source": {"uri": f"folder://{inbox}", "settle_s": 0},
            "store": {"path": str(root / "edge.db"), "images_dir": str(root / "img"), "min_free_mb": 0},
            "pipeline": {"workers": 1},
            "sync": {
                "enabled": True,
                "images": "none",
                "broker": {"port": chain["broker"].port},
                "token": TOKEN,
            },
            "rollout": {"models_dir": str(root / "models")},
            "kiosk": {"enabled": False},
            "metrics": {"port": None},
        }
    )
    got: list[Result] = []
    sub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="test-sub")
    sub.on_message = lambda c, u, m: got.append(decode(Result, m.payload))
    sub.connect("127.0.0.1", chain["broker"].port)
    sub.subscribe(result_topic(DEVICE), qos=1)
    sub.loop_start()
    edge = EdgeApp(cfg, environ={})  # the shipped detector; the real reader, in its workers
    edge.start()
    try:
        assert edge.sync is not None and edge.pipeline is not None
        shipped = edge.sync.versions["handwriting"]
        assert shipped.startswith(f"{NAME}:") and shipped != f"{NAME}:{version}"  # the file's own

        def counted() -> int:
            labels = page_labels(chain["svc"].registry.versions(NAME, with_metrics=False))[version]
            with session_scope(chain["engine"]) as s:
                return live_metrics(s, "handwriting", NAME, version, labels).pages

        # Before any rollout the device names the file it shipped with by the label inside it;
        # the registry knows that label for the version registered from the same file.
        cv2.imwrite(str(inbox / "before.png"), _page("INV-2040"))
        wait_until(lambda: len(got) >= 1, timeout=120, what="the first page's result on the broker")
        assert got[0].models.handwriting is not None
        assert f"{got[0].models.handwriting.name}:{got[0].models.handwriting.version}" == shipped
        wait_until(lambda: counted() == 1, timeout=60, what="the cloud counts it for the registered version")
        promote(chain["svc"], NAME, version, fleet=True)
        label = f"{NAME}:{version}"
        wait_until(  # swapped into the readers, then named in the status the Fleet page shows
            lambda: edge.sync.versions["handwriting"] == label,  # type: ignore[union-attr]
            timeout=120,
            what="handwriting model swapped in",
        )
        assert edge.pipeline.reader_config().handwriting_label == label
        installed = edge.pipeline.reader_config().handwriting
        assert installed is not None and (root / "models" / "handwriting") in installed.parents
        wait_until(
            lambda: any(
                s["device_id"] == DEVICE and s["version"] == version and s["state"] == "active"
                for s in chain["svc"].store.device_states()
            ),
            timeout=60,
            what="the cloud sees the device active on it",
        )
        cv2.imwrite(str(inbox / "after.png"), _page("INV-2041"))
        wait_until(lambda: len(got) >= 2, timeout=120, what="the second page's result on the broker")
        r = got[1]
        assert r.models.handwriting is not None
        assert (r.models.handwriting.name, r.models.handwriting.version) == (NAME, version)
        assert "INV-2041" in (r.text or "")
        wait_until(lambda: counted() == 2, timeout=60, what="the cloud counts both pages for that version")
    finally:
        edge.stop()
        sub.loop_stop()
        sub.disconnect()
