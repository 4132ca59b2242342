"""Availability through the broker for real: `signet edge sync` says `online` (retained, with its
versions) and, killed with SIGKILL, the broker itself publishes its last will: `offline`, retained.
Health arrives on its topic meanwhile."""

from __future__ import annotations

import json
import queue
import signal
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from tests.e2e.sync_env import edge_store, start_edge_sync
from tests.support.broker import Broker


def _watch(port: int, topics: list[str]) -> tuple[mqtt.Client, queue.Queue[tuple[str, dict, bool]]]:
    got: queue.Queue[tuple[str, dict, bool]] = queue.Queue()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="watcher")
    c.on_message = lambda _c, _u, m: got.put((m.topic, json.loads(m.payload), bool(m.retain)))
    c.connect("127.0.0.1", port)
    for t in topics:
        c.subscribe(t, qos=1)
    c.loop_start()
    return c, got


def _next(got: queue.Queue[tuple[str, dict, bool]], topic: str, timeout: float = 30.0) -> tuple[dict, bool]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            t, payload, retained = got.get(timeout=max(0.1, end - time.monotonic()))
        except queue.Empty:
            break
        if t == topic:
            return payload, retained
    raise AssertionError(f"nothing on {topic} within {timeout} s")


def test_given_a_running_edge_when_sigkilled_then_the_broker_publishes_its_offline_will(
    tmp_path: Path, broker: Broker
) -> None:
    edge_store(tmp_path)
    watcher, got = _watch(broker.port, ["signet/v1/dev-1/status", "signet/v1/dev-1/health"])
    proc = start_edge_sync(tmp_path, broker.port)
    try:
        status, _ = _next(got, "signet/v1/dev-1/status")
        while status["state"] != "online":
            status, _ = _next(got, "signet/v1/dev-1/status")
        assert status["device_id"] == "dev-1" and status.get("versions") is not None
        health, _ = _next(got, "signet/v1/dev-1/health", timeout=90)
        assert health["device_id"] == "dev-1" and "outbox_backlog" in json.dumps(health)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGKILL)  # no goodbye: only the broker can say it is gone
        proc.wait(10)
        status, _ = _next(got, "signet/v1/dev-1/status", timeout=30)
        while status["state"] == "online":  # a late retained copy
            status, _ = _next(got, "signet/v1/dev-1/status", timeout=30)
        assert status["state"] == "offline" and status["device_id"] == "dev-1"
        print(f"offline will published {time.monotonic() - t0:.2f} s after SIGKILL")
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.loop_stop()
        watcher.disconnect()
    # Retained: whoever subscribes later (a dashboard restarting) learns it too.
    late, got2 = _watch(broker.port, ["signet/v1/dev-1/status"])
    try:
        status, retained = _next(got2, "signet/v1/dev-1/status", timeout=10)
        assert retained and status["state"] == "offline"
    finally:
        late.loop_stop()
        late.disconnect()
