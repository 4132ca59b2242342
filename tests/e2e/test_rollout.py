"""End to end: MLflow server, cloud app, Mosquitto, edge updaters. Register, promote, switch,
fail safely, roll back, canary. Steps are logged to ``$SIGNET_ROLLOUT_LOG`` (or the tmp dir)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from cloud.registry.rollout import canary_devices
from edge.contract import DesiredModel, DesiredModels, device_desired_topic, encode
from models.tracking import tracked_run
from tests.cloud.registry.tiny_onnx import build_tiny_onnx, golden_inputs
from tests.e2e.rollout_env import AppServer, MlflowServer, TinyEdge, run_cli, wait_until
from tests.support.broker import Broker

pytestmark = pytest.mark.slow  # an MLflow server start and CLI subprocesses: minutes on a loaded 2-core box

REPO = Path(__file__).resolve().parents[2]
NAME = "tiny-detector"
DEVICES = {f"dev-{i}": ("north" if i < 4 else "south") for i in range(1, 9)}


class Env:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.log_path = Path(os.environ.get("SIGNET_ROLLOUT_LOG") or root / "rollout-e2e.log")
        self.log_path.write_text("")
        self.tokens = {d: f"sdt_{d}-token-0123456789" for d in DEVICES}

    def log(self, line: str) -> None:
        with self.log_path.open("a") as f:
            f.write(line.rstrip() + "\n")

    def cli(self, *args: str) -> str:
        env = {**os.environ, "SIGNET_CONFIG": str(self.config_path), "SIGNET_LOG_LEVEL": "WARNING"}
        p = run_cli(list(args), env, REPO)
        self.log(f"$ signet {' '.join(args)}\n{p.stdout}{p.stderr}".rstrip())
        assert p.returncode == 0, p.stderr
        return p.stdout

    def register(self, version_tag: str, scale: float, golden_from: float | None = None) -> str:
        d = self.root / f"model-{version_tag}"
        onnx = build_tiny_onnx(d / "tiny.onnx", scale=scale, version=version_tag)
        from edge.rollout import write_golden

        ref = onnx if golden_from is None else build_tiny_onnx(d / "ref" / "tiny.onnx", scale=golden_from)
        write_golden(d / "tiny.golden.npz", ref, golden_inputs())
        card = d / "card.md"
        card.write_text(f"# tiny detector {version_tag}\n")
        with tracked_run("detector", {"scale": scale}, tracking_uri=self.mlflow.url) as t:
            t.metrics({"val_map50": 0.5 + scale / 10})
            t.validation_distribution(confidences=[0.9] * 8 + [0.3] * 2, signature_counts=[1] * 6 + [0] * 4)
            v = t.register_onnx(onnx, NAME, card=card, golden=d / "tiny.golden.npz")
        self.log(
            f"registered {NAME} v{v} (scale {scale}{', golden from another model' if golden_from else ''})"
        )
        return v

    def edge(self, device: str) -> TinyEdge:
        e = TinyEdge(
            device, self.root / "edges" / device, self.broker.port, self.tokens[device], self.shipped
        )
        e.start()
        self.running.append(e)
        return e


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    from cloud.app import create_app
    from cloud.auth.tokens import hash_token
    from cloud.config import CloudConfig
    from cloud.db.engine import make_engine, session_scope
    from cloud.db.models import Device, Site
    from cloud.registry.rollout import StateWatcher
    from cloud.registry.service import make_services

    root = tmp_path_factory.mktemp("rollout")
    e = Env(root)
    e.broker = Broker(root / "broker")
    e.broker.start()
    e.mlflow = MlflowServer(root / "mlflow")
    e.mlflow.start()
    e.running = []
    settings = {
        "database": {"url": f"sqlite:///{root}/cloud.db"},
        "web": {"secret_key": "test-secret"},
        "ingest": {"host": "127.0.0.1", "port": e.broker.port},
        "mlflow": {
            "tracking_uri": e.mlflow.url,
            "packages_dir": str(root / "packages"),
            "state_db": str(root / "rollouts.db"),
            "device_base_url": "http://127.0.0.1:1",  # replaced below once the port is known
        },
    }
    from tests.support.net import free_port

    app_port = free_port()
    settings["mlflow"]["device_base_url"] = f"http://127.0.0.1:{app_port}"
    e.config_path = root / "cloud.yaml"
    e.config_path.write_text(yaml.safe_dump(settings))
    cfg = CloudConfig.model_validate(settings)
    engine = make_engine(cfg.database.url)
    app = create_app(
        cfg,
        engine=engine,
        blueprints=[("cloud.auth.views", "bp"), ("cloud.registry.web", "bp")],
        testing=True,
    )
    with session_scope(engine) as s:
        for site in sorted(set(DEVICES.values())):
            s.add(Site(id=site))
        s.flush()
        for d, site in DEVICES.items():
            s.add(Device(id=d, site_id=site, token_hash=hash_token(e.tokens[d])))
    e.app = AppServer(app)
    e.app.port = app_port
    from werkzeug.serving import make_server

    e.app.server = make_server("127.0.0.1", app_port, app, threaded=True)
    import threading

    e.app.thread = threading.Thread(target=e.app.server.serve_forever, daemon=True)
    e.app.start()
    e.svc = make_services(cfg)
    e.watcher = StateWatcher(e.svc.store, "127.0.0.1", e.broker.port)
    e.watcher.start()
    e.shipped = build_tiny_onnx(root / "shipped.onnx", scale=1.0, version="shipped")
    e.v1 = e.register("v1", scale=2.0)
    e.cli("cloud", "models", "promote", NAME, e.v1, "--fleet")
    try:
        yield e
    finally:
        for ed in e.running:
            ed.stop()
        e.watcher.stop()
        e.app.stop()
        e.mlflow.stop()
        e.broker.stop()
        engine.dispose()


def _on(edge: TinyEdge, version: str) -> bool:
    return edge.detector.version == version


def test_given_a_second_version_when_promoted_to_fleet_then_edges_switch_and_results_carry_it_and_fleet_rollback_restores(
    env: Env,
) -> None:
    e1, e2 = env.edge("dev-1"), env.edge("dev-5")
    for ed in (e1, e2):
        wait_until(lambda ed=ed: _on(ed, env.v1), what=f"{ed.device_id} on v1")
    assert e1.process_page().models.detector.version == env.v1
    env.log(f"dev-1 and dev-5 on {NAME} v{env.v1}; a Result from dev-1 names detector v{env.v1}")

    v2 = env.register("v2", scale=3.0)
    env.cli("cloud", "models", "promote", NAME, v2, "--fleet")
    for ed in (e1, e2):
        wait_until(lambda ed=ed: _on(ed, v2), what=f"{ed.device_id} on v2")
        r = ed.process_page()
        assert r.models.detector == ed.detector and r.models.detector.version == v2
    wait_until(lambda: e1.last_state().state == "active", what="active reported")  # type: ignore[union-attr]
    steps = [s.state for s in e1.states if s.data.get("version") == v2]
    assert steps[0] == "downloading" and steps[-1] == "active"
    assert {"verifying", "testing"} <= set(steps)
    env.log(f"dev-1 steps for v{v2}: {' -> '.join(dict.fromkeys(steps))}; new Results name detector v{v2}")
    wait_until(
        lambda: (
            {(s["device_id"], s["version"], s["state"]) for s in env.svc.store.device_states()}
            >= {("dev-1", v2, "active"), ("dev-5", v2, "active")}
        ),
        what="cloud sees both devices active on v2",
    )
    assert env.svc.registry.by_alias(NAME, "production").version == v2  # type: ignore[union-attr]
    out = env.cli("cloud", "models", "status", "--watch-s", "1")
    assert "active=2" in out

    env.cli("cloud", "models", "rollback")
    for ed in (e1, e2):
        wait_until(lambda ed=ed: _on(ed, env.v1), what=f"{ed.device_id} back on v1")
        assert ed.process_page().models.detector.version == env.v1
    wait_until(
        lambda: e1.last_state().detail == "restored the kept previous version",  # type: ignore[union-attr]
        what="the restore reported",
    )
    assert env.svc.registry.by_alias(NAME, "production").version == env.v1  # type: ignore[union-attr]
    env.log(
        f"fleet rollback: dev-1 and dev-5 back on v{env.v1} without a download ({e1.last_state().detail})"
    )  # type: ignore[union-attr]
    env.v2 = v2


def _publish_to_device(env: Env, device: str, model: DesiredModel) -> None:
    env.svc.rollouts.publisher.publish(
        [(device_desired_topic(device), encode(DesiredModels(models=[model], devices=[device])))]
    )


def test_given_bad_models_when_offered_then_edge_stays_on_old_version_and_reports_why(env: Env) -> None:
    ed = env.edge("dev-2")
    wait_until(lambda: _on(ed, env.v1), what="dev-2 on v1")
    good = env.svc.rollouts.store.desired("fleet")["detector"]

    # 1. wrong sha256 in the desired message
    v3 = env.register("v3", scale=4.0)
    pkg = env.svc.registry.package(NAME, v3)
    wrong = DesiredModel(
        kind="detector",
        name=NAME,
        version=v3,
        sha256="ab" * 32,
        size=pkg.size,
        url=good.url.replace(f"/{env.v1}/", f"/{v3}/"),
    )
    _publish_to_device(env, "dev-2", wrong)
    st = wait_until(
        lambda: ed.last_state() if ed.last_state().state == "failed" else None, what="wrong sha failure"
    )  # type: ignore[union-attr]
    assert "sha256 mismatch" in st.detail and _on(ed, env.v1)
    assert ed.process_page().models.detector.version == env.v1
    env.log(f"wrong sha256 -> dev-2 reported failed: {st.detail!r}; still on v{env.v1}")

    # 2. a corrupt file: the stored package is damaged after its sha256 was recorded
    v4 = env.register("v4", scale=5.0)
    pkg4 = env.svc.registry.package(NAME, v4)
    data = bytearray(pkg4.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pkg4.path.write_bytes(bytes(data))
    ed.states.clear()
    env.cli("cloud", "models", "promote", NAME, v4, "--site", "north", "--percent", "100")
    st = wait_until(
        lambda: ed.last_state() if ed.last_state() and ed.last_state().state == "failed" else None,
        what="corrupt failure",
    )  # type: ignore[union-attr]
    assert "sha256 mismatch" in st.detail and _on(ed, env.v1)
    env.log(f"corrupt package -> dev-2 reported failed: {st.detail!r}; still on v{env.v1}")

    # 3. a model that fails its self-test (golden pages from another model)
    v5 = env.register("v5", scale=6.0, golden_from=7.0)
    ed.states.clear()
    env.cli("cloud", "models", "promote", NAME, v5, "--site", "north")
    st = wait_until(
        lambda: ed.last_state() if ed.last_state() and ed.last_state().state == "failed" else None,
        what="self-test failure",
    )  # type: ignore[union-attr]
    assert st.detail.startswith("testing: golden page 0 output y off by") and _on(ed, env.v1)
    assert [s.state for s in ed.states][:3] == ["downloading", "verifying", "testing"] or "testing" in [
        s.state for s in ed.states
    ]
    assert ed.process_page().models.detector.version == env.v1
    wait_until(
        lambda: any(
            s["device_id"] == "dev-2" and s["state"] == "failed" and s["version"] == v5
            for s in env.svc.store.device_states()
        ),
        what="cloud sees the self-test failure",
    )
    env.log(f"self-test failure -> dev-2 reported failed: {st.detail!r}; still on v{env.v1}")
    # leave the fleet as it was for the next test
    env.cli("cloud", "models", "promote", NAME, env.v1, "--fleet")


def test_given_a_canary_percent_when_promoted_then_only_the_chosen_devices_switch(env: Env) -> None:
    pool = ["dev-3", "dev-4", "dev-6", "dev-7", "dev-8"]
    eds = {d: env.edge(d) for d in pool}
    for d, ed in eds.items():
        wait_until(lambda ed=ed: _on(ed, env.v1), what=f"{d} on v1")
    everyone = sorted(DEVICES)
    percent = next(
        p for p in range(10, 100, 5) if 0 < len(canary_devices(everyone, p, NAME)) < len(everyone) // 2
    )
    chosen = canary_devices(everyone, percent, NAME)
    assert set(canary_devices(everyone, percent, NAME)) <= set(canary_devices(everyone, percent + 20, NAME))
    v2 = getattr(env, "v2", None) or env.register("v2b", scale=3.0)
    out = env.cli("cloud", "models", "promote", NAME, v2, "--percent", str(percent))
    assert all(d in out for d in chosen)
    for d in chosen:
        if d in eds:
            wait_until(lambda d=d: _on(eds[d], v2), what=f"canary {d} on v2")
    import time

    time.sleep(1.5)  # give the others every chance to (wrongly) switch
    for d, ed in eds.items():
        assert ed.detector.version == (v2 if d in chosen else env.v1), d
    env.log(
        f"canary {percent}% of {len(everyone)} devices chose {chosen}; running devices now: "
        + json.dumps({d: ed.detector.version for d, ed in eds.items()})
    )
