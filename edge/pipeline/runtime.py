"""The running pipeline: capture -> gate -> detect -> read -> Result -> store.

Threads in this process capture, detect (the detector is fast and the live overlay needs it on
every frame) and store; reading runs in worker processes (:mod:`edge.pipeline.workers`).

Live sources: capture -> ``frames`` queue (drop_oldest) -> detect + overlay + gate -> read, once
per still document. Page sources: intake -> ``pages`` queue (block: never dropped) -> detect ->
read -> store; a file moves to done/ once every page is stored. Page result ids come from the
file's sha256 and page index, so after a crash the pages already stored are skipped and the rest
are processed again.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from edge.config import EdgeConfig, ReaderConfig
from edge.contract import ModelRef, Result
from edge.pipeline.gate import StillGate
from edge.pipeline.overlay import draw
from edge.pipeline.queues import Closed, StageQueue
from edge.pipeline.results import build_result, page_result_id
from edge.pipeline.watchdog import Notifier, Stage, Watchdog
from edge.pipeline.workers import ReadPool, default_reader_factory
from edge.sources import Doc, Frame, LiveSource, PageSource, Source, open_source
from edge.sources.pages import PageError
from edge.store import EdgeStore, StoreFull, encode_page

log = logging.getLogger(__name__)

POLL_S = 0.5
# Still documents a camera may have waiting while one is read: a visitor who shows a few pages
# in a row while the device is busy (the branch scanner reading beside it) keeps all of them;
# past this many the oldest waiting one is dropped, with a warning, so the newest page is never
# more than a few reads behind.
LIVE_BACKLOG = 3


@dataclass
class DocProgress:
    """How far one file got; it is finished once every page it yielded is stored."""

    doc: Doc
    enqueued: int = 0
    stored: int = 0
    complete: bool = False  # every page handed over (or a page error ended the file)
    error: str | None = None
    finished: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def maybe_finish(self) -> None:
        with self.lock:
            if self.finished or not self.complete or self.stored < self.enqueued:
                return
            self.finished = True
        self.doc.finish(self.error is None, self.error)


@dataclass
class PageJob:
    image: np.ndarray
    captured_at: datetime
    source_kind: str
    source_uri: str
    page_index: int
    page_count: int | None
    profile: str
    result_id: uuid.UUID
    dpi: int | None = None
    progress: DocProgress | None = None
    t_start: float = field(default_factory=time.monotonic)
    timings: dict[str, float] = field(default_factory=dict)
    detections: list[Any] = field(default_factory=list)
    detector_ref: ModelRef | None = None


class LiveView:
    """The latest annotated frame of one live source, for the kiosk stream."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.frame: np.ndarray | None = None
        self.seq = 0
        self.detections: list[Any] = []
        self.gate_note = ""

    def publish(self, frame: np.ndarray, detections: list[Any], note: str) -> None:
        with self.cond:
            self.frame = frame
            self.detections = detections
            self.gate_note = note
            self.seq += 1
            self.cond.notify_all()

    def wait_newer(self, seq: int, timeout: float) -> tuple[int, np.ndarray | None]:
        with self.cond:
            if self.seq <= seq:
                self.cond.wait(timeout)
            return self.seq, self.frame


