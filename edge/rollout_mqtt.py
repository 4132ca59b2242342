"""MQTT side of the model rollout on the device: listen for desired models, publish step states.

Subscribes to the retained fleet desired-models topic and this device's own one (a canary or site
target; an empty retained payload clears it), hands each message to a
:class:`~edge.rollout.ModelUpdater` in one worker thread (a download must not block the MQTT loop;
the updater decides which message wins), and publishes each step retained on
``signet/v1/<device>/cmd/model/state``. In the edge process the sync client (engineer E) does the
same: ``SyncClient(..., on_desired=updater.handle)`` with ``report=sync.publish_state``.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from edge.config import BrokerConfig
from edge.contract import (
    FLEET_DESIRED_TOPIC,
    CommandState,
    ContractError,
    DesiredModels,
    command_state_topic,
    decode,
    device_desired_topic,
    encode,
)
from edge.rollout import ModelUpdater

log = logging.getLogger(__name__)


class RolloutListener:
    """Connects ``updater`` to the broker. ``start()`` / ``stop()``."""

    def __init__(
        self, updater: ModelUpdater, broker: BrokerConfig, device_id: str, client_id: str | None = None
    ) -> None:
        self.updater = updater
        self.broker = broker
        self.device_id = device_id
        self.client_id = client_id or f"{device_id}-rollout"
        self._queue: queue.Queue[DesiredModels | str | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="model-rollout", daemon=True)
        self._client: Any = None

    def start(self) -> None:
        import paho.mqtt.client as mqtt

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv311)
        if self.broker.username:
            password = self.broker.password
            if password is None and self.broker.password_file:
                password = self.broker.password_file.read_text().strip()
            c.username_pw_set(self.broker.username, password)
        if self.broker.tls:
            c.tls_set(ca_certs=str(self.broker.ca_file) if self.broker.ca_file else None)
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        c.reconnect_delay_set(1, 30)
        self._client = c
        self._worker.start()
        c.connect_async(self.broker.host, self.broker.port, keepalive=self.broker.keepalive_s)
        c.loop_start()

    def stop(self) -> None:
        self._queue.put(None)
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()
        self._worker.join(timeout=30)

    def publish_state(self, state: CommandState) -> None:
        """Retained so the cloud sees the last step even if it was offline when it happened."""
        if self._client is not None:
            self._client.publish(
                command_state_topic(self.device_id, "model"), encode(state), qos=1, retain=True
            )

    def _on_connect(
        self, client: Any, _userdata: Any, _flags: Any, reason_code: Any, _props: Any = None
    ) -> None:
        if getattr(reason_code, "is_failure", False):
            log.warning("rollout listener: broker refused the connection: %s", reason_code)
            return
        client.subscribe([(FLEET_DESIRED_TOPIC, 1), (device_desired_topic(self.device_id), 1)])

    def _on_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        if not msg.payload:
            if msg.topic != FLEET_DESIRED_TOPIC:
                self._queue.put("clear")  # the device's target was cleared: follow the fleet
            return
        try:
            self._queue.put(decode(DesiredModels, msg.payload))
        except ContractError as exc:
            log.error("ignoring invalid desired-models message on %s: %s", msg.topic, exc.reason)

    def _run(self) -> None:
        # One worker: downloads never block the MQTT loop, and messages are applied in order
        # (the updater keeps the newest fleet and target messages and acts on the newer one).
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                if item == "clear":
                    self.updater.clear_target()
                else:
                    assert isinstance(item, DesiredModels)
                    self.updater.handle(item)
            except Exception:
                log.exception("model rollout crashed")
