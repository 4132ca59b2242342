"""Registry, rollout and Models page with real pieces, fast: MLflow on a SQLite file (no server;
the server path is tests/e2e/test_rollout.py, marked slow), the cloud app over HTTP, Mosquitto,
and edge devices running the real ModelUpdater."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from cloud.registry.quality import psi
from cloud.registry.rollout import canary_devices
from edge.rollout import download, write_golden
from models.tracking import tracked_run
from tests.cloud.registry.tiny_onnx import build_tiny_onnx, golden_inputs
from tests.e2e.rollout_env import TinyEdge, wait_until
from tests.support.broker import Broker
from tests.support.net import free_port

NAME = "tiny-detector"
DEVICES = {"d-a": "north", "d-b": "north", "d-c": "south", "d-d": "south", "d-trt": "east", "d-net": "east"}


def _register(uri: str, root: Path, tag: str, scale: float, golden_from: float | None = None) -> str:
    d = root / tag
    onnx = build_tiny_onnx(d / "tiny.onnx", scale=scale, version=tag)
    ref = onnx if golden_from is None else build_tiny_onnx(d / "ref.onnx", scale=golden_from)
    write_golden(d / "tiny.golden.npz", ref, golden_inputs())
    with tracked_run("detector", {"scale": scale}, tracking_uri=uri) as t:
        t.metrics({"val_map50": round(0.5 + scale / 10, 3), "val_recall": 0.8})
        t.validation_distribution(confidences=[0.9] * 8 + [0.3] * 2, signature_counts=[1] * 6 + [0] * 4)
        return t.register_onnx(onnx, NAME, golden=d / "tiny.golden.npz")


class World:
    root: Path
    broker: Broker
    svc: Any
    app: Any
    url: str
    tokens: dict[str, str]
    v1: str
    v2: str
    bad: str
    edges: list[TinyEdge]

    def edge(self, device: str, shipped: Path, backend: str = "onnxruntime") -> TinyEdge:
        e = TinyEdge(
            device, self.root / "edges" / device, self.broker.port, self.tokens[device], shipped, backend
        )
        e.start()
        self.edges.append(e)
        return e


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from werkzeug.serving import make_server

    from cloud.app import create_app
    from cloud.auth.passwords import hash_password
    from cloud.auth.tokens import hash_token
    from cloud.config import CloudConfig
    from cloud.db.engine import make_engine, session_scope
    from cloud.db.models import Device, Site, User
    from cloud.registry.rollout import StateWatcher
    from cloud.registry.service import make_services

    w = World()
    w.root = tmp_path_factory.mktemp("registry")
    w.edges = []
    w.tokens = {d: f"sdt_{d}-secret-token-value" for d in DEVICES}
    uri = f"sqlite:///{w.root}/mlflow/mlflow.db"
    w.v1 = _register(uri, w.root, "v1", 2.0)
    w.v2 = _register(uri, w.root, "v2", 3.0)
    w.bad = _register(uri, w.root, "v3", 4.0, golden_from=9.0)
    w.broker = Broker(w.root / "broker")
    w.broker.start()
    port = free_port()
    w.url = f"http://127.0.0.1:{port}"
    cfg = CloudConfig.model_validate(
        {
            "database": {"url": f"sqlite:///{w.root}/cloud.db"},
            "web": {"secret_key": "k" * 32},
            "ingest": {"port": w.broker.port},
            "mlflow": {
                "tracking_uri": uri,
                "packages_dir": str(w.root / "packages"),
                "state_db": str(w.root / "rollouts.db"),
                "device_base_url": w.url,
            },
        }
    )
    engine = make_engine(cfg.database.url)
    w.app = create_app(
        cfg,
        engine=engine,
        blueprints=[("cloud.auth.views", "bp"), ("cloud.web", "bp"), ("cloud.registry.web", "bp")],
        testing=True,
    )
    with session_scope(engine) as s:
        s.add_all([Site(id=site) for site in sorted(set(DEVICES.values()))])
        s.flush()
        s.add_all(
            [Device(id=d, site_id=site, token_hash=hash_token(w.tokens[d])) for d, site in DEVICES.items()]
        )
        s.add(User(username="ada", password_hash=hash_password("correct horse battery"), role="admin"))
        s.add(User(username="vic", password_hash=hash_password("correct horse battery"), role="viewer"))
    server = make_server("127.0.0.1", port, w.app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    w.svc = make_services(cfg)
    watcher = StateWatcher(w.svc.store, "127.0.0.1", w.broker.port)
    watcher.start()
    try:
        yield w
    finally:
        for e in w.edges:
            e.stop()
        watcher.stop()
        server.shutdown()
        w.broker.stop()
        engine.dispose()


def _promote(w: World, version: str, **kw: Any) -> dict[str, Any]:
    from cloud.registry.service import promote

    return promote(w.svc, NAME, version, devices=list(DEVICES.items()), **kw)


def test_given_a_newer_version_when_promoted_to_the_fleet_then_the_edge_switches_and_results_carry_it(
    world: World, tmp_path: Path
) -> None:
    shipped = build_tiny_onnx(tmp_path / "shipped.onnx", scale=1.0)
    _promote(world, world.v1, fleet=True)
    e = world.edge("d-a", shipped)
    wait_until(lambda: e.detector.version == world.v1, what="edge on v1")
    _promote(world, world.v2, fleet=True)
    wait_until(lambda: e.detector.version == world.v2, what="edge on v2")
    assert e.process_page().models.detector.version == world.v2
    wait_until(lambda: e.last_state().state == "active", what="active reported")  # type: ignore[union-attr]
    states = [s.state for s in e.states if s.data["version"] == world.v2]
    assert states[0] == "downloading" and states[-1] == "active" and "testing" in states
    wait_until(
        lambda: any(
            s["device_id"] == "d-a" and s["version"] == world.v2 and s["state"] == "active"
            for s in world.svc.store.device_states()
        ),
        what="cloud sees d-a active on v2",
    )
    # one action puts the fleet back, from the version kept on the device (no download)
    prev = world.svc.rollouts.rollback_fleet("detector")
    assert prev.version == world.v1
    wait_until(lambda: e.detector.version == world.v1, what="edge back on v1")
    wait_until(
        lambda: e.last_state().detail == "restored the kept previous version",  # type: ignore[union-attr]
        what="the restore reported",
    )


def test_given_a_model_failing_its_self_test_when_targeted_then_the_edge_keeps_the_old_one_and_says_why(
    world: World, tmp_path: Path
) -> None:
    shipped = build_tiny_onnx(tmp_path / "shipped.onnx", scale=1.0)
    _promote(world, world.v1, fleet=True)
    e = world.edge("d-c", shipped)
    wait_until(lambda: e.detector.version == world.v1, what="edge on v1")
    out = _promote(world, world.bad, site="south")
    assert out["devices"] == ["d-c", "d-d"]
    st = wait_until(lambda: e.last_state() if e.last_state().state == "failed" else None, what="failure")  # type: ignore[union-attr]
    assert "testing: golden page 0 output y off by" in st.detail
    assert e.detector.version == world.v1 and e.process_page().models.detector.version == world.v1


def test_given_an_error_spike_after_a_swap_when_pages_fail_then_the_edge_rolls_back_by_itself(
    world: World, tmp_path: Path
) -> None:
    shipped = build_tiny_onnx(tmp_path / "shipped.onnx", scale=1.0)
    _promote(world, world.v1, fleet=True)
    e = world.edge("d-b", shipped)
    wait_until(lambda: e.detector.version == world.v1, what="edge on v1")
    _promote(world, world.v2, site="north")
    wait_until(lambda: e.detector.version == world.v2, what="edge on v2")
    for _ in range(5):
        e.updater.record_page(False)
    assert e.detector.version == world.v1
    st = e.last_state()
    assert st is not None and st.state == "rolled_back" and "error rate 5/5" in st.detail
    time.sleep(0.5)  # the retained target is still v2: it must not be retried
    assert e.detector.version == world.v1


def test_given_a_partial_download_when_resumed_then_only_the_rest_is_fetched_and_the_file_verifies(
    world: World, tmp_path: Path
) -> None:
    pkg = world.svc.registry.package(NAME, world.v1)
    url = f"{world.url}/api/v1/models/{NAME}/{world.v1}/package"
    assert requests.get(url, timeout=10).status_code == 401
    auth = {"Authorization": f"Bearer {world.tokens['d-a']}"}
    r = requests.get(url, headers={**auth, "Range": "bytes=100-"}, timeout=10)
    assert r.status_code == 206 and r.headers["Content-Range"] == f"bytes 100-{pkg.size - 1}/{pkg.size}"
    dest = tmp_path / "pkg.tar"
    (tmp_path / "pkg.tar.part").write_bytes(pkg.path.read_bytes()[: pkg.size // 2])
    download(url, dest, pkg.size, world.tokens["d-a"])
    assert dest.read_bytes() == pkg.path.read_bytes()


def _login(client: Any, username: str) -> str:
    """Sign in through the session cookie the way cloud.auth's login does (no password hashing per test)."""
    from cloud.auth.core import _password_version
    from cloud.db.engine import session_scope
    from cloud.db.models import User

    with session_scope(client.application.extensions["signet"].engine) as s:
        user = s.query(User).filter_by(username=username).one()
        uid, pwv = user.id, _password_version(user)
    with client.session_transaction() as sess:
        sess["uid"], sess["pwv"], sess["csrf"] = uid, pwv, "tok"
    return "tok"


