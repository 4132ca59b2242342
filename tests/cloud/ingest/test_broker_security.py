"""Our generated Mosquitto config, for real: TLS, passwords, per-device ACL, revocation."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine

from cloud.config import BrokerAdminConfig
from cloud.devices.broker import BrokerFiles, device_listener_conf, make_tls, write_config
from cloud.devices.registry import add_device, config_snippet, revoke_device
from cloud.ingest.worker import IngestWorker
from edge.config import BrokerConfig, DeviceConfig, StoreConfig, SyncConfig
from edge.contract import encode, result_topic
from edge.store import EdgeStore
from edge.sync import SyncClient
from tests.cloud.ingest.support import dead_letters, ingest_cfg, result_ids, sqlite_engine, wait_until
from tests.edge.sync.factory import result
from tests.support.broker import Broker
from tests.support.net import free_port


@pytest.fixture
def secured(tmp_path: Path):  # type: ignore[no-untyped-def]
    files = BrokerFiles(tmp_path / "conf")
    service = write_config(files)
    make_tls(files.tls)
    engine = sqlite_engine(tmp_path)
    enrol = {d: add_device(engine, files, d, "branch-1") for d in ("dev-1", "dev-2")}
    tls_port = free_port()
    extra = "\n".join(
        [
            f"password_file {files.passwords}",
            f"acl_file {files.acl}",
            device_listener_conf(files, tls_port, "127.0.0.1"),
        ]
    )
    broker = Broker(tmp_path / "broker", extra_conf=extra, anonymous=False)
    broker.start()
    try:
        yield files, service, engine, enrol, broker, tls_port
    finally:
        broker.stop()


def _device(
    tmp_path: Path, name: str, files: BrokerFiles, port: int, password: str
) -> tuple[EdgeStore, SyncClient]:
    store = EdgeStore(
        StoreConfig(path=tmp_path / f"{name}.db", images_dir=tmp_path / f"{name}-img", min_free_mb=0)
    )
    cfg = SyncConfig(
        broker=BrokerConfig(
            port=port, username=name, password=password, tls=True, ca_file=files.tls / "ca.crt",
            reconnect_min_s=0.2, reconnect_max_s=1.0,
        )
    )  # fmt: skip
    return store, SyncClient(cfg, DeviceConfig(id=name, site="branch-1"), store)


def _ingest(engine: Engine, broker: Broker, password: str) -> IngestWorker:
    w = IngestWorker(ingest_cfg(broker.port, username="ingest", password=password), engine)
    w.start()
    assert w.wait_connected(10)
    return w


def test_given_enrolled_device_over_tls_when_it_syncs_then_ingest_stores_its_results(
    secured, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    files, service, engine, enrol, broker, tls_port = secured
    worker = _ingest(engine, broker, service["ingest"])
    store, sync = _device(tmp_path, "dev-1", files, tls_port, enrol["dev-1"].broker_password)
    ids = set()
    for i in range(20):
        r = result("dev-1", i, site="branch-1")
        store.save_result(r)
        ids.add(str(r.result_id))
    sync.start()
    try:
        assert sync.wait_drained(20)
        assert wait_until(lambda: result_ids(engine) == ids)
        print(f"TLS + ACL: {len(result_ids(engine))} of {len(ids)} results stored")
    finally:
        sync.stop()
        worker.stop()
    snippet = config_snippet(enrol["dev-1"], BrokerAdminConfig(dir=files.dir))
    assert "username: dev-1" in snippet and enrol["dev-1"].token in snippet and "tls: true" in snippet


def test_given_wrong_password_when_device_connects_then_refused_and_logged_clearly(
    secured, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    files, _service, _engine, _enrol, _broker, tls_port = secured
    _store, sync = _device(tmp_path, "dev-1", files, tls_port, "not-the-password")
    with caplog.at_level(logging.ERROR, logger="edge.sync.client"):
        sync.start()
        time.sleep(2.0)
        sync.stop()
    assert not sync.connects
    refused = [r.getMessage() for r in caplog.records if "refused the connection" in r.getMessage()]
    print(refused[:1])
    assert refused and ("password" in refused[0].lower() or "not authorized" in refused[0].lower())


def _raw_device(
    port: int, files: BrokerFiles, user: str, password: str
) -> tuple[mqtt.Client, list[tuple[int, object]]]:
    acks: list[tuple[int, object]] = []
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=mqtt.MQTTv5)
    c.username_pw_set(user, password)
    c.tls_set(ca_certs=str(files.tls / "ca.crt"))
    c.on_publish = lambda cl, u, mid, rc, p: acks.append((mid, rc))
    connected = threading.Event()
    c.on_connect = lambda cl, u, f, rc, p: connected.set() if not rc.is_failure else None
    c.connect("127.0.0.1", port)
    c.loop_start()
    assert connected.wait(10)
    return c, acks


def test_given_device_when_publishing_under_another_devices_topic_then_broker_refuses(secured) -> None:  # type: ignore[no-untyped-def]
    files, service, engine, enrol, broker, tls_port = secured
    worker = _ingest(engine, broker, service["ingest"])
    c, acks = _raw_device(tls_port, files, "dev-1", enrol["dev-1"].broker_password)
    spoof = result("dev-2", 1)
    info = c.publish(result_topic("dev-2"), encode(spoof), qos=1)
    info.wait_for_publish(5)
    own = result("dev-1", 2)
    c.publish(result_topic("dev-1"), encode(own), qos=1).wait_for_publish(5)
    # a payload claiming another device on the device's own topic passes the ACL: dead-lettered
    liar = result("dev-2", 3)
    c.publish(result_topic("dev-1"), encode(liar), qos=1).wait_for_publish(5)
    assert wait_until(lambda: str(own.result_id) in result_ids(engine) and len(dead_letters(engine)) == 1)
    time.sleep(0.5)
    stored = result_ids(engine)
    c.loop_stop()
    worker.stop()
    assert str(spoof.result_id) not in stored and str(liar.result_id) not in stored
    codes = {mid: rc for mid, rc in acks}
    print(
        f"spoofed publish PUBACK: {codes[info.mid]}; stored: {len(stored)}; dead letters: {len(dead_letters(engine))}"
    )
    assert codes[info.mid].is_failure  # MQTT v5: Mosquitto answers "Not authorized"
    assert "does not match topic device" in dead_letters(engine)[0].reason
    assert "denied PUBLISH" in broker.log_text() or "Denied PUBLISH" in broker.log_text()


def test_given_revoked_device_when_it_reconnects_then_refused(secured) -> None:  # type: ignore[no-untyped-def]
    files, _service, engine, enrol, broker, tls_port = secured
    assert revoke_device(engine, files, "dev-2")
    assert broker.proc is not None
    broker.proc.send_signal(1)  # SIGHUP: reload the password file
    time.sleep(0.5)
    refused = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dev-2", protocol=mqtt.MQTTv5)
    c.username_pw_set("dev-2", enrol["dev-2"].broker_password)
    c.tls_set(ca_certs=str(files.tls / "ca.crt"))
    c.on_connect = lambda cl, u, f, rc, p: refused.set() if rc.is_failure else None
    c.connect("127.0.0.1", tls_port)
    c.loop_start()
    assert refused.wait(10)
    c.loop_stop()


def test_given_two_devices_then_each_reads_only_its_own_commands(secured) -> None:  # type: ignore[no-untyped-def]
    files, service, _engine, enrol, broker, tls_port = secured
    seen: dict[str, list[str]] = {"dev-1": [], "dev-2": []}
    clients = []
    for dev in ("dev-1", "dev-2"):
        c, _ = _raw_device(tls_port, files, dev, enrol[dev].broker_password)
        c.on_message = lambda cl, u, m, dev=dev: seen[dev].append(m.topic)
        # dev-1 tries to listen to dev-2's commands; dev-2 listens to its own
        c.subscribe("signet/v1/dev-2/cmd/+", qos=1)
        clients.append(c)
    time.sleep(0.5)
    web = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="web-test", protocol=mqtt.MQTTv5)
    web.username_pw_set("web", service["web"])
    web.connect("127.0.0.1", broker.port)
    web.loop_start()
    web.publish("signet/v1/dev-2/cmd/ping", b'{"x": 1}', qos=1).wait_for_publish(5)
    assert wait_until(lambda: seen["dev-2"] == ["signet/v1/dev-2/cmd/ping"], timeout=10)
    time.sleep(1.0)  # dev-1 had the same chance to receive it
    for c in (*clients, web):
        c.loop_stop()
        c.disconnect()
    assert seen["dev-1"] == []


def test_given_no_credentials_then_both_listeners_refuse_the_connection(secured) -> None:  # type: ignore[no-untyped-def]
    files, _service, _engine, _enrol, broker, tls_port = secured
    for port, tls in ((tls_port, True), (broker.port, False)):
        outcome: dict[str, bool] = {}
        done = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"anon-{port}", protocol=mqtt.MQTTv5)
        if tls:
            c.tls_set(ca_certs=str(files.tls / "ca.crt"))

        def on_connect(cl, u, f, rc, p, outcome=outcome, done=done) -> None:  # type: ignore[no-untyped-def]
            outcome["refused"] = rc.is_failure
            done.set()

        c.on_connect = on_connect
        c.connect("127.0.0.1", port)
        c.loop_start()
        assert done.wait(10), f"no CONNACK on port {port}"
        c.loop_stop()
        c.disconnect()
        assert outcome["refused"], f"anonymous client accepted on port {port}"
