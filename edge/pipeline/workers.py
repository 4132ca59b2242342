"""Reading in worker processes, so OCR and classification use both cores beside the live loop.

Each worker builds its own reader from the settings (``PageReader(cfg)`` inside the process: the
reader holds ONNX Runtime sessions and Tesseract state that must not cross a fork). Jobs in flight
are remembered; a job running longer than the stage timeout means a stuck worker: the pool is
killed and rebuilt and the unfinished jobs go again (a page never drops), up to ``max_attempts``,
after which the job completes with an error instead of looping forever.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

_READER: Any = None


def _init_worker(factory: Callable[[Any], Any], cfg: Any, nice: int = 0) -> None:
    global _READER
    if nice:
        # Reading is batch work; the live overlay is what a visitor watches. A lower priority
        # (inherited by the Tesseract subprocesses) leaves the camera loop its share of the cores.
        os.nice(nice)
    _READER = factory(cfg)


def _warm(hold_s: float) -> int:
    # The initializer has built the reader by now; holding briefly makes the pool start every
    # worker rather than reuse the first one.
    time.sleep(hold_s)
    return os.getpid()


def _read(image: Any, detections: list[Any], profile: str) -> Any:
    return _READER.read(image, detections, profile)


def default_reader_factory(cfg: Any) -> Any:
    """Build the real PageReader (imported in the worker, so the parent need not load it)."""
    from edge.read import PageReader

    reader = PageReader(cfg)
    reader.warm_up()
    return reader


@dataclass
class ReadJob:
    image: Any
    detections: list[Any]
    profile: str
    on_done: Callable[[Any | None, str | None], None]  # (reading, error)
    attempts: int = 0
    started: float = 0.0
    future: Future[Any] | None = field(default=None, repr=False)


class ReadPool:
    """A process pool for ``reader.read``; ``factory(cfg)`` builds the reader in each worker."""

    def __init__(
        self,
        cfg: Any,
        workers: int,
        timeout_s: float,
        factory: Callable[[Any], Any] = default_reader_factory,
        max_attempts: int = 2,
        nice: int = 0,
    ) -> None:
        self.nice = nice
        self.cfg = cfg
        self.workers = workers
        self.timeout_s = timeout_s
        self.factory = factory
        self.max_attempts = max_attempts
        self.restarts = 0
        self._jobs: dict[int, ReadJob] = {}
        self._next = 0
        self._lock = threading.RLock()
        self._pool = self._make_pool()

    def _make_pool(self) -> ProcessPoolExecutor:
        # spawn: the parent has threads and ONNX Runtime sessions; forking those is unsafe.
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=mp.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.factory, self.cfg, self.nice),
        )
        # Start the workers and build their readers now, not when the first document arrives
        # (importing and loading models takes seconds that would land on the first result).
        for _ in range(self.workers):
            pool.submit(_warm, 0.2)
        return pool

    def in_flight(self) -> int:
        with self._lock:
            return len(self._jobs)

    def submit(
        self,
        image: Any,
        detections: list[Any],
        profile: str,
        on_done: Callable[[Any | None, str | None], None],
    ) -> None:
        job = ReadJob(image, detections, profile, on_done)
        with self._lock:
            jid = self._next
            self._next += 1
            self._jobs[jid] = job
            self._launch(jid, job)

    def _launch(self, jid: int, job: ReadJob) -> None:
        job.attempts += 1
        job.started = time.monotonic()
        try:
            fut = self._pool.submit(_read, job.image, job.detections, job.profile)
        except (BrokenProcessPool, RuntimeError) as exc:
            log.error("read pool broken on submit (%s); rebuilding", exc)
            self._rebuild(f"pool broken: {exc}")
            return
        job.future = fut

        def callback(f: Future[Any]) -> None:
            self._done(jid, f)

        fut.add_done_callback(callback)

    def _done(self, jid: int, fut: Future[Any]) -> None:
        with self._lock:
            job = self._jobs.get(jid)
            if job is None or job.future is not fut:
                return  # superseded by a restart
            if fut.cancelled():
                return
            exc = fut.exception()
            if isinstance(exc, BrokenProcessPool):
                # A worker died (OOM kill, segfault): rebuild from the watchdog thread, not here.
                job.started = -1.0
                return
            del self._jobs[jid]
        if exc is not None:
            job.on_done(None, f"reading failed: {exc.__class__.__name__}: {exc}")
        else:
            job.on_done(fut.result(), None)

    def check(self) -> str | None:
        """Called by the watchdog: rebuild the pool when a job is stuck or a worker died."""
        now = time.monotonic()
        with self._lock:
            stuck = [
                j
                for j in self._jobs.values()
                if j.started < 0 or (j.started and now - j.started > self.timeout_s)
            ]
            if not stuck:
                return None
            why = (
                "a reading worker died"
                if any(j.started < 0 for j in stuck)
                else (f"a reading job ran over {self.timeout_s:.0f} s")
            )
            self._rebuild(why)
            return f"read pool restarted: {why}"

    def _rebuild(self, why: str) -> None:
        with self._lock:
            old = self._pool
            self.restarts += 1
            procs = list(
                getattr(old, "_processes", {}).values()
            )  # private, but the only handle to kill a stuck worker
            for p in procs:
                p.kill()
            old.shutdown(wait=False, cancel_futures=True)
            self._pool = self._make_pool()
            failed = []
            for jid, job in list(self._jobs.items()):
                if job.attempts >= self.max_attempts:
                    del self._jobs[jid]
                    failed.append(job)
                else:
                    self._launch(jid, job)
        for job in failed:
            job.on_done(None, f"reading gave up after {job.attempts} attempts ({why})")

    def swap(self, cfg: Any, factory: Callable[[Any], Any] | None = None) -> None:
        """New reader settings: the next pool builds readers from them; jobs in flight finish first."""
        with self._lock:
            old = self._pool
            self.cfg = cfg
            if factory is not None:
                self.factory = factory
            self._pool = self._make_pool()
        old.shutdown(wait=True)

    def drain(self, timeout_s: float) -> bool:
        """Wait until no job is in flight (True) or the timeout passes (False)."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.in_flight() == 0:
                return True
            time.sleep(0.05)
        return self.in_flight() == 0

    def close(self) -> None:
        with self._lock:
            procs = list((getattr(self._pool, "_processes", None) or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                p.kill()