def test_given_two_versions_when_an_admin_opens_the_models_page_then_metrics_compare_and_promote_work(
    world: World,
) -> None:
    client = world.app.test_client()
    _login(client, "vic")
    html = client.get(f"/models?name={NAME}&a={world.v1}&b={world.v2}").get_data(as_text=True)
    assert f"v{world.v1}" in html and f"v{world.v2}" in html and "val_map50" in html
    assert 'data-testid="compare"' in html and "Promote</button>" not in html
    assert (
        client.post(
            "/models/promote",
            data={"name": NAME, "version": world.v2, "target": "fleet", "csrf_token": "tok"},
        ).status_code
        == 403
    )

    client = world.app.test_client()
    tok = _login(client, "ada")
    html = client.get("/models").get_data(as_text=True)
    assert "Promote</button>" in html and "threshold 0.2" in html
    assert (
        client.post(
            "/models/promote", data={"name": NAME, "version": world.v2, "target": "fleet"}
        ).status_code
        == 400
    )
    before = len(world.svc.store.rollouts(100))
    resp = client.post(
        "/models/promote", data={"name": NAME, "version": world.v2, "target": "fleet", "csrf_token": tok}
    )
    assert resp.status_code == 302
    assert len(world.svc.store.rollouts(100)) == before + 1
    assert world.svc.registry.by_alias(NAME, "production").version == world.v2


