"""`signet cloud ingest` (the real process) records devices' model rollout progress in the
registry's rollout store, so the Models page shows it without a separate watcher."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt

from cloud.registry.rollout import RolloutStore
from edge.contract import CommandState, command_state_topic, encode
from tests.e2e.sync_env import REPO, SIGNET, env_for
from tests.support.broker import Broker


def test_ingest_process_records_model_states_and_ignores_other_commands(
    broker: Broker, tmp_path: Path
) -> None:
    state_db = tmp_path / "rollouts.db"
    env = env_for(
        database__url=f"sqlite:///{tmp_path / 'cloud.db'}",
        ingest__port=broker.port,
        ingest__client_id="ingest-state",
        mlflow__state_db=str(state_db),
    )
    proc = subprocess.Popen(
        [*SIGNET, "cloud", "ingest"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev-7")
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        model = CommandState(
            device_id="dev-7",
            name="model",
            command_id=uuid.uuid4(),
            state="active",
            detail="detector 1.3.0 active",
            data={"kind": "detector", "name": "signet-detector", "version": "1.3.0", "sha256": "ab" * 32},
        )
        other = CommandState(
            device_id="dev-7", name="config", command_id=uuid.uuid4(), state="ok", data={"kind": "images"}
        )
        pub.publish(
            command_state_topic("dev-7", "model"), encode(model), qos=1, retain=True
        ).wait_for_publish(5)
        pub.publish(
            command_state_topic("dev-7", "config"), encode(other), qos=1, retain=True
        ).wait_for_publish(5)
        store = RolloutStore(state_db)
        deadline = time.monotonic() + 60
        states: list[dict[str, object]] = []
        while time.monotonic() < deadline and not states:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            states = store.device_states()
            time.sleep(0.3)
        time.sleep(1.5)  # the config state, published after it, has had its chance too
        states = store.device_states()
        pub.loop_stop()
        pub.disconnect()
        assert len(states) == 1, states
        s = states[0]
        assert (s["device_id"], s["kind"], s["state"], s["version"]) == (
            "dev-7",
            "detector",
            "active",
            "1.3.0",
        )
    finally:
        proc.terminate()
        proc.wait(30)
