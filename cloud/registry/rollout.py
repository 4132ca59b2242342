"""Rollout on the cloud: who should run what, publishing it, progress from devices, rollback.

The fleet's desired models (one per kind) are published retained on
``signet/v1/fleet/model/desired``; a site or canary target is published retained on each chosen
device's ``signet/v1/<device>/model/desired`` and wins there until the next fleet promotion clears
it (an empty retained payload). A canary picks devices by a hash of (model name, device id), so a
device in the 10 % is also in the 20 % when the canary widens. Devices report each step retained
on ``signet/v1/<device>/cmd/model/state``; :class:`StateWatcher` stores the latest per device.

State lives in a small SQLite file of its own (``registry.state_db``): rollouts, the current
desired models, and device progress. It is written only by promotions and the watcher.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge.contract import (
    FLEET_DESIRED_TOPIC,
    CommandState,
    ContractError,
    DesiredModel,
    DesiredModels,
    decode,
    device_desired_topic,
    encode,
    new_id,
    parse_topic,
)

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS rollouts (
  id TEXT PRIMARY KEY, at TEXT, kind TEXT, name TEXT, version TEXT, scope TEXT, target TEXT,
  devices TEXT, previous TEXT, actor TEXT, rolled_back_at TEXT);
CREATE TABLE IF NOT EXISTS desired (
  scope TEXT, kind TEXT, model TEXT, rollout_id TEXT, PRIMARY KEY (scope, kind));
CREATE TABLE IF NOT EXISTS device_states (
  device_id TEXT, kind TEXT, rollout_id TEXT, state TEXT, detail TEXT, name TEXT, version TEXT,
  progress REAL, at TEXT, PRIMARY KEY (device_id, kind));
"""
FLEET = "fleet"


def canary_devices(devices: Iterable[str], percent: float, salt: str) -> list[str]:
    """The devices in the first ``percent`` % of a stable hash order (nested as percent grows)."""

    def bucket(device: str) -> float:
        h = hashlib.sha256(f"{salt}:{device}".encode()).digest()
        return int.from_bytes(h[:8], "big") / 2**64 * 100.0

    return sorted(d for d in devices if bucket(d) < percent)


class RolloutStore:
    """SQLite state of rollouts and device progress (WAL; safe for the web and watcher processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        try:
            with db:
                yield db
        finally:
            db.close()

    def desired(self, scope: str) -> dict[str, DesiredModel]:
        with self._db() as db:
            rows = db.execute("SELECT kind, model FROM desired WHERE scope=?", (scope,)).fetchall()
        return {r["kind"]: DesiredModel.model_validate_json(r["model"]) for r in rows}

    def device_scopes(self) -> list[str]:
        with self._db() as db:
            return [r[0] for r in db.execute("SELECT DISTINCT scope FROM desired WHERE scope != ?", (FLEET,))]

    def set_desired(self, scope: str, model: DesiredModel, rollout_id: str) -> None:
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO desired VALUES (?,?,?,?)",
                (scope, model.kind, model.model_dump_json(), rollout_id),
            )

    def clear_device_desired(self, kind: str) -> list[str]:
        with self._db() as db:
            scopes = [
                r[0] for r in db.execute("SELECT scope FROM desired WHERE kind=? AND scope!=?", (kind, FLEET))
            ]
            db.execute("DELETE FROM desired WHERE kind=? AND scope!=?", (kind, FLEET))
        return scopes

    def add_rollout(self, row: dict[str, Any]) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO rollouts VALUES (:id,:at,:kind,:name,:version,:scope,:target,:devices,:previous,:actor,NULL)",
                row,
            )

    def rollouts(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM rollouts ORDER BY at DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]

    def last_fleet_rollout(self, kind: str) -> dict[str, Any] | None:
        with self._db() as db:
            r = db.execute(
                "SELECT * FROM rollouts WHERE kind=? AND scope=? AND rolled_back_at IS NULL ORDER BY at DESC LIMIT 1",
                (kind, FLEET),
            ).fetchone()
        return dict(r) if r else None

    def mark_rolled_back(self, rollout_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE rollouts SET rolled_back_at=? WHERE id=?", (_now(), rollout_id))

    def record_state(self, cs: CommandState) -> None:
        kind = str(cs.data.get("kind", "detector"))
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO device_states VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    cs.device_id,
                    kind,
                    str(cs.command_id) if cs.command_id else None,
                    cs.state,
                    cs.detail,
                    cs.data.get("name"),
                    cs.data.get("version"),
                    cs.progress,
                    cs.at.isoformat(),
                ),
            )

    def device_states(self) -> list[dict[str, Any]]:
        with self._db() as db:
            return [dict(r) for r in db.execute("SELECT * FROM device_states ORDER BY device_id, kind")]

    def progress(self, rollout: dict[str, Any]) -> dict[str, int]:
        """Count of the rollout's target devices per reported state (``pending`` when none yet)."""
        targets = json.loads(rollout["devices"] or "[]")
        with self._db() as db:
            rows = {
                r["device_id"]: r["state"]
                for r in db.execute(
                    "SELECT device_id, state FROM device_states WHERE rollout_id=?", (rollout["id"],)
                )
            }
        counts: dict[str, int] = {}
        for d in targets or list(rows):
            s = rows.get(d, "pending")
            counts[s] = counts.get(s, 0) + 1
        return counts


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Publisher:
    """Publishes retained desired-models messages (QoS 1, waits for the broker's acknowledgement)."""

    def __init__(
        self, host: str, port: int, username: str | None = None, password: str | None = None
    ) -> None:
        self.host, self.port, self.username, self.password = host, port, username, password

    def publish(self, messages: list[tuple[str, bytes]]) -> None:
        import paho.mqtt.client as mqtt

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"registry-{new_id().hex[:8]}")
        if self.username:
            c.username_pw_set(self.username, self.password)
        c.connect(self.host, self.port, keepalive=30)
        c.loop_start()
        try:
            infos = [c.publish(topic, payload, qos=1, retain=True) for topic, payload in messages]
            for info in infos:
                info.wait_for_publish(timeout=10)
                if not info.is_published():
                    raise RuntimeError(
                        f"broker {self.host}:{self.port} did not acknowledge the desired models"
                    )
        finally:
            c.disconnect()
            c.loop_stop()