def test_given_device_ids_when_choosing_a_canary_then_it_is_stable_nested_and_roughly_the_share() -> None:
    devices = [f"dev-{i:04d}" for i in range(2000)]
    ten, twenty = canary_devices(devices, 10, "m"), canary_devices(devices, 20, "m")
    assert ten == canary_devices(list(reversed(devices)), 10, "m")
    assert set(ten) < set(twenty)
    assert 150 < len(ten) < 250 and 330 < len(twenty) < 470
    assert canary_devices(devices, 10, "other-model") != ten  # each model canaries different devices


def test_given_distributions_when_measuring_psi_then_same_is_zero_and_a_shift_crosses_the_threshold() -> None:
    ref = {"0": 40.0, "1": 50.0, "2": 10.0}
    assert psi(ref, {"0": 4.0, "1": 5.0, "2": 1.0}) == pytest.approx(0.0, abs=1e-9)
    assert psi(ref, {"0": 80.0, "1": 15.0, "2": 5.0}) > 0.2


def _result(device: str, version: str, sigs: int, label: str, i: int) -> Any:
    from datetime import timedelta

    from edge.contract import (
        Box,
        DocType,
        ModelRef,
        ModelsUsed,
        PageImage,
        Result,
        Signature,
        SourceRef,
        utcnow,
    )

    now = utcnow()
    return Result(
        device_id=device,
        site=DEVICES[device],
        source=SourceRef(kind="file", uri=f"file:///q/{version}/{i}.png"),
        captured_at=now - timedelta(seconds=1),
        processed_at=now,
        image=PageImage(sha256=f"{i:064x}", width=100, height=100),
        signatures=[Signature(box=Box(x1=0.1, y1=0.1, x2=0.3, y2=0.2), score=0.9) for _ in range(sigs)],
        signature_count=sigs,
        doc_type=DocType(label=label, confidence=0.7, needs_review=i % 2 == 0),
        models=ModelsUsed(
            detector=ModelRef(name=NAME, version=version),
            classifier=ModelRef(name="cls", version="1"),
            ocr=ModelRef(name="tesseract", version="5"),
        ),
    )


