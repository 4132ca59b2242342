"""Stage heartbeats, a watchdog that restarts a stalled stage within a restart budget, and
systemd's sd_notify protocol (READY=1, WATCHDOG=1, STATUS=...) written to $NOTIFY_SOCKET.

A stage is a thread running ``loop(stage)``; it calls ``stage.beat()`` whenever it finishes an
item or waits idle. A stage silent for ``timeout_s`` is stalled: the watchdog starts a fresh thread
for it (the old one, if it ever wakes up, sees it is stale and leaves). When the budget of restarts
per hour is spent, the watchdog stops petting systemd, which then restarts the whole process.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from statistics import median

log = logging.getLogger(__name__)


class Notifier:
    """sd_notify without libsystemd: one datagram per message to the socket systemd gave us."""

    def __init__(self, socket_path: str | None, watchdog_usec: str | None = None) -> None:
        self.path = socket_path or None
        self.watchdog_s = int(watchdog_usec) / 1e6 if watchdog_usec and watchdog_usec.isdigit() else None
        self.sent: list[str] = []

    def notify(self, message: str) -> bool:
        if not self.path:
            return False
        addr = self.path
        if addr.startswith("@"):  # abstract namespace socket
            addr = "\0" + addr[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.connect(addr)
                s.sendall(message.encode("utf-8"))
        except OSError as exc:
            log.warning("sd_notify failed: %s", exc)
            return False
        self.sent.append(message)
        return True

    def ready(self, status: str) -> None:
        self.notify(f"READY=1\nSTATUS={status}")

    def status(self, status: str) -> None:
        self.notify(f"STATUS={status}")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")


class Stage:
    """One named stage thread with a heartbeat and latency statistics."""

    def __init__(self, name: str, loop: Callable[[Stage], None]) -> None:
        self.name = name
        self._loop = loop
        self.generation = 0
        self.thread: threading.Thread | None = None
        self.last_beat = time.monotonic()
        self.count = 0
        self.errors = 0
        self.restarts = 0
        self._lat: deque[float] = deque(maxlen=200)
        self._done_at: deque[float] = deque(maxlen=2000)
        self._lock = threading.Lock()

    def start(self) -> None:
        self.generation += 1
        gen = self.generation
        self.last_beat = time.monotonic()

        def run() -> None:
            try:
                self._loop(self)
            except Exception:
                log.exception("stage %s crashed", self.name)
                self.errors += 1
                if gen == self.generation:
                    self.last_beat = 0.0  # let the watchdog restart it promptly

        self.thread = threading.Thread(target=run, name=f"stage-{self.name}-{gen}", daemon=True)
        self.thread.gen = gen  # type: ignore[attr-defined]
        self.thread.start()

    def current(self) -> bool:
        """False in a thread the watchdog has replaced: it must return."""
        t = threading.current_thread()
        return getattr(t, "gen", self.generation) == self.generation

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    def record(self, ms: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._lat.append(ms)
            self._done_at.append(now)
            self.count += 1
        self.last_beat = now

    def median_ms(self) -> float:
        with self._lock:
            return float(median(self._lat)) if self._lat else 0.0

    def rate(self, window_s: float = 10.0) -> float:
        """Items per second over the last ``window_s``."""
        now = time.monotonic()
        with self._lock:
            n = sum(1 for t in self._done_at if now - t <= window_s)
        return n / window_s

    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


class Watchdog:
    """Restarts stalled stages (budget per hour) and pets systemd while all is well."""

    def __init__(
        self,
        stages: list[Stage],
        timeout_s: float,
        budget: int,
        notifier: Notifier | None = None,
        extra_checks: list[Callable[[], str | None]] | None = None,
        interval_s: float = 1.0,
        stopping: Callable[[], bool] | None = None,
    ) -> None:
        self.stopping = stopping or (lambda: False)
        self.stages = stages
        self.timeout_s = timeout_s
        self.budget = budget
        self.notifier = notifier
        self.extra_checks = extra_checks or []
        self.interval_s = interval_s
        self.restart_times: deque[float] = deque()
        self.fatal: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_pet = 0.0

    def _spend(self, what: str) -> bool:
        now = time.monotonic()
        while self.restart_times and now - self.restart_times[0] > 3600:
            self.restart_times.popleft()
        if len(self.restart_times) >= self.budget:
            self.fatal = f"restart budget spent ({self.budget}/hour); last stall: {what}"
            log.error("%s", self.fatal)
            return False
        self.restart_times.append(now)
        return True

    def check_once(self) -> list[str]:
        """One pass: returns the names of stages restarted."""
        restarted = []
        now = time.monotonic()
        # While the process drains on its way out, stages end on purpose: keep petting systemd
        # (the drain is bounded by TimeoutStopSec) but restart nothing.
        for st in [] if self.stopping() else self.stages:
            if self.fatal:
                break
            if now - st.last_beat > self.timeout_s or not st.alive():
                why = (
                    f"stage {st.name} silent for {now - st.last_beat:.0f} s"
                    if st.alive()
                    else f"stage {st.name} died"
                )
                log.error("watchdog: %s, restarting it", why)
                if self._spend(why):
                    st.restarts += 1
                    st.start()
                    restarted.append(st.name)
        for check in [] if self.stopping() else self.extra_checks:
            if self.fatal:
                break
            problem = check()
            if problem:
                log.error("watchdog: %s", problem)
                self._spend(problem)
        pet_due = self.notifier is not None and (
            self.notifier.watchdog_s is None or now - self._last_pet >= self.notifier.watchdog_s / 2
        )
        if self.notifier is not None and pet_due and not self.fatal:
            self.notifier.watchdog()
            self._last_pet = now
        return restarted

    def start(self) -> None:
        def run() -> None:
            while not self._stop.wait(self.interval_s):
                self.check_once()

        self._thread = threading.Thread(target=run, name="watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
