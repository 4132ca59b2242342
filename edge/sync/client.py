"""SyncClient: publishes the outbox to the broker, reports status and health, answers commands.

One thread owns the MQTT connection and runs paho's network loop itself (``client.loop``), so
every callback runs on that thread and the in-flight bookkeeping needs no locks. The loop:

1. connect (client id = device id, persistent session, last will ``offline``), backing off with
   jitter while the broker is away or refuses us;
2. on CONNACK: subscribe to our commands and the fleet's desired models, publish the retained
   ``online`` Status with versions;
3. repeatedly: run the network loop, mark acknowledged rows sent (batched, one transaction),
   claim the next pending rows after the highest one in flight and publish them while fewer
   than ``inflight`` are waiting for their PUBACK; publish health every ``health_interval_s``.

paho keeps unacknowledged QoS 1 messages across reconnects and resends them (same message id),
so a broker restart does not lose or reorder anything; a process restart starts again from the
oldest unsent row. Rows are marked sent only on a successful PUBACK.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from edge.config import DeviceConfig, SyncConfig
from edge.contract import (
    FLEET_DESIRED_TOPIC,
    Command,
    CommandState,
    ContractError,
    DesiredModels,
    Health,
    Status,
    command_state_topic,
    command_topic,
    decode,
    device_desired_topic,
    encode,
    health_topic,
    status_topic,
)
from edge.store import outbox
from edge.sync.commands import CommandHandler
from edge.sync.images import ImageUploader
from edge.sync.mqtt import Backoff, connect_properties, explain_connack, make_client

log = logging.getLogger(__name__)

OnCommand = Callable[[Command], "CommandState | None"]
OnDesired = Callable[[DesiredModels], None]
HealthProvider = Callable[[], Health]


def _store_path(store: Any) -> Path:
    """The SQLite file of an EdgeStore (or anything with ``.path`` / ``.cfg.path``), or a path."""
    if isinstance(store, (str, os.PathLike)):
        return Path(store)
    path = getattr(store, "path", None) or getattr(getattr(store, "cfg", None), "path", None)
    if path is None:
        raise TypeError("store must be an EdgeStore or a path to its SQLite file")
    return Path(path)


def open_db(path: Path) -> sqlite3.Connection:
    """The sync thread's own connection (sqlite3 connections must not cross threads)."""
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    # Losing a "sent" mark to a power cut only means one harmless duplicate: NORMAL is enough.
    conn.execute("PRAGMA synchronous=NORMAL")
    outbox.ensure_schema(conn)
    return conn