def test_given_field_results_and_reviews_when_measuring_a_version_then_live_metrics_and_drift_alert_follow(
    world: World,
) -> None:
    from sqlalchemy import select

    from cloud.db.engine import session_scope
    from cloud.db.models import Alert, Correction, Page, Review, SignatureBox
    from cloud.db.write import upsert_results
    from cloud.registry.quality import drift, live_metrics

    engine = world.app.extensions["signet"].engine
    # the fleet runs v1 here; its validation set had signatures on 60 % of pages, the field has none
    results = [_result("d-c", world.v1, 0, "letter", 1000 + i) for i in range(6)]
    with session_scope(engine) as s:
        upsert_results(s, results)
    with session_scope(engine) as s:
        pages = s.scalars(
            select(Page).where(Page.detector_version == f"{NAME}:{world.v1}").order_by(Page.id)
        ).all()
        a, b = pages[0], pages[1]
        s.add_all([Review(page_id=a.id, action="doc_type"), Review(page_id=b.id, action="signature_add")])
        s.add(Correction(page_id=a.id, kind="doc_type", value={"label": "invoice"}))
        s.add(SignatureBox(page_id=b.id, x1=0.1, y1=0.1, x2=0.2, y2=0.2, score=None, source="reviewer"))
    with session_scope(engine) as s:
        m = live_metrics(s, "detector", NAME, world.v1)
        assert (m.pages, m.reviewed, m.devices) == (6, 2, 1)
        assert m.needs_review_rate == pytest.approx(0.5)
        assert m.doc_type_accuracy == pytest.approx(0.5)  # one page's type was corrected
        assert m.signature_presence_accuracy == pytest.approx(0.5)  # a reviewer added a missed signature
        rows = drift(
            s, "detector", NAME, world.v1, world.svc.registry.validation_distribution(NAME, world.v1)
        )
        assert rows and rows[0].site == "south" and rows[0].psi["signature_count"] > 0.2

    # The alert loop checks drift of every production version on its own (nobody has to open
    # the Models page) and sends the alert like any other: once.
    from cloud.alerts import run_once
    from cloud.config import AlertsConfig
    from cloud.registry.quality import check_drift
    from tests.cloud.sinks import HttpReceiver

    world.svc.registry.set_alias(NAME, "production", world.v1)
    threshold = world.svc.cfg.mlflow.drift_psi_threshold
    hook = HttpReceiver()
    try:
        cfg = AlertsConfig.model_validate({"webhook_url": hook.url})
        checks = [lambda s: check_drift(s, world.svc.registry, threshold)]
        opened, _ = run_once(engine, cfg, checks)
        assert [(a.kind, a.key) for a in opened] == [("model_drift", f"{NAME}:{world.v1}")]
        assert len(hook.bodies) == 1 and "PSI" in hook.bodies[0]["alerts"][0]["message"]
        again = run_once(engine, cfg, checks)[0]
        assert [(a.kind, a.key, a.message) for a in again] == [] and len(hook.bodies) == 1
    finally:
        hook.close()

    client = world.app.test_client()
    _login(client, "vic")
    html = client.get(f"/models?name={NAME}").get_data(as_text=True)
    assert "⚠" in html, html[html.find('data-testid="drift"') :][:1500]
    with session_scope(engine) as s:
        alert = s.scalars(select(Alert).where(Alert.kind == "model_drift")).one()  # still one
        assert alert.key == f"{NAME}:{world.v1}" and "PSI" in alert.message
    # v2 goes to production (no field data on it yet): the v1 drift alert is resolved.
    world.svc.registry.set_alias(NAME, "production", world.v2)
    run_once(engine, AlertsConfig(), checks)
    with session_scope(engine) as s:
        alert = s.scalars(select(Alert).where(Alert.kind == "model_drift")).one()
        assert alert.resolved_at is not None


