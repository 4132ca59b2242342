"""The device's MQTT connection: identity, persistent session, last will, TLS and backoff.

Kept apart from the publishing logic so the connection rules can be read in one place:
client id = device id, MQTT v5, ``clean_start=False`` with a session expiry (the broker keeps our
subscriptions and queued commands while we are away), a retained ``offline`` Status as the last
will, and reconnects spaced by exponential backoff with jitter so a fleet coming back after a
broker restart does not reconnect in lockstep.
"""

from __future__ import annotations

import logging
import random
import ssl
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config import BrokerConfig
from edge.contract import Status, encode, status_topic

log = logging.getLogger(__name__)


class Backoff:
    """Exponential backoff with "equal jitter": a delay in [d/2, d], d doubling up to ``max_s``."""

    def __init__(self, min_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self.min_s = min_s
        self.max_s = max(max_s, min_s)
        self.failures = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """The delay before the next attempt (and count one more failure)."""
        d = min(self.max_s, self.min_s * (2**self.failures))
        self.failures = min(self.failures + 1, 32)
        return d / 2 + self._rng.uniform(0, d / 2)

    def reset(self) -> None:
        self.failures = 0


def read_secret(value: str | None, path: Path | None) -> str | None:
    """A secret given inline (usually via the environment) or in a file (systemd credential)."""
    if value:
        return value
    if path is not None:
        return Path(path).read_text(encoding="utf-8").strip()
    return None


def make_client(device_id: str, broker: BrokerConfig, will: Status | None = None) -> mqtt.Client:
    """A paho client for this device (not yet connected)."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=device_id,
        protocol=mqtt.MQTTv5,
    )
    password = read_secret(broker.password, broker.password_file)
    if broker.username:
        client.username_pw_set(broker.username, password)
    if broker.tls:
        client.tls_set(
            ca_certs=str(broker.ca_file) if broker.ca_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    if will is not None:
        client.will_set(status_topic(device_id), encode(will), qos=1, retain=True)
    # Our own outbox bounds what is in flight; paho must not drop or hold back anything we hand it.
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    return client


def connect_properties(session_expiry_s: int) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = int(session_expiry_s)
    return props


def explain_connack(reason: object) -> str:
    """A sentence an operator can act on for a refused connection."""
    text = str(reason)
    low = text.lower()
    if "user name or password" in low or "bad username" in low:
        return f"broker refused the connection: {text} (check sync.broker.username and the password)"
    if "not authorized" in low:
        return f"broker refused the connection: {text} (wrong username or password, or the device was revoked: check sync.broker.username/password)"
    if "identifier" in low:
        return f"broker refused the connection: {text} (client id = device id must be valid)"
    return f"broker refused the connection: {text}"