class SyncClient:
    """Device-side sync. ``start()`` spawns the threads, ``stop()`` says goodbye and joins them.

    ``on_command`` receives ``model``/``rollback`` commands (the rollout) and may return the
    final CommandState or None (then it reports later through :meth:`publish_state`).
    ``on_desired`` receives desired-model messages. ``versions`` goes into the ``online`` Status.
    """

    def __init__(
        self,
        cfg: SyncConfig,
        device: DeviceConfig,
        store: Any,
        on_command: OnCommand | None = None,
        *,
        versions: dict[str, str] | None = None,
        health: HealthProvider | None = None,
        on_desired: OnDesired | None = None,
        image_path: Callable[[str], Path] | None = None,
    ) -> None:
        self.cfg = cfg
        self.device = device
        self.db_path = _store_path(store)
        self.versions = dict(versions or {})
        self._health = health
        self._on_desired = on_desired
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._outgoing: queue.Queue[tuple[str, bytes, int, bool]] = queue.Queue()
        self._inflight: dict[int, int] = {}  # paho mid -> outbox seq
        self._high = 0  # highest seq handed to paho
        self._acked: list[int] = []
        self._failed: list[int] = []
        self._pause_until = 0.0
        self._replay_from: float | None = None  # set on reconnect: resend what was acked since
        self._replay_at = 0.0
        self.replayed = 0
        self._connected = threading.Event()
        self._connack: Any = None
        self._started_at = time.monotonic()
        self.published = 0
        self.acknowledged = 0
        self.connects = 0
        self._client: mqtt.Client | None = None
        self.commands = CommandHandler(self, on_command)
        self._image_path = image_path or getattr(store, "image_path", None)
        self._uploader: ImageUploader | None = None
        self._leaving = False

    # -- public ---------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        """Start syncing in the background (no-op when sync is disabled)."""
        if not self.cfg.enabled:
            log.info("sync disabled by configuration")
            return
        self._stop.clear()
        self._leaving = False
        self._thread = threading.Thread(target=self._run, name="signet-sync", daemon=True)
        self._thread.start()
        if self._image_path is not None and self.cfg.cloud_url:
            self._uploader = ImageUploader(self.cfg, self.db_path, self._image_path, self._stop)
            self._uploader.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Publish the ``offline`` Status, disconnect and join the threads."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._uploader is not None:
            self._uploader.join(timeout)
            self._uploader = None

    def notify(self) -> None:
        """Tell the sync thread new rows are waiting (optional: it polls anyway)."""
        self._wake.set()

    def set_version(self, kind: str, label: str) -> None:
        """Record what the device now runs for ``kind`` (a rollout swapped a model in) and queue
        the retained ``online`` Status again (thread-safe), so the fleet sees it without waiting
        for a reconnect."""
        # a new dict, swapped in whole: the sync thread may be reading the old one as it connects
        self.versions = {**self.versions, kind: label}
        online = Status(
            device_id=self.device.id, state="online", site=self.device.site, versions=self.versions
        )
        self._outgoing.put((status_topic(self.device.id), encode(online), 1, True))
        self._wake.set()

    def publish_state(self, state: CommandState) -> None:
        """Queue a retained command state (thread-safe; used by the rollout for progress)."""
        self._outgoing.put((command_state_topic(self.device.id, state.name), encode(state), 1, True))
        self._wake.set()

    @property
    def in_flight(self) -> int:
        """Results published and not yet acknowledged by the broker (at most ``sync.inflight``)."""
        return len(self._inflight)

    def backlog(self) -> int:
        conn = open_db(self.db_path)
        try:
            return outbox.backlog(conn)
        finally:
            conn.close()

    def wait_drained(self, timeout: float) -> bool:
        """Block until the result outbox is empty (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        conn = open_db(self.db_path)
        try:
            while time.monotonic() < deadline:
                if outbox.backlog(conn, "result") == 0:
                    return True
                time.sleep(0.05)
            return False
        finally:
            conn.close()

    # -- thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        db = open_db(self.db_path)
        backoff = Backoff(self.cfg.broker.reconnect_min_s, self.cfg.broker.reconnect_max_s)
        next_health = 0.0
        try:
            while not self._stop.is_set():
                if not self.connected:
                    if not self._connect(backoff):
                        self._stop.wait(backoff.next())
                    continue
                client = self._client
                assert client is not None
                busy = bool(self._inflight)
                rc = client.loop(timeout=0.005 if busy else 0.02)
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    self._lost(f"network loop: {mqtt.error_string(rc)}")
                    self._stop.wait(backoff.next())
                    continue
                self._settle(db)
                self._send_outgoing(client)
                now = time.monotonic()
                if now >= next_health:
                    self._publish_health(client, db)
                    next_health = now + self.cfg.health_interval_s
                if self._replay_from is not None and now >= self._replay_at:
                    self._replay(client, db, self._replay_from)
                    self._replay_from = None
                if now >= self._pause_until:
                    self._fill_window(client, db)
            self._goodbye()
        except Exception:
            log.exception("sync thread crashed")
            raise
        finally:
            self._settle(db)
            db.close()

    def _connect(self, backoff: Backoff) -> bool:
        b = self.cfg.broker
        will = Status(
            device_id=self.device.id, state="offline", site=self.device.site, versions=self.versions
        )
        if self._client is None:
            self._client = make_client(self.device.id, b, will)
            self._client.on_connect = self._on_connect
            self._client.on_disconnect = self._on_disconnect
            self._client.on_publish = self._on_publish
            self._client.on_message = self._on_message
        client = self._client
        self._connack = None
        try:
            client.connect(
                b.host, b.port, keepalive=b.keepalive_s, clean_start=False,
                properties=connect_properties(b.session_expiry_s),
            )  # fmt: skip
        except (OSError, ValueError) as exc:
            log.warning("broker %s:%s unreachable: %s", b.host, b.port, exc)
            return False
        deadline = time.monotonic() + 10.0
        while self._connack is None and time.monotonic() < deadline and not self._stop.is_set():
            if client.loop(timeout=0.1) != mqtt.MQTT_ERR_SUCCESS:
                break
        if self._connack is None or getattr(self._connack, "is_failure", True):
            if self._connack is None:
                log.warning("no CONNACK from broker %s:%s", b.host, b.port)
            self._connected.clear()
            with contextlib.suppress(Exception):  # already broken; the next attempt starts clean
                client.disconnect()
            return False
        backoff.reset()
        return True

    def _lost(self, why: str) -> None:
        if self.connected and not self._leaving:
            log.warning("connection to broker lost (%s); %d message(s) in flight", why, len(self._inflight))
        self._connected.clear()

    # -- paho callbacks (all on the sync thread) --------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connack = reason
        if reason.is_failure:
            log.error(explain_connack(reason))
            return
        self.connects += 1
        if self.connects > 1 and self.cfg.replay_s > 0:
            since = time.time() - self.cfg.replay_s
            self._replay_from = since if self._replay_from is None else min(self._replay_from, since)
            self._replay_at = time.monotonic() + self.cfg.replay_delay_s
        log.info("connected to broker as %s (session present: %s)", self.device.id, flags.session_present)
        client.subscribe(
            [
                (command_topic(self.device.id, "+"), 1),
                (FLEET_DESIRED_TOPIC, 1),
                (device_desired_topic(self.device.id), 1),
            ]
        )
        online = Status(
            device_id=self.device.id, state="online", site=self.device.site, versions=self.versions
        )
        client.publish(status_topic(self.device.id), encode(online), qos=1, retain=True)
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._lost(f"disconnected: {reason}")

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        seq = self._inflight.pop(mid, None)
        if seq is None:
            return  # a status/health/state message, not an outbox row
        if reason.is_failure:
            self._failed.append(seq)
        else:
            self._acked.append(seq)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        topic = msg.topic
        try:
            if topic in (FLEET_DESIRED_TOPIC, device_desired_topic(self.device.id)):
                if not msg.payload:
                    return  # a cleared retained message
                desired = decode(DesiredModels, bytes(msg.payload))
                if self._on_desired is not None:
                    threading.Thread(target=self._on_desired, args=(desired,), daemon=True).start()
                return
            name = topic.rsplit("/", 1)[-1]
            if not msg.payload:
                return
            self.commands.handle(name, decode(Command, bytes(msg.payload)))
        except ContractError as exc:
            log.warning("ignored invalid message on %s: %s", topic, exc.reason)

    # -- work -------------------------------------------------------------------------------
    def _settle(self, db: sqlite3.Connection) -> None:
        """Mark acknowledged rows sent; rewind to retry rows the broker refused."""
        if self._acked:
            outbox.mark_sent(db, self._acked)
            self.acknowledged += len(self._acked)
            self._acked = []
        if self._failed:
            first = min(self._failed)
            log.warning(
                "broker refused %d message(s) (first seq %d); retrying in %.0f s",
                len(self._failed), first, self.cfg.broker.reconnect_max_s,
            )  # fmt: skip
            self._high = min(self._high, first - 1)
            self._pause_until = time.monotonic() + self.cfg.broker.reconnect_max_s
            self._failed = []

    def _replay(self, client: mqtt.Client, db: sqlite3.Connection, since: float) -> None:
        """Send again what the broker acknowledged recently (it may have crashed before saving)."""
        rows = outbox.recently_sent(db, since)
        for row in rows:
            # Not tracked in the window: these rows are already marked sent.
            client.publish(row.topic, row.payload, qos=row.qos)
        self.replayed += len(rows)
        if rows:
            log.info(
                "reconnected: sent again %d result(s) acknowledged in the last %.0f s",
                len(rows),
                self.cfg.replay_s,
            )

    def _fill_window(self, client: mqtt.Client, db: sqlite3.Connection) -> None:
        room = self.cfg.inflight - len(self._inflight)
        if room <= 0:
            return
        busy = set(self._inflight.values())
        rows = outbox.claim(db, room + len(busy), after_seq=self._high)
        for row in rows:
            if row.seq in busy:
                continue
            if room <= 0:
                break
            info = client.publish(row.topic, row.payload, qos=row.qos)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                log.warning("publish of seq %d failed: %s", row.seq, mqtt.error_string(info.rc))
                break
            if row.qos == 0:
                self._acked.append(row.seq)  # nothing to wait for
            else:
                self._inflight[info.mid] = row.seq
            self._high = max(self._high, row.seq)
            self.published += 1
            room -= 1

    def _send_outgoing(self, client: mqtt.Client) -> None:
        while True:
            try:
                topic, payload, qos, retain = self._outgoing.get_nowait()
            except queue.Empty:
                return
            client.publish(topic, payload, qos=qos, retain=retain)

    def _publish_health(self, client: mqtt.Client, db: sqlite3.Connection) -> None:
        try:
            h = self._health() if self._health is not None else self._basic_health()
            h.outbox_backlog = outbox.backlog(db)
            client.publish(health_topic(self.device.id), encode(h), qos=1)
        except Exception:
            log.exception("could not build the health message")

    def _basic_health(self) -> Health:
        h = Health(device_id=self.device.id, uptime_s=time.monotonic() - self._started_at)
        try:
            st = os.statvfs(self.db_path.parent)
            h.disk_free_mb = st.f_bavail * st.f_frsize / 1_048_576
        except OSError:
            pass
        try:
            import psutil

            h.rss_mb = psutil.Process().memory_info().rss / 1_048_576
            h.cpu_percent = psutil.cpu_percent(interval=None)
        except Exception:  # psutil is optional on odd platforms
            pass
        return h

    def _goodbye(self) -> None:
        client = self._client
        if client is None or not self.connected:
            return
        offline = Status(
            device_id=self.device.id, state="offline", site=self.device.site, versions=self.versions
        )
        self._leaving = True
        info = client.publish(status_topic(self.device.id), encode(offline), qos=1, retain=True)
        deadline = time.monotonic() + 2.0
        while not info.is_published() and time.monotonic() < deadline:
            if client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                break
        client.disconnect()
        self._connected.clear()
