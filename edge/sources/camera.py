"""Live sources through OpenCV: USB webcams (V4L2), Jetson CSI cameras (GStreamer
nvarguscamerasrc), RTSP streams and video files (``file://``, the webcam stand-in in tests and the
demo).

A camera that disappears (unplugged, stream lost) is reopened with a doubling backoff from
``reconnect_s`` up to 30 s; the stream continues when it is back. A video file ends, unless
``loop`` makes it behave like a camera that never stops.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import cv2

from edge.config import SourceConfig
from edge.sources import Frame, SourceError, scheme_of, uri_path
from edge.sources.pages import to_bgr

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


def csi_pipeline(sensor_id: int, width: int, height: int, fps: float) -> str:
    """GStreamer pipeline for a Jetson CSI camera: Argus ISP -> NVMM -> BGR appsink.

    nvvidconv does the colour conversion on the VIC so the CPU only copies BGRx -> BGR; the appsink
    keeps one buffer and drops the rest so a slow consumer sees fresh frames, not a backlog.
    """
    return (
        f"nvarguscamerasrc sensor-id={sensor_id} ! "
        f"video/x-raw(memory:NVMM),width={width},height={height},framerate={round(fps)}/1,format=NV12 ! "
        "nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! "
        "appsink drop=true max-buffers=1 sync=false"
    )


def has_gstreamer() -> bool:
    info = cv2.getBuildInformation()
    for line in info.splitlines():
        if "GStreamer" in line:
            return "YES" in line
    return False


class CaptureSource:
    """A live source read with ``cv2.VideoCapture``; ``target`` is what OpenCV opens."""

    live = True
    #: called while the source waits to reconnect, so the watchdog knows it is alive
    on_idle: Callable[[], None] | None = None

    def __init__(
        self, uri: str, cfg: SourceConfig, kind: str, target: Any, api: int, loop: bool = False
    ) -> None:
        self.uri = uri
        self.cfg = cfg
        self.kind = kind
        self.target = target
        self.api = api
        self.loop = loop
        self.reconnects = 0
        self.state = "starting"
        self._cap: cv2.VideoCapture | None = None

    def _open(self) -> cv2.VideoCapture | None:
        cap = cv2.VideoCapture(self.target, self.api)
        if not cap.isOpened():
            cap.release()
            return None
        if self.kind == "camera":
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.cfg.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.cfg.height)
            cap.set(cv2.CAP_PROP_FPS, self.cfg.fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return cap

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        """Frames until ``stop`` (or the end of a non-looping file); reconnects on loss."""
        backoff = self.cfg.reconnect_s
        index = 0
        period = 0.0
        while not stop.is_set():
            cap = self._open()
            if cap is None:
                self.state = "reconnecting"
                log.warning("source %s unavailable, retrying in %.1f s", self.uri, backoff)
                self._wait(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                self.reconnects += 1
                continue
            self._cap = cap
            self.state = "connected"
            backoff = self.cfg.reconnect_s
            if self.kind == "video" and self.cfg.realtime:
                native = cap.get(cv2.CAP_PROP_FPS)
                period = 1.0 / (native if 1 <= native <= 120 else self.cfg.fps)
            next_t = time.monotonic()
            got_any = False
            while not stop.is_set():
                ok, img = cap.read()
                if not ok or img is None:
                    break
                got_any = True
                now = time.monotonic()
                if period:
                    next_t += period
                    if next_t > now:
                        stop.wait(next_t - now)
                    else:
                        next_t = now  # fell behind: do not try to catch up with a burst
                yield Frame(
                    image=to_bgr(img),
                    captured_at=datetime.now(timezone.utc),
                    index=index,
                    t_mono=time.monotonic(),
                )
                index += 1
            cap.release()
            self._cap = None
            if stop.is_set():
                break
            if self.kind == "video":
                if self.loop and got_any:
                    continue
                if not self.loop:
                    self.state = "ended"
                    log.info("video %s ended after %d frames", self.uri, index)
                    return
            self.state = "reconnecting"
            log.warning("stream lost on %s, reconnecting in %.1f s", self.uri, backoff)
            self._wait(stop, backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
            self.reconnects += 1

    def _wait(self, stop: threading.Event, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not stop.is_set() and time.monotonic() < end:
            if self.on_idle is not None:
                self.on_idle()
            stop.wait(min(1.0, max(0.0, end - time.monotonic())))

    def close(self) -> None:
        cap = self._cap
        if cap is not None:
            cap.release()


def open_camera(uri: str, cfg: SourceConfig) -> CaptureSource:
    """A CaptureSource for /dev/videoN, v4l2://N, csi://N, rtsp:// or file:// URIs."""
    scheme = scheme_of(uri)
    if scheme == "v4l2":
        rest = uri[len("v4l2://") :] if uri.startswith("v4l2://") else uri
        target: Any = int(rest) if rest.isdigit() else rest
        return CaptureSource(uri, cfg, "camera", target, cv2.CAP_V4L2)
    if scheme == "csi":
        rest = uri[len("csi://") :]
        if not rest.isdigit():
            raise SourceError(f"csi source {uri!r}: expected csi://<sensor id>, e.g. csi://0")
        if not has_gstreamer():
            raise SourceError(
                "backend unavailable: this OpenCV has no GStreamer support (PyPI wheels do not); on a Jetson use "
                "JetPack's python3-opencv (see docs/jetson.md)"
            )
        return CaptureSource(
            uri, cfg, "csi", csi_pipeline(int(rest), cfg.width, cfg.height, cfg.fps), cv2.CAP_GSTREAMER
        )
    if scheme in ("rtsp", "rtsps"):
        return CaptureSource(uri, cfg, "rtsp", uri, cv2.CAP_FFMPEG)
    if scheme == "file":
        path = uri_path(uri)
        return CaptureSource(uri, cfg, "video", str(path), cv2.CAP_FFMPEG, loop=cfg.loop)
    raise SourceError(f"{uri!r} is not a camera URI")