def test_given_an_installed_version_when_the_edge_restarts_then_it_is_swapped_back_in_without_a_download(
    world: World, tmp_path: Path
) -> None:
    shipped = build_tiny_onnx(tmp_path / "shipped.onnx", scale=1.0)
    _promote(world, world.v1, fleet=True)
    first = world.edge("d-d", shipped)
    wait_until(lambda: first.detector.version == world.v1, what="edge on v1")
    first.stop()
    world.edges.remove(first)
    again = world.edge("d-d", shipped)  # same models folder, pipeline back on the shipped model
    wait_until(lambda: again.detector.version == world.v1, what="installed v1 swapped back in")
    assert "downloading" not in [s.state for s in again.states]
    assert again.process_page().models.detector.version == world.v1


def test_given_the_tensorrt_backend_without_tensorrt_when_a_version_arrives_then_building_fails_with_the_reason(
    world: World, tmp_path: Path
) -> None:
    # On a Jetson this step builds and caches the engine (engineer B's engine_for); here TensorRT
    # is absent, which must fail the rollout at "building" and keep the old model.
    shipped = build_tiny_onnx(tmp_path / "shipped.onnx", scale=1.0)
    _promote(world, world.v1, fleet=True)
    e = world.edge("d-trt", shipped, backend="tensorrt")
    st = wait_until(
        lambda: e.last_state() if e.last_state() and e.last_state().state == "failed" else None,
        what="failure",
    )  # type: ignore[union-attr]
    assert [s.state for s in e.states][-3:] == ["verifying", "building", "failed"]
    assert "building: engine build failed: backend unavailable" in st.detail
    assert e.detector.version == "shipped"


def test_given_an_unreachable_cloud_when_downloading_then_failure_is_reported_and_the_next_message_retries(
    world: World, tmp_path: Path
) -> None:
    from edge.contract import DesiredModel, DesiredModels, device_desired_topic, encode, new_id

    shipped = build_tiny_onnx(tmp_path / "shipped.onnx", scale=1.0)
    e = world.edge("d-net", shipped)
    fleet = world.svc.store.desired("fleet").get("detector")
    if fleet is not None:  # the retained fleet message comes first
        wait_until(lambda: e.detector.version == fleet.version, what="edge on the fleet's version")
    before = e.detector.version
    target = world.v1 if fleet is not None and fleet.version == world.v2 else world.v2
    pkg = world.svc.registry.package(NAME, target)
    good_url = f"{world.url}/api/v1/models/{NAME}/{target}/package"
    rollout = new_id()

    def send(url: str) -> None:
        m = DesiredModel(
            kind="detector", name=NAME, version=target, sha256=pkg.sha256, size=pkg.size, url=url
        )
        msg = DesiredModels(rollout_id=rollout, models=[m], devices=["d-net"])
        world.svc.rollouts.publisher.publish([(device_desired_topic("d-net"), encode(msg))])

    send(f"http://127.0.0.1:{free_port()}/nothing-listens-here")
    st = wait_until(
        lambda: e.last_state() if e.last_state() and e.last_state().state == "failed" else None,
        what="download failure",
    )  # type: ignore[union-attr]
    assert st.detail.startswith("downloading: download interrupted") and e.detector.version == before
    send(good_url)  # same rollout, reachable again: a download failure is not held against it
    wait_until(lambda: e.detector.version == target, what="edge on the target after the retry")
