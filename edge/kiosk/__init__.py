"""The kiosk page (Flask): the live view with signature boxes, the last document read, the
scanner queue, and device health and sync state, for a fullscreen Chromium on the device.

Everything it serves is local (no CDN: the device may be offline). The page polls
``/api/state`` once a second and shows ``/stream.mjpg`` (multipart JPEG of the annotated frames).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
from flask import Flask, Response, jsonify, render_template, request

from edge.contract import Result

log = logging.getLogger(__name__)

KEY_FIELDS = (  # shown first, in this order, where the page has them (six at most)
    "number",
    "date",
    "total",
    "currency",
    "due_date",
    "customer",
    "birth_date",
    "id_number",
    "debtor",
    "iban",
    "bic",
    "creditor_id",
    "period",
)


def result_card(r: Result) -> dict[str, Any]:
    """What the kiosk shows about one page."""
    values = r.fields.values
    keys = [k for k in KEY_FIELDS if k in values] + [k for k in values if k not in KEY_FIELDS]
    fields = []
    for k in keys[:6]:
        v = values[k].value
        if isinstance(v, (list, dict)):
            v = json.dumps(v)
        fields.append({"name": k.replace("_", " "), "value": "" if v is None else str(v)[:80]})
    return {
        "result_id": str(r.result_id),
        "doc_type": r.doc_type.label.replace("_", " "),
        "confidence": round(r.doc_type.confidence, 2),
        "needs_review": r.doc_type.needs_review,
        "signature_count": r.signature_count,
        "fields": fields,
        "status": r.status,
        "errors": r.errors[:3],
        "source": r.source.kind,
        "page": r.source.page_index + 1,
        "page_count": r.source.page_count,
        "uri": r.source.uri.rsplit("/", 1)[-1],
        "at": r.processed_at.isoformat(timespec="seconds"),
    }


class KioskState:
    """What the kiosk reads: the pipeline, the store, health and (optionally) the sync client."""

    def __init__(
        self, pipeline: Any, store: Any, monitor: Any = None, sync: Any = None, mode: str = "auto"
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.monitor = monitor
        self.sync = sync
        self.mode = mode
        self._jpeg: dict[int, tuple[int, bytes]] = {}
        self._lock = threading.Lock()

    def resolved_mode(self) -> str:
        if self.mode != "auto":
            return self.mode
        return "camera" if self.pipeline.views else "scanner"

    def jpeg(self, source: int, seq: int, timeout: float = 2.0) -> tuple[int, bytes | None]:
        """The newest annotated frame after ``seq`` as JPEG (encoded once per frame)."""
        view = self.pipeline.views.get(source)
        if view is None:
            return seq, None
        new_seq, frame = view.wait_newer(seq, timeout)
        if frame is None:
            return new_seq, None
        with self._lock:
            cached = self._jpeg.get(source)
            if cached and cached[0] == new_seq:
                return cached
            ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
            data = buf.tobytes() if ok else None
            if data is not None:
                self._jpeg[source] = (new_seq, data)
        return new_seq, data

    def state(self) -> dict[str, Any]:
        p = self.pipeline
        recent = list(p.last_results)[:5]
        if not recent:
            try:
                recent = self.store.recent_results(5)
            except Exception:
                recent = []
        queue: dict[str, list[dict[str, str]]] = {"waiting": [], "done": [], "failed": []}
        for src in p.page_sources():
            for k, v in src.queue_state().items():
                queue[k].extend(v)
        health: dict[str, Any] = {}
        if self.monitor is not None:
            h = self.monitor.snapshot()
            health = {
                "fps": h.fps,
                "cpu_temp_c": h.cpu_temp_c,
                "gpu_temp_c": h.gpu_temp_c,
                "rss_mb": h.rss_mb,
                "disk_free_mb": h.disk_free_mb,
                "intake_paused": h.intake_paused,
                "queues": h.queues,
                "pages": h.pages_processed,
            }
        try:
            backlog = int(self.store.outbox_backlog())
        except Exception:
            backlog = -1
        sync = {
            "enabled": self.sync is not None,
            "online": bool(getattr(self.sync, "connected", False)),
            "backlog": backlog,
        }
        views = {}
        for i, view in p.views.items():
            views[str(i)] = {"note": view.gate_note, "boxes": len(view.detections)}
        return {
            "mode": self.resolved_mode(),
            "live_sources": sorted(p.views),
            "has_queue": bool(p.page_sources()),
            "last": result_card(recent[0]) if recent else None,
            "recent": [result_card(r) for r in recent[1:]],
            "queue": queue,
            "health": health,
            "sync": sync,
            "views": views,
            "fatal": p.fatal,
            "at": time.time(),
        }


def create_kiosk(state: KioskState) -> Flask:
    """The kiosk Flask app over ``state``."""
    app = Flask(
        __name__,
        template_folder=str(Path(__file__).parent / "templates"),
        static_folder=str(Path(__file__).parent / "static"),
    )

    @app.get("/")
    def index() -> str:
        return render_template("kiosk.html", mode=state.resolved_mode(), live=sorted(state.pipeline.views))

    @app.get("/api/state")
    def api_state() -> Response:
        resp = jsonify(state.state())
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.get("/favicon.ico")
    def favicon() -> tuple[str, int]:
        return "", 204

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        return ("ok", 200) if not state.pipeline.fatal else (state.pipeline.fatal, 503)

    @app.get("/stream.mjpg")
    def stream() -> Response:
        source = int(request.args.get("source", "0"))
        boundary = "frame"

        def gen() -> Iterator[bytes]:
            seq = -1
            while True:
                new_seq, data = state.jpeg(source, seq)
                if data is None or new_seq == seq:
                    if state.pipeline.stop_event.is_set():
                        return
                    continue
                seq = new_seq
                yield (
                    f"--{boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                    + data
                    + b"\r\n"
                )

        return Response(gen(), mimetype=f"multipart/x-mixed-replace; boundary={boundary}")

    return app


def serve_kiosk(app: Flask, host: str, port: int) -> tuple[Any, int]:
    """Serve ``app`` on a background thread (werkzeug's threaded server); returns (server, port)."""
    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request (1/s polling)
    threading.Thread(target=server.serve_forever, name="kiosk", daemon=True).start()
    return server, int(server.server_port)