class Rollouts:
    """Promotion and rollback: updates the store, then publishes what changed."""

    def __init__(self, store: RolloutStore, publisher: Publisher) -> None:
        self.store = store
        self.publisher = publisher

    def _device_message(self, device: str, rollout_id: str) -> bytes:
        models = {**self.store.desired(FLEET), **self.store.desired(device)}
        if not self.store.desired(device):
            return b""  # nothing device-specific left: clear the retained target
        return encode(DesiredModels(rollout_id=rollout_id, models=list(models.values()), devices=[device]))  # type: ignore[arg-type]

    def _fleet_message(self, rollout_id: str) -> list[tuple[str, bytes]]:
        fleet = self.store.desired(FLEET)
        if not fleet:
            return []
        return [
            (FLEET_DESIRED_TOPIC, encode(DesiredModels(rollout_id=rollout_id, models=list(fleet.values()))))
        ]  # type: ignore[arg-type]

    def _target_messages(self, cleared: list[str], rollout_id: str) -> list[tuple[str, bytes]]:
        """After a fleet change: clear the targets just dropped and re-issue the others, so that
        a device's own target stays newer than the fleet message (devices apply the newer one)."""
        devices = sorted(set(cleared) | set(self.store.device_scopes()))
        return [(device_desired_topic(d), self._device_message(d, rollout_id)) for d in devices]

    def promote(
        self, model: DesiredModel, devices: list[str] | None, scope: str, target: str = "", actor: str = "cli"
    ) -> str:
        """Make ``model`` desired for the fleet (``devices`` None) or for the listed devices."""
        rollout_id = str(new_id())
        previous = self.store.desired(FLEET).get(model.kind)
        messages: list[tuple[str, bytes]] = []
        if devices is None:
            self.store.set_desired(FLEET, model, rollout_id)
            cleared = self.store.clear_device_desired(model.kind)
            messages += self._fleet_message(rollout_id)
            messages += self._target_messages(cleared, rollout_id)
        else:
            for d in devices:
                self.store.set_desired(d, model, rollout_id)
            messages += [(device_desired_topic(d), self._device_message(d, rollout_id)) for d in devices]
        self.store.add_rollout(
            {
                "id": rollout_id,
                "at": _now(),
                "kind": model.kind,
                "name": model.name,
                "version": model.version,
                "scope": scope,
                "target": target,
                "devices": json.dumps(devices) if devices is not None else None,
                "previous": previous.model_dump_json() if previous else None,
                "actor": actor,
            }
        )
        self.publisher.publish(messages)
        log.info("rollout %s: %s %s to %s %s", rollout_id, model.name, model.version, scope, target or "")
        return rollout_id

    def rollback_fleet(self, kind: str, actor: str = "cli") -> DesiredModel:
        """Put the fleet back on the version before the last fleet promotion and drop every target."""
        last = self.store.last_fleet_rollout(kind)
        if last is None or not last["previous"]:
            raise ValueError(f"no earlier fleet version of the {kind} to roll back to")
        previous = DesiredModel.model_validate_json(last["previous"])
        self.store.mark_rolled_back(last["id"])
        rollout_id = str(new_id())
        self.store.set_desired(FLEET, previous, rollout_id)
        cleared = self.store.clear_device_desired(kind)
        self.store.add_rollout(
            {
                "id": rollout_id,
                "at": _now(),
                "kind": kind,
                "name": previous.name,
                "version": previous.version,
                "scope": "rollback",
                "target": f"from {last['name']} {last['version']}",
                "devices": None,
                "previous": None,
                "actor": actor,
            }
        )
        # The rollback row must not itself be a target of the next rollback.
        self.store.mark_rolled_back(rollout_id)
        self.publisher.publish(self._fleet_message(rollout_id) + self._target_messages(cleared, rollout_id))
        log.info("fleet rollback of the %s to %s %s", kind, previous.name, previous.version)
        return previous


class StateWatcher:
    """Subscribes to every device's retained model state and stores the latest per device and kind."""

    def __init__(
        self,
        store: RolloutStore,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.store = store
        self.host, self.port, self.username, self.password = host, port, username, password
        self._client: Any = None
        self.received = threading.Event()

    def start(self) -> None:
        import paho.mqtt.client as mqtt

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"registry-watch-{new_id().hex[:8]}")
        if self.username:
            c.username_pw_set(self.username, self.password)
        c.on_connect = lambda cl, *_a: cl.subscribe("signet/v1/+/cmd/model/state", qos=1)
        c.on_message = self._on_message
        c.connect_async(self.host, self.port, keepalive=30)
        c.loop_start()
        self._client = c

    def stop(self) -> None:
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        if not msg.payload:
            return
        try:
            device, _ = parse_topic(msg.topic)
            cs = decode(CommandState, msg.payload)
            if cs.device_id != device:
                raise ContractError(f"device_id {cs.device_id!r} does not match topic device {device!r}")
        except ContractError as exc:
            log.warning("ignoring model state on %s: %s", msg.topic, exc.reason)
            return
        self.store.record_state(cs)
        self.received.set()
