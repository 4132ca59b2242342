"""The ingest worker: MQTT (shared subscription, manual ack) -> batched, idempotent SQL writes.

Delivery rules:
- results and health arrive through the shared subscription ``$share/ingest/...`` so N workers
  split them; status and command states are retained, and the broker does not send retained
  messages to shared subscriptions, so every worker subscribes to those directly (writing them
  twice is harmless: older reports are ignored);
- the session is persistent (``clean_start=False`` + session expiry) so messages published while
  a worker is down wait for it on the broker;
- a message is acknowledged (``client.ack``) only after the transaction that stored it (or
  dead-lettered it) committed; a crash before that gets it redelivered, and the upsert by
  ``result_id`` turns the redelivery into a no-op;
- an invalid message is dead-lettered with the reason and acknowledged; it never stops the
  worker. When the database is down the batch is retried with backoff and nothing is acked.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError, SQLAlchemyError

from cloud.config import IngestConfig
from cloud.db import write
from cloud.db.engine import session_scope
from cloud.ingest.validate import Parsed, parse
from edge.contract import CommandState, ContractError, utcnow

log = logging.getLogger(__name__)

SHARED_GROUP = "ingest"
SHARED_TOPICS = ("signet/v1/+/result", "signet/v1/+/health")
DIRECT_TOPICS = ("signet/v1/+/status", "signet/v1/+/cmd/+/state")


@dataclass
class Item:
    mid: int
    qos: int
    topic: str
    payload: bytes
    gen: int
    parsed: Parsed | None = None
    reason: str | None = None


@dataclass
class Stats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    batches: int = 0
    db_retries: int = 0
    last_batch_ms: float = 0.0


def tune_gc() -> None:
    """For a process that is an ingest worker and nothing else, called once it has started.

    Every batch allocates tens of thousands of short-lived objects (parsed messages, row dicts),
    so the collector's oldest generation keeps being scanned, and each scan walks every
    long-lived object too (modules, SQLAlchemy's compiled statements, paho's state). That
    was ~20% of the write path (SQLite, 500 results a batch: 193 -> 150 us per result).
    Freezing what exists at start-up takes those objects out of the scans, and a larger
    first-generation threshold means fewer collections per batch. Reference cycles are still
    collected, only less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def _retryable(exc: BaseException) -> bool:
    """The database is away or not ready (retry the batch), rather than refusing one message."""
    if isinstance(exc, (OperationalError, InterfaceError, ProgrammingError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _why(exc: BaseException) -> str:
    return type(getattr(exc, "orig", None) or exc).__name__


class IngestWorker:
    """One worker process's loop. ``run()`` blocks; ``start()``/``stop()`` run it in a thread."""

    def __init__(
        self,
        cfg: IngestConfig,
        engine: Engine,
        on_command_state: Callable[[CommandState], None] | None = None,
        on_commit: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.engine = engine
        self.on_command_state = on_command_state
        self.stats = Stats()
        self._on_commit = on_commit
        self._queue: queue.Queue[Item] = queue.Queue()
        self._stop = threading.Event()
        self._gen = 0
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = self._make_client()

    # -- MQTT ------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        c = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.cfg.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        password = self.cfg.password
        if not password and self.cfg.password_file:
            password = self.cfg.password_file.read_text(encoding="utf-8").strip()
        if self.cfg.username:
            c.username_pw_set(self.cfg.username, password)
        if self.cfg.tls:
            c.tls_set(ca_certs=str(self.cfg.ca_file) if self.cfg.ca_file else None)
        # Come back fast: after a broker restart, shared subscriptions exist again only once we
        # resubscribe (Mosquitto does not restore them); devices resend after sync.replay_delay_s.
        c.reconnect_delay_set(1, 2)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        return c

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused ingest's connection: %s (check ingest.username/password)", reason)
            return
        self._gen += 1
        log.info("ingest %s connected (session present: %s)", self.cfg.client_id, flags.session_present)
        subs = [(f"$share/{SHARED_GROUP}/{t}", 1) for t in SHARED_TOPICS] + [(t, 1) for t in DIRECT_TOPICS]
        client.subscribe(subs)
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("ingest %s disconnected: %s; paho reconnects", self.cfg.client_id, reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._queue.put(Item(msg.mid, msg.qos, msg.topic, bytes(msg.payload), self._gen))

    def connect(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.cfg.session_expiry_s
        self._client.connect_async(
            self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s, clean_start=False, properties=props
        )
        self._client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Connect and run the batch loop in a background thread."""
        self.connect()
        self._thread = threading.Thread(target=self._loop, name=f"ingest-{self.cfg.client_id}", daemon=True)
        self._thread.start()

    def run(self) -> None:
        """Connect and run the batch loop in this thread until :meth:`stop` (or Ctrl-C)."""
        self.connect()
        try:
            self._loop()
        finally:
            self.close()

    def request_stop(self) -> None:
        """Ask the loop to finish its current batch and return (signal-handler safe)."""
        self._stop.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.close()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    # -- batches ---------------------------------------------------------------------------
    def _next_batch(self) -> list[Item]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.cfg.batch_wait_ms / 1000
        while len(batch) < self.cfg.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
        return batch

    def _loop(self) -> None:
        next_sweep = time.monotonic() + self.cfg.sweep_interval_s
        while not self._stop.is_set():
            batch = self._next_batch()
            if batch:
                self.stats.received += len(batch)
                for it in batch:
                    try:
                        it.parsed = parse(it.topic, it.payload, self.cfg.max_payload_bytes)
                    except ContractError as exc:
                        it.reason = exc.reason
                    except Exception as exc:  # a payload must never stop the worker, whatever it holds
                        log.exception("unexpected error reading a message on %s", it.topic)
                        it.reason = f"unreadable: {type(exc).__name__}: {str(exc)[:500]}"
                if not self._write_with_retry(batch):
                    return  # stopping while the database is down: nothing acked, all redelivered
                for it in batch:
                    self._ack(it)
            if time.monotonic() >= next_sweep:
                self._sweep()
                next_sweep = time.monotonic() + self.cfg.sweep_interval_s

    def _ack(self, it: Item) -> None:
        # A message from an earlier connection is not acked: its packet id may now name another
        # message. The broker redelivers it on the new connection; storing it again is a no-op.
        if it.qos > 0 and it.gen == self._gen and self._connected.is_set():
            self._client.ack(it.mid, it.qos)

    def _write_with_retry(self, batch: list[Item]) -> bool:
        delay = 0.5
        while True:
            try:
                self._write(batch)
                return True
            except SQLAlchemyError as exc:
                if not _retryable(exc):
                    self._write_one_by_one(batch)
                    return True
                self.stats.db_retries += 1
                log.warning(
                    "database unavailable (%s); %d message(s) held, retrying in %.1f s",
                    _why(exc), len(batch), delay,
                )  # fmt: skip
                if self._stop.wait(delay):
                    return False
                delay = min(delay * 2, 10.0)

    def _write(self, batch: list[Item]) -> None:
        t0 = time.perf_counter()
        results = [it.parsed.message for it in batch if it.parsed and it.parsed.kind == "result"]
        with session_scope(self.engine) as s:
            new = write.upsert_results(s, results) if results else 0
            for it in batch:
                if it.reason is not None:
                    write.add_dead_letter(s, it.topic, it.payload, it.reason)
                elif it.parsed is None or it.parsed.kind == "result":
                    continue
                elif it.parsed.kind == "status":
                    write.record_status(s, it.parsed.message)
                elif it.parsed.kind == "health":
                    write.record_health(s, it.parsed.message)
        self._after_commit(batch, new, len(results), t0)

    def _after_commit(self, batch: list[Item], new: int, results: int, t0: float) -> None:
        self.stats.batches += 1
        self.stats.stored += new
        self.stats.duplicates += results - new
        bad = [it for it in batch if it.reason is not None]
        self.stats.dead_letters += len(bad)
        for it in bad:
            log.warning("dead-lettered message on %s: %s", it.topic, it.reason)
        self.stats.last_batch_ms = (time.perf_counter() - t0) * 1000
        if self._on_commit is not None:
            self._on_commit(
                [str(it.parsed.message.result_id) for it in batch if it.parsed and it.parsed.kind == "result"]
            )
        if self.on_command_state is not None:
            for it in batch:
                if it.parsed is not None and it.parsed.kind == "command_state":
                    self.on_command_state(it.parsed.message)

    def _write_one_by_one(self, batch: list[Item]) -> None:
        """One message poisoned the batch: store the others, dead-letter that one with the error."""
        for it in batch:
            while True:
                try:
                    self._write([it])
                    break
                except SQLAlchemyError as exc:
                    if _retryable(exc):
                        self.stats.db_retries += 1
                        if self._stop.wait(1.0):
                            return
                        continue
                    orig = getattr(exc, "orig", None) or exc
                    it.reason = f"database refused it: {type(orig).__name__}: {str(orig)[:500]}"
                    it.parsed = None

    def _sweep(self) -> None:
        """Devices silent for longer than ``offline_after_s`` are marked offline."""
        try:
            with session_scope(self.engine) as s:
                gone = write.mark_silent_offline(s, utcnow() - timedelta(seconds=self.cfg.offline_after_s))
            for dev in gone:
                log.info("device %s silent for over %.0f s: marked offline", dev, self.cfg.offline_after_s)
        except SQLAlchemyError as exc:
            log.warning("offline sweep skipped: %s", exc)
