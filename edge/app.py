"""Wiring of the device process: store, detector, pipeline, health + Prometheus, kiosk page,
sync client and model updater. Settings are loaded by the caller (``main``) and passed in.

``EdgeApp(cfg).run()`` blocks until SIGTERM/SIGINT (then drains) or until the watchdog's
restart budget is spent (then exits non-zero so systemd restarts the process).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edge.config import EdgeConfig
from edge.contract import ModelRef, Result
from edge.pipeline import Pipeline
from edge.pipeline.watchdog import Notifier
from edge.pipeline.workers import default_reader_factory
from edge.store import EdgeStore

log = logging.getLogger(__name__)


class EdgeApp:
    """The whole edge process; ``start`` then ``stop`` (or ``run`` for both with signals)."""

    def __init__(
        self,
        cfg: EdgeConfig,
        *,
        environ: Mapping[str, str] | None = None,
        detector: Any | None = None,
        reader_factory: Callable[[Any], Any] = default_reader_factory,
    ) -> None:
        env = os.environ if environ is None else environ
        self.cfg = cfg
        self.notifier = Notifier(env.get("NOTIFY_SOCKET"), env.get("WATCHDOG_USEC"))
        self._detector = detector
        self._reader_factory = reader_factory
        self.store: EdgeStore | None = None
        self.pipeline: Pipeline | None = None
        self.monitor: Any = None
        self.sync: Any = None
        self.updater: Any = None
        self.kiosk_port: int | None = None
        self.metrics_port: int | None = None
        self._servers: list[Any] = []
        self._stopped = threading.Event()

    def _on_result(self, result: Result) -> None:
        if self.updater is not None:
            self.updater.record_page(result.status != "failed")
        if self.sync is not None:
            self.sync.notify()  # publish now rather than at the next poll

    def start(self) -> None:
        cfg = self.cfg
        t0 = time.monotonic()
        self.store = EdgeStore(cfg.store)
        if self._detector is None:
            from edge.detect import load_detector

            self._detector = load_detector(cfg.detector)
        self.pipeline = Pipeline(
            cfg,
            self._detector,
            self.store,
            reader_factory=self._reader_factory,
            notifier=self.notifier,
            on_result=self._on_result,
        )
        from edge.health import HealthMonitor, Tegrastats, serve_metrics

        self.monitor = HealthMonitor(cfg.device.id, self.pipeline, self.store, Tegrastats())
        if cfg.sync.enabled:
            self._start_sync()
        self.pipeline.start()
        if cfg.metrics.port is not None:
            server = serve_metrics(self.monitor, cfg.metrics.port, host=cfg.kiosk.host)
            self._servers.append(server)
            self.metrics_port = int(server.server_port)
        if cfg.kiosk.enabled:
            from edge.kiosk import KioskState, create_kiosk, serve_kiosk

            state = KioskState(self.pipeline, self.store, self.monitor, self.sync, cfg.kiosk.mode)
            server, self.kiosk_port = serve_kiosk(create_kiosk(state), cfg.kiosk.host, cfg.kiosk.port)
            self._servers.append(server)
        status = f"running: {', '.join(s.uri for s in self.pipeline.sources)}"
        if self.kiosk_port:
            status += f"; kiosk http://{cfg.kiosk.host}:{self.kiosk_port}/"
        self.notifier.ready(status)
        log.info("edge started in %.1f s (%s)", time.monotonic() - t0, status)

    def _start_sync(self) -> None:
        from edge.rollout import make_updater, pipeline_swapper
        from edge.sync import SyncClient
        from edge.sync.mqtt import read_secret

        assert self.pipeline is not None and self.store is not None and self.monitor is not None
        det = self._detector
        versions = {
            "detector": f"{getattr(det, 'name', '?')}:{getattr(det, 'version', '?')}",
        }
        # The reading workers load the reader's models; the status names them from their files.
        from edge.read.onnx_cpu import model_label

        rc = self.cfg.reader
        for kind, label in (
            ("classifier", model_label(rc.classifier, rc.classifier_label)),
            ("handwriting", model_label(rc.handwriting, rc.handwriting_label)),
        ):
            if label is not None:
                versions[kind] = label
        self.sync = SyncClient(
            self.cfg.sync,
            self.cfg.device,
            self.store,
            versions=versions,
            health=self.monitor.snapshot,
            image_path=self.store.image_path,
            # The updater needs the sync client to report, the sync client hands it desired
            # models: a forwarding callable breaks the cycle.
            on_desired=lambda desired: self.updater.handle(desired) if self.updater is not None else None,
        )
        token = read_secret(self.cfg.sync.token, self.cfg.sync.token_file)
        swap = pipeline_swapper(self.pipeline, self.cfg)
        sync = self.sync

        def swap_and_report(kind: str, onnx: Path, ref: ModelRef) -> None:
            swap(kind, onnx, ref)
            sync.set_version(kind, f"{ref.name}:{ref.version}")  # the Fleet page shows it

        self.updater = make_updater(self.cfg, swap_and_report, self.sync.publish_state, token)
        self.sync.start()

    def stop(self) -> bool:
        """Drain the pipeline, say goodbye to the broker, stop the servers. True when drained."""
        if self._stopped.is_set():
            return True
        self._stopped.set()
        drained = self.pipeline.stop(drain=True) if self.pipeline else True
        if self.sync is not None:
            # Results stored during the drain go out before goodbye when the broker is there;
            # otherwise they wait in the outbox for the next start.
            if self.sync.connected:
                self.sync.wait_drained(self.cfg.pipeline.drain_s / 3)
            self.sync.stop()
        for server in self._servers:
            server.shutdown()
        if self.monitor is not None and self.monitor.tegrastats is not None:
            self.monitor.tegrastats.close()
        if self.store is not None:
            self.store.close()
        return drained

    def run(self) -> int:
        """Run until SIGTERM/SIGINT (exit 0 after draining) or a fatal watchdog verdict (exit 1)."""
        stop = threading.Event()

        def on_signal(signum: int, _frame: Any) -> None:
            log.info("signal %s: draining and stopping", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        assert self.pipeline is not None
        code = 0
        while not stop.wait(0.5):
            if self.pipeline.fatal:
                log.error("giving up: %s", self.pipeline.fatal)
                code = 1
                break
            if self._all_sources_finished():
                log.info("every source has ended")
                break
        self.stop()
        return code

    def _all_sources_finished(self) -> bool:
        """True when only non-looping video files were configured and all of them ended."""
        p = self.pipeline
        assert p is not None
        if any(not s.live for s in p.sources):
            return False
        ended = all(getattr(s, "state", "") == "ended" for s in p.sources)
        return ended and not p._busy() and all(len(q) == 0 for q in p.frame_queues.values())