class Pipeline:
    """Everything between the sources and the store, with its stages, queues and watchdog."""

    def __init__(
        self,
        cfg: EdgeConfig,
        detector: Any,
        store: EdgeStore,
        *,
        sources: list[Source] | None = None,
        reader_factory: Callable[[Any], Any] = default_reader_factory,
        notifier: Notifier | None = None,
        on_result: Callable[[Result], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.detector = detector
        self.store = store
        self.notifier = notifier
        self.on_result = on_result
        uris = [cfg.source.uri, *cfg.source.also]
        self.sources: list[Source] = (
            sources if sources is not None else [open_source(u, cfg.source) for u in uris]
        )
        pc = cfg.pipeline
        self.stop_event = threading.Event()
        self.page_queue: StageQueue[PageJob] = StageQueue("pages", pc.page_queue, "block")
        self.result_queue: StageQueue[tuple[PageJob, Any, str | None]] = StageQueue(
            "results", 100_000, "block"
        )
        self.frame_queues: dict[int, StageQueue[Frame]] = {}
        self.views: dict[int, LiveView] = {}
        self.gates: dict[int, StillGate] = {}
        self.pool = ReadPool(
            cfg.reader,
            pc.workers,
            pc.stage_timeout_s,
            reader_factory,
            nice=5 if any(s.live for s in self.sources) else 0,
        )
        # Pages in reading at once: enough to keep every worker busy, few enough that a drain
        # on SIGTERM finishes quickly. Beside a camera, no more than one page per worker, so a
        # still document from the camera never queues behind a backlog of scanned pages.
        has_live = any(s.live for s in self.sources)
        self._read_slots = threading.Semaphore(pc.workers if has_live else pc.workers * 2)
        self.stages: list[Stage] = []
        self.last_results: deque[Result] = deque(maxlen=20)
        self.pages_processed = 0
        self.pages_failed = 0
        self.intake_paused: str | None = None
        self.started_at = time.monotonic()
        self.first_frame_s: float | None = None
        self.still_latency_ms: deque[float] = deque(maxlen=200)
        self.watchdog: Watchdog | None = None
        self._lock = threading.Lock()
        self._pending = 0  # page jobs made and not yet settled in the store (for the drain)
        self._live_busy: dict[int, bool] = {}
        self._live_waiting: dict[int, deque[PageJob]] = {}
        self.live_superseded = 0
        for i, src in enumerate(self.sources):
            if src.live:
                self.frame_queues[i] = StageQueue(f"frames.{i}", pc.frame_queue, "drop_oldest")
                self.views[i] = LiveView()
                self.gates[i] = StillGate(pc.still_s, pc.motion_threshold, pc.min_detail, pc.same_doc_bits)

    # -- models ---------------------------------------------------------------------------
    def detector_ref(self) -> ModelRef:
        d = self.detector
        return ModelRef(
            name=str(getattr(d, "name", "detector")), version=str(getattr(d, "version", "unknown"))
        )

    def reader_config(self) -> ReaderConfig:
        """The reader settings the workers read with now (the start-up ones, or the last swapped in)."""
        return self.pool.cfg  # type: ignore[no-any-return]

    def swap_models(self, detector: Any | None = None, reader: Any | None = None) -> None:
        """Hot-swap models (used by the rollout): the detector at once (one reference
        assignment; a frame in detection finishes with the old one), the reader by rebuilding
        the worker pool from the new reader's settings (``reader.cfg`` or a ReaderConfig)."""
        if detector is not None:
            self.detector = detector
            log.info(
                "detector swapped to %s %s", getattr(detector, "name", "?"), getattr(detector, "version", "?")
            )
        if reader is not None:
            cfg = reader if isinstance(reader, ReaderConfig) else getattr(reader, "cfg", None)
            if cfg is None:
                raise TypeError(
                    "reader must be a ReaderConfig or have a .cfg (workers build their own reader)"
                )
            self.pool.swap(cfg)
            log.info(
                "reader swapped",
                extra={"classifier": str(cfg.classifier), "handwriting": str(cfg.handwriting)},
            )

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        for i, src in enumerate(self.sources):
            if src.live:
                cap = Stage(f"capture.{i}", self._capture_loop(i, src))  # type: ignore[arg-type]
                det = Stage(f"detect.{i}", self._detect_loop(i))
                self.stages += [cap, det]
                src.on_idle = cap.beat  # type: ignore[union-attr]
            else:
                intake = Stage(f"intake.{i}", self._intake_loop(src))  # type: ignore[arg-type]
                self.stages.append(intake)
                src.on_idle = intake.beat  # type: ignore[union-attr]
        if any(not s.live for s in self.sources):
            self.stages.append(Stage("detect.pages", self._detect_pages))
        self.stages.append(Stage("store", self._store))
        for st in self.stages:
            st.start()
        self.watchdog = Watchdog(
            self.stages,
            self.cfg.pipeline.stage_timeout_s,
            self.cfg.pipeline.restart_budget,
            self.notifier,
            extra_checks=[self.pool.check],
            stopping=self.stop_event.is_set,
        )
        self.watchdog.start()
        log.info("pipeline started", extra={"sources": [s.uri for s in self.sources]})

    def stop(self, drain: bool = True) -> bool:
        """Stop intake; with ``drain``, let pages in flight reach the store first. True when
        everything in flight was stored."""
        if self.notifier:
            self.notifier.stopping()
        self.stop_event.set()
        for st in self.stages:
            if st.name.startswith(("capture", "intake")) and st.thread is not None:
                st.thread.join(timeout=5)
        drained = True
        if drain:
            end = time.monotonic() + self.cfg.pipeline.drain_s
            while time.monotonic() < end:
                if not self._busy():
                    break
                time.sleep(0.05)
            drained = not self._busy()
        self.page_queue.close()
        self.result_queue.close()
        for q in self.frame_queues.values():
            q.close()
        if self.watchdog:
            self.watchdog.stop()
        for st in self.stages:
            if st.thread is not None:
                st.thread.join(timeout=5)
        self.pool.close()
        for src in self.sources:
            src.close()
        log.info("pipeline stopped", extra={"drained": drained})
        return drained

    def _busy(self) -> bool:
        with self._lock:
            return self._pending > 0

    def _job_added(self) -> None:
        with self._lock:
            self._pending += 1

    def _job_settled(self) -> None:
        with self._lock:
            self._pending -= 1

    @property
    def fatal(self) -> str | None:
        return self.watchdog.fatal if self.watchdog else None

    # -- live stages ----------------------------------------------------------------------
    def _capture_loop(self, i: int, src: LiveSource) -> Callable[[Stage], None]:
        return lambda st: self._capture(st, i, src)

    def _detect_loop(self, i: int) -> Callable[[Stage], None]:
        return lambda st: self._detect_live(st, i)

    def _intake_loop(self, src: PageSource) -> Callable[[Stage], None]:
        return lambda st: self._intake(st, src)

    def _capture(self, st: Stage, i: int, src: LiveSource) -> None:
        q = self.frame_queues[i]
        for frame in src.frames(self.stop_event):
            if not st.current():
                return
            if self.first_frame_s is None:
                self.first_frame_s = time.monotonic() - self.started_at
            try:
                q.put(frame)
            except Closed:
                return
            st.beat()
        # A file that ended is done; the watchdog must not restart it.
        st.beat()
        while not self.stop_event.wait(POLL_S) and st.current():
            st.beat()

    def _detect_live(self, st: Stage, i: int) -> None:
        q = self.frame_queues[i]
        view = self.views[i]
        gate = self.gates[i]
        src = self.sources[i]
        while st.current():
            try:
                frame = q.get(timeout=POLL_S)
            except Closed:
                return
            st.beat()
            if frame is None:
                continue
            t0 = time.perf_counter()
            detector = self.detector
            dets = detector.detect(frame.image)
            det_ms = (time.perf_counter() - t0) * 1000
            st.record(det_ms)
            decision = gate.update(frame.image, frame.t_mono)
            note = (
                "reading..."
                if decision.fire
                else ("hold still" if decision.present and not decision.still else "")
            )
            view.publish(draw(frame.image, dets, note), dets, note)
            if decision.fire:
                job = PageJob(
                    image=frame.image,
                    captured_at=frame.captured_at,
                    source_kind=src.kind,
                    source_uri=src.uri,
                    page_index=frame.index,
                    page_count=None,
                    profile="webcam",
                    result_id=uuid.uuid4(),
                    detections=dets,
                    detector_ref=ModelRef(name=str(detector.name), version=str(detector.version)),
                    timings={"detect": det_ms},
                )
                # Latency counts from the moment the page became still, as a visitor sees it.
                if decision.still_since is not None:
                    job.t_start = decision.still_since
                self._job_added()
                self._live_submit(i, job)

    # -- page stages ----------------------------------------------------------------------
    def _intake(self, st: Stage, src: PageSource) -> None:
        device = self.cfg.device.id
        for doc in src.docs(self.stop_event):
            if not st.current():
                return
            st.beat()
            progress = DocProgress(doc)
            index = 0
            try:
                for index, image in enumerate(doc.pages):
                    if not self._wait_for_intake(st):
                        return  # stopping: the file stays in the inbox and is taken again
                    rid = page_result_id(device, doc.key, index)
                    if self.store.has_result(str(rid)):
                        continue  # stored before a crash or restart
                    job = PageJob(
                        image=image,
                        captured_at=doc.captured_at,
                        source_kind=src.kind,
                        source_uri=doc.uri or src.uri,
                        page_index=index,
                        page_count=doc.page_count,
                        profile="scan",
                        result_id=rid,
                        dpi=doc.dpi,
                        progress=progress,
                    )
                    with progress.lock:
                        progress.enqueued += 1
                    self._job_added()
                    while not self.page_queue.put(job, timeout=POLL_S):
                        st.beat()
                        if self.stop_event.is_set():
                            return
                    st.beat()
            except PageError as exc:
                progress.error = f"page {index + 1}: {exc}"
            except Closed:
                return
            progress.complete = True
            progress.maybe_finish()

    def _wait_for_intake(self, st: Stage) -> bool:
        while not self.stop_event.is_set():
            ok, reason = self.store.intake_status()
            if ok:
                if self.intake_paused:
                    log.info("intake resumed")
                self.intake_paused = None
                return True
            if self.intake_paused != reason:
                log.error("intake paused: %s", reason)
            self.intake_paused = reason
            if self.notifier:
                self.notifier.status(f"intake paused: {reason}")
            st.beat()
            self.stop_event.wait(2.0)
        return False

    def _detect_pages(self, st: Stage) -> None:
        while st.current():
            try:
                job = self.page_queue.get(timeout=POLL_S)
            except Closed:
                return
            st.beat()
            if job is None:
                continue
            detector = self.detector
            t0 = time.perf_counter()
            try:
                job.detections = detector.detect(job.image)
            except Exception as exc:
                log.exception("detector failed on a page")
                job.detections = []
                job.timings["detect"] = (time.perf_counter() - t0) * 1000
                self.result_queue.put((job, None, f"detector failed: {exc}"))
                continue
            job.timings["detect"] = (time.perf_counter() - t0) * 1000
            job.detector_ref = ModelRef(name=str(detector.name), version=str(detector.version))
            st.record(job.timings["detect"])
            self._submit_read(job, wait_slot=True, stage=st)

    # -- reading and storing --------------------------------------------------------------
    def _live_submit(self, i: int, job: PageJob) -> None:
        """One live read in flight per camera; the still documents shown meanwhile wait in
        order, up to LIVE_BACKLOG of them, and past that the oldest waiting one is dropped (the
        visitor is holding the newest page: it must not fall further behind)."""
        dropped = None
        with self._lock:
            read_now = not self._live_busy.get(i)
            if read_now:
                self._live_busy[i] = True
            else:
                waiting = self._live_waiting.setdefault(i, deque())
                waiting.append(job)
                if len(waiting) > LIVE_BACKLOG:
                    dropped = waiting.popleft()
                    self.live_superseded += 1
                    self._pending -= 1
        if dropped is not None:
            log.warning(
                "camera %d: %d still documents were waiting to be read; the oldest (frame %d) is dropped",
                i,
                LIVE_BACKLOG + 1,
                dropped.page_index,
            )
        if read_now:
            self._submit_read(job, wait_slot=False, after=lambda: self._live_next(i))

    def _live_next(self, i: int) -> None:
        with self._lock:
            waiting = self._live_waiting.get(i)
            if not waiting:
                self._live_busy[i] = False
                return
            nxt = waiting.popleft()
        self._submit_read(nxt, wait_slot=False, after=lambda: self._live_next(i))

    def _submit_read(
        self,
        job: PageJob,
        wait_slot: bool,
        stage: Stage | None = None,
        after: Callable[[], None] | None = None,
    ) -> None:
        if wait_slot:
            while not self._read_slots.acquire(timeout=POLL_S):
                if stage is not None:
                    stage.beat()
        t_read = time.perf_counter()

        def done(reading: Any | None, error: str | None) -> None:
            if wait_slot:
                self._read_slots.release()
            job.timings["read"] = (time.perf_counter() - t_read) * 1000
            try:
                self.result_queue.put((job, reading, error))
            except Closed:
                log.error("a reading finished after shutdown; a page is processed again on restart")
            if after is not None:
                after()

        self.pool.submit(job.image, job.detections, job.profile, done)

    def _store(self, st: Stage) -> None:
        while st.current():
            try:
                item = self.result_queue.get(timeout=POLL_S)
            except Closed:
                return
            st.beat()
            if item is None:
                continue
            job, reading, error = item
            t0 = time.perf_counter()
            try:
                result = self._save_settled(job, reading, error)
            except StoreFull as exc:
                # Disk full after reading: do not lose the page; it stays unfinished and the
                # file is taken again once intake resumes (live frames are simply re-read).
                log.error("could not store page: %s", exc)
                self.intake_paused = str(exc)
                if job.progress is not None:
                    with job.progress.lock:
                        job.progress.error = job.progress.error or f"not stored: {exc}"
                        job.progress.finished = True  # leave the file in the inbox
                continue
            st.record((time.perf_counter() - t0) * 1000)
            if job.progress is not None:
                with job.progress.lock:
                    job.progress.stored += 1
                job.progress.maybe_finish()
            if job.profile == "webcam":
                self.still_latency_ms.append((time.monotonic() - job.t_start) * 1000)
            if self.on_result is not None and result is not None:
                self.on_result(result)

    def _save_settled(self, job: PageJob, reading: Any | None, error: str | None) -> Result | None:
        try:
            return self._save(job, reading, error)
        finally:
            self._job_settled()

    def _save(self, job: PageJob, reading: Any | None, error: str | None) -> Result | None:
        t0 = time.perf_counter()
        data = encode_page(job.image)
        job.timings["encode"] = (time.perf_counter() - t0) * 1000
        result = build_result(
            image=job.image,
            encoded=data,
            detections=job.detections,
            reading=reading,
            device_id=self.cfg.device.id,
            site=self.cfg.device.site,
            source_kind=job.source_kind,
            source_uri=job.source_uri,
            page_index=job.page_index,
            page_count=job.page_count,
            captured_at=job.captured_at,
            detector_ref=job.detector_ref or self.detector_ref(),
            timings_ms={**job.timings, "total": (time.monotonic() - job.t_start) * 1000},
            result_id=job.result_id,
            dpi=job.dpi,
            upload=self.cfg.sync.images if self.cfg.sync.enabled else "none",
            errors=[error] if error else None,
        )
        stored = self.store.save_result(result, data)
        with self._lock:
            if stored:
                self.last_results.appendleft(result)
                self.pages_processed += 1
                if result.status == "failed":
                    self.pages_failed += 1
        return result if stored else None

    # -- introspection --------------------------------------------------------------------
    def queue_depths(self) -> dict[str, int]:
        out = {
            "pages": len(self.page_queue),
            "results": len(self.result_queue),
            "reading": self.pool.in_flight(),
        }
        for i, q in self.frame_queues.items():
            out[f"frames.{i}"] = len(q)
        return out

    def dropped(self) -> dict[str, int]:
        return {q.name: q.dropped for q in self.frame_queues.values()}

    def live_fps(self) -> float:
        return sum(
            st.rate(5.0) for st in self.stages if st.name.startswith("detect.") and st.name != "detect.pages"
        )

    def page_sources(self) -> list[PageSource]:
        return [s for s in self.sources if not s.live]  # type: ignore[misc]
