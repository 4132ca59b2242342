"""SyncClient against a real Mosquitto: ordered delivery, status, commands, resume after restart."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import BrokerConfig, DeviceConfig, StoreConfig, SyncConfig
from edge.contract import Command, CommandState, command_state_topic, command_topic, encode, status_topic
from edge.store import EdgeStore, outbox
from edge.sync import SyncClient
from edge.sync.mqtt import Backoff
from tests.edge.sync.factory import result
from tests.support.broker import Broker


class Listener:
    """A plain subscriber recording every message it receives."""

    def __init__(self, port: int, topics: list[str], persistent: bool = False) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="listener", protocol=mqtt.MQTTv5)
        self.client.reconnect_delay_set(0.1, 0.5)
        ready = threading.Event()

        def on_connect(c, u, f, rc, p):  # type: ignore[no-untyped-def]
            c.subscribe([(t, 1) for t in topics])

        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        props = None
        if persistent:  # the broker keeps its subscription (and queues for it) across a restart
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 300
        self.client.connect("127.0.0.1", port, clean_start=not persistent, properties=props)
        self.client.loop_start()
        assert ready.wait(5)

    def take(self, n: int, timeout: float = 20) -> list[mqtt.MQTTMessage]:
        out: list[mqtt.MQTTMessage] = []
        deadline = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                out.append(self.messages.get(timeout=0.2))
        return out

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def make(tmp_path: Path, port: int, dev: str = "dev-1", **kw: object) -> tuple[EdgeStore, SyncClient]:
    store = EdgeStore(StoreConfig(path=tmp_path / "edge.db", images_dir=tmp_path / "images", min_free_mb=0))
    cfg = SyncConfig(broker=BrokerConfig(port=port, reconnect_min_s=0.1, reconnect_max_s=0.5), **kw)  # type: ignore[arg-type]
    return store, SyncClient(cfg, DeviceConfig(id=dev, site="lab"), store, versions={"software": "0.1.0"})


def test_given_backlog_when_synced_then_all_delivered_in_order_and_marked_sent(
    tmp_path: Path, broker: Broker
) -> None:
    store, sync = make(tmp_path, broker.port, inflight=8)
    ids = []
    for i in range(200):
        r = result("dev-1", i)
        store.save_result(r)
        ids.append(str(r.result_id))
    listener = Listener(broker.port, ["signet/v1/dev-1/result", "signet/v1/dev-1/status"])
    sync.start()
    try:
        assert sync.wait_drained(20)
        msgs = listener.take(201)
        got = [json.loads(m.payload)["result_id"] for m in msgs if m.topic.endswith("/result")]
        status = [json.loads(m.payload) for m in msgs if m.topic.endswith("/status")]
        print(f"delivered {len(got)} of {len(ids)} results")
        assert got == ids
        assert status and status[0]["state"] == "online" and status[0]["versions"] == {"software": "0.1.0"}
        assert outbox.backlog(store.db, "result") == 0
    finally:
        sync.stop()
        listener.close()


def test_given_running_client_when_stopped_then_retained_status_offline(
    tmp_path: Path, broker: Broker
) -> None:
    _store, sync = make(tmp_path, broker.port)
    sync.start()
    deadline = time.monotonic() + 10
    while not sync.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    sync.stop()
    listener = Listener(broker.port, [status_topic("dev-1")])
    (msg,) = listener.take(1, timeout=5)
    listener.close()
    assert msg.retain and json.loads(msg.payload)["state"] == "offline"


def test_given_a_model_swapped_in_when_its_version_is_set_then_the_retained_status_names_it(
    tmp_path: Path, broker: Broker
) -> None:
    _store, sync = make(tmp_path, broker.port)
    sync.start()
    try:
        deadline = time.monotonic() + 10
        while not sync.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        sync.set_version("handwriting", "signet-handwriting:2")
        want = {"software": "0.1.0", "handwriting": "signet-handwriting:2"}
        deadline = time.monotonic() + 10
        while True:  # a late subscriber gets the retained status: the newest one, once it is sent
            listener = Listener(broker.port, [status_topic("dev-1")])
            (msg,) = listener.take(1, timeout=5)
            listener.close()
            status = json.loads(msg.payload)
            if status["versions"] == want or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert msg.retain and status["state"] == "online" and status["versions"] == want
    finally:
        sync.stop()


def test_given_ping_and_config_commands_when_sent_then_states_retained(
    tmp_path: Path, broker: Broker
) -> None:
    _store, sync = make(tmp_path, broker.port)
    listener = Listener(broker.port, [command_state_topic("dev-1", "+")])
    sync.start()
    try:
        deadline = time.monotonic() + 10
        while not sync.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # subscriptions acknowledged
        ping = Command(name="ping")
        bad = Command(name="config", args={"images": "huge"})
        good = Command(name="config", args={"images": "full", "health_interval_s": 5})
        for cmd in (ping, bad, good):
            listener.client.publish(command_topic("dev-1", cmd.name), encode(cmd), qos=1)
        listener.client.publish(command_topic("dev-1", "ping"), encode(ping), qos=1)  # redelivered: run once
        states = [CommandState.model_validate_json(m.payload) for m in listener.take(6, timeout=10)]
        final = {(str(s.command_id), s.state) for s in states}
        assert (str(ping.command_id), "ok") in final
        assert (str(bad.command_id), "failed") in final
        assert (str(good.command_id), "ok") in final
        assert sum(1 for s in states if s.command_id == ping.command_id) == 2  # received + ok, not 4
        assert sync.cfg.images == "full" and sync.cfg.health_interval_s == 5
    finally:
        sync.stop()
        listener.close()


def test_given_broker_down_when_results_stored_then_delivered_after_it_returns(
    tmp_path: Path, broker: Broker
) -> None:
    store, sync = make(tmp_path, broker.port)
    # Subscribed before the outage, with a persistent session: whatever the edge publishes once
    # the broker is back is queued for it even if the edge reconnects first.
    listener = Listener(broker.port, ["signet/v1/dev-1/result"], persistent=True)
    broker.stop()
    sync.start()
    try:
        ids = []
        for i in range(50):
            r = result("dev-1", i)
            store.save_result(r)
            ids.append(str(r.result_id))
        time.sleep(1.0)
        assert outbox.backlog(store.db, "result") == 50
        broker.start()
        assert sync.wait_drained(20)
        got = [json.loads(m.payload)["result_id"] for m in listener.take(50)]
        listener.close()
        assert got == ids
    finally:
        sync.stop()


def test_backoff_doubles_with_jitter_and_caps() -> None:
    import random

    b = Backoff(1.0, 8.0, random.Random(1))
    delays = [b.next() for _ in range(6)]
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0 and 2.0 <= delays[2] <= 4.0
    assert all(4.0 <= d <= 8.0 for d in delays[3:])
    assert len(set(delays)) == len(delays)
    b.reset()
    assert b.next() <= 1.0


@pytest.mark.parametrize("n", [1])
def test_given_unsent_rows_when_client_restarted_then_resumes(tmp_path: Path, broker: Broker, n: int) -> None:
    store, sync = make(tmp_path, broker.port)
    sync.start()
    sync.stop()
    for i in range(30):
        store.save_result(result("dev-1", i))
    _, again = make(tmp_path, broker.port)
    again.start()
    try:
        assert again.wait_drained(20)
    finally:
        again.stop()


def test_given_a_frozen_broker_when_draining_then_no_more_than_the_window_waits_for_acks(
    tmp_path: Path, broker: Broker
) -> None:
    import signal

    store, sync = make(tmp_path, broker.port, inflight=8)
    assert broker.proc is not None
    sync.start()
    try:
        deadline = time.monotonic() + 10
        while not sync.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sync.connected
        broker.proc.send_signal(signal.SIGSTOP)  # alive but silent: no PUBACK comes back
        for i in range(200):
            store.save_result(result("dev-1", i))
        sync.notify()
        seen = []
        for _ in range(40):
            seen.append(sync.in_flight)
            time.sleep(0.025)
        assert max(seen) == 8, seen  # the window filled, and never past it
        assert sync.backlog() > 150  # the rest waits in the outbox, not in memory
        broker.proc.send_signal(signal.SIGCONT)
        assert sync.wait_drained(30)
        assert sync.in_flight == 0
    finally:
        with contextlib.suppress(Exception):
            broker.proc.send_signal(signal.SIGCONT)
        sync.stop()
