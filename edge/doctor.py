"""``signet edge doctor``: checks what the edge needs on this machine and says what to fix."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

log = logging.getLogger(__name__)


@dataclass
class Check:
    name: str
    level: str  # ok, warn, fail
    detail: str
    fix: str = ""

    def line(self) -> str:
        tag = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[self.level]
        out = f"[{tag}] {self.name}: {self.detail}"
        if self.fix and self.level != "ok":
            out += f"\n       fix: {self.fix}"
        return out


def check_source(uri: str, cfg: Any) -> Check:
    from edge.sources import SourceError, scheme_of, uri_path

    name = f"source {uri}"
    try:
        scheme = scheme_of(uri)
    except SourceError as exc:
        return Check(name, "fail", str(exc), "set source.uri to a supported URI")
    if scheme == "v4l2":
        rest = uri[len("v4l2://") :] if uri.startswith("v4l2://") else uri
        dev = Path(f"/dev/video{rest}") if rest.isdigit() else Path(rest)
        if not dev.exists():
            found = sorted(str(p) for p in Path("/dev").glob("video*"))
            return Check(
                name,
                "fail",
                f"{dev} does not exist (video devices: {', '.join(found) or 'none'})",
                "plug the camera in or pick one listed",
            )
        if not os.access(dev, os.R_OK | os.W_OK):
            return Check(
                name,
                "fail",
                f"no read/write permission on {dev}",
                "add the service user to the 'video' group: sudo usermod -aG video $USER",
            )
        return Check(name, "ok", f"{dev} present and accessible")
    if scheme == "csi":
        from edge.sources.camera import has_gstreamer

        if not has_gstreamer():
            return Check(
                name,
                "fail",
                "OpenCV has no GStreamer support",
                "use JetPack's python3-opencv (see docs/jetson.md)",
            )
        if not shutil.which("gst-inspect-1.0"):
            return Check(
                name,
                "warn",
                "gst-inspect-1.0 missing; cannot check nvarguscamerasrc",
                "apt-get install gstreamer1.0-tools",
            )
        ok = (
            subprocess.run(
                ["gst-inspect-1.0", "nvarguscamerasrc"], capture_output=True, timeout=20
            ).returncode
            == 0
        )
        return Check(
            name,
            "ok" if ok else "fail",
            "nvarguscamerasrc available" if ok else "nvarguscamerasrc not found",
            "install nvidia-l4t-gstreamer (JetPack)",
        )
    if scheme == "file":
        path = uri_path(uri)
        if not path.is_file():
            return Check(name, "fail", f"{path} not found", "point source.uri at an existing video file")
        import cv2

        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        ok, frame = cap.read()
        cap.release()
        if not ok:
            return Check(
                name,
                "fail",
                f"{path} cannot be decoded by OpenCV",
                "re-encode it (e.g. ffmpeg -i in -c:v mjpeg out.avi)",
            )
        return Check(name, "ok", f"video {frame.shape[1]}x{frame.shape[0]} readable")
    if scheme == "folder":
        path = uri_path(uri)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return Check(
                name,
                "fail",
                f"cannot create {path}: {exc.strerror}",
                "create it and give the service user write access",
            )
        if not os.access(path, os.W_OK):
            return Check(
                name,
                "fail",
                f"{path} not writable (files must move to done/ and failed/)",
                f"chown the folder to the service user: sudo chown -R $USER {path}",
            )
        waiting = sum(1 for p in path.iterdir() if p.is_file())
        return Check(name, "ok", f"hot folder {path} writable, {waiting} file(s) waiting")
    if scheme == "sane":
        if not shutil.which("scanimage"):
            return Check(name, "fail", "scanimage not installed", "apt-get install sane-utils")
        out = subprocess.run(["scanimage", "-L"], capture_output=True, text=True, timeout=60).stdout.strip()
        sane_dev = uri[len("sane://") :]
        if sane_dev and sane_dev != "test" and sane_dev not in out:
            return Check(
                name,
                "fail",
                f"SANE does not list {sane_dev!r} ({out.splitlines()[0] if out else 'no scanners'})",
                "check the USB cable and 'scanimage -L'; add the user to the 'scanner' group",
            )
        return Check(
            name,
            "ok",
            f"scanimage present ({out.splitlines()[0] if out else 'device ' + (sane_dev or 'default')})",
        )
    if scheme in ("rtsp", "rtsps"):
        from urllib.parse import urlsplit

        u = urlsplit(uri)
        return _tcp(
            name, u.hostname or "", u.port or 554, "check the camera's address, network and credentials"
        )
    return Check(name, "warn", f"no check for scheme {scheme!r}")


def _tcp(name: str, host: str, port: int, fix: str) -> Check:
    try:
        with socket.create_connection((host, port), timeout=3):
            return Check(name, "ok", f"{host}:{port} reachable")
    except OSError as exc:
        return Check(name, "fail", f"{host}:{port} not reachable ({exc.strerror or exc})", fix)


def check_detector(cfg: Any) -> list[Check]:
    out = []
    model = Path(cfg.detector.model)
    if not model.is_file():
        return [
            Check(
                "detector model",
                "fail",
                f"{model} missing",
                "train/export it (signet models ...) or set detector.model",
            )
        ]
    try:
        import numpy as np

        from edge.detect import load_detector

        det = load_detector(cfg.detector)
        det.detect(np.full((480, 640, 3), 255, np.uint8))
        out.append(Check("detector", "ok", f"{det.name} {det.version} on {cfg.detector.backend}"))
    except Exception as exc:
        fix = (
            "install onnxruntime (pip) or TensorRT (JetPack)"
            if "backend unavailable" in str(exc)
            else "re-export the model"
        )
        out.append(Check("detector", "fail", str(exc), fix))
    return out


def check_runtime(cfg: Any) -> Check:
    if cfg.detector.backend == "tensorrt":
        try:
            import tensorrt

            return Check("TensorRT", "ok", f"TensorRT {tensorrt.__version__}")
        except ImportError:
            return Check(
                "TensorRT",
                "fail",
                "tensorrt not importable",
                "use JetPack's python3-libnvinfer, or detector.backend: onnxruntime",
            )
    try:
        import onnxruntime as ort

        provs = ort.get_available_providers()
        wanted = [p for p in cfg.detector.providers if p not in provs]
        level = "warn" if wanted else "ok"
        return Check(
            "ONNX Runtime",
            level,
            f"{ort.__version__}, providers {', '.join(provs)}"
            + (f"; missing {', '.join(wanted)}" if wanted else ""),
            "install onnxruntime-gpu for Jetson (Jetson Zoo wheel) to use CUDA/TensorRT providers",
        )
    except ImportError:
        return Check("ONNX Runtime", "fail", "onnxruntime not installed", "pip install 'signet[edge]'")


def check_reader(cfg: Any) -> list[Check]:
    out = []
    exe = shutil.which("tesseract")
    if not exe:
        out.append(
            Check(
                "Tesseract",
                "fail",
                "tesseract not installed",
                "apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra",
            )
        )
    else:
        version = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=20
        ).stdout.splitlines()[:1]
        langs = subprocess.run(
            [exe, "--list-langs"], capture_output=True, text=True, timeout=20
        ).stdout.split()
        missing = [lang for lang in cfg.reader.languages if lang not in langs]
        if missing:
            out.append(
                Check(
                    "Tesseract",
                    "fail",
                    f"languages missing: {', '.join(missing)}",
                    f"apt-get install {' '.join('tesseract-ocr-' + m for m in missing)}",
                )
            )
        else:
            out.append(
                Check(
                    "Tesseract",
                    "ok",
                    f"{version[0] if version else 'tesseract'}, languages {'+'.join(cfg.reader.languages)}",
                )
            )
    if cfg.reader.ocr_engine == "libtesseract":
        from edge.read import tessapi

        try:
            out.append(
                Check("libtesseract", "ok", f"{tessapi.library_version()}, kept loaded in each reader")
            )
        except tessapi.TessApiUnavailable as exc:
            out.append(
                Check(
                    "libtesseract",
                    "fail",
                    str(exc),
                    "apt-get install tesseract-ocr, or set reader.ocr_engine: command",
                )
            )
    clf = Path(cfg.reader.classifier)
    if clf.is_file():
        out.append(Check("classifier model", "ok", f"{clf} ({clf.stat().st_size // 1024} KB)"))
    else:
        out.append(
            Check(
                "classifier model",
                "fail",
                f"{clf} missing (pages would all need review)",
                "train/export it or set reader.classifier",
            )
        )
    out.append(_check_handwriting(cfg.reader.handwriting))
    return out


def _check_handwriting(path: Path | None) -> Check:
    """The handwriting word model loads (the reader works without it, its text then keeping
    the handwriting Tesseract reads on scans)."""
    if path is None:
        return Check("handwriting model", "ok", "off (reader.handwriting: null)")
    from edge.read.hand import HandwritingModel, HandwritingUnavailable

    try:
        info = HandwritingModel(Path(path)).info
    except HandwritingUnavailable as exc:
        return Check(
            "handwriting model",
            "warn",
            f"{exc}: handwriting read on scans stays in their text",
            "copy models/artifacts/handwriting.onnx or set reader.handwriting",
        )
    return Check(
        "handwriting model", "ok", f"{path} ({info.name} {info.version}, threshold {info.threshold:.2f})"
    )


def check_sync(cfg: Any) -> list[Check]:
    if not cfg.sync.enabled:
        return [Check("sync", "ok", "disabled (sync.enabled: false); results stay local")]
    b = cfg.sync.broker
    out = [
        _tcp(
            "MQTT broker",
            b.host,
            b.port,
            "start the broker or fix sync.broker.host/port; results wait in the outbox meanwhile",
        )
    ]
    if cfg.sync.cloud_url:
        try:
            import requests

            r = requests.get(cfg.sync.cloud_url.rstrip("/") + "/healthz", timeout=5)
            out.append(
                Check(
                    "cloud",
                    "ok" if r.status_code < 500 else "fail",
                    f"{cfg.sync.cloud_url} answered {r.status_code}",
                    "check the cloud service",
                )
            )
        except Exception as exc:
            out.append(
                Check(
                    "cloud",
                    "fail",
                    f"{cfg.sync.cloud_url} not reachable ({exc.__class__.__name__})",
                    "check sync.cloud_url and the network",
                )
            )
    else:
        out.append(
            Check(
                "cloud",
                "warn",
                "sync.cloud_url not set: page images and model downloads are off",
                "set sync.cloud_url",
            )
        )
    return out


def check_disk(cfg: Any) -> Check:
    d = Path(cfg.store.images_dir)
    probe = d
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    st = os.statvfs(probe)
    free = st.f_bavail * st.f_frsize / 1_048_576
    if free < cfg.store.min_free_mb:
        return Check(
            "disk",
            "fail",
            f"{free:.0f} MB free at {probe}, below store.min_free_mb={cfg.store.min_free_mb}",
            "free space; intake pauses below the floor",
        )
    if not os.access(probe, os.W_OK):
        return Check("disk", "fail", f"{probe} not writable", "give the service user the data directory")
    return Check("disk", "ok", f"{free / 1024:.1f} GB free at {probe} (floor {cfg.store.min_free_mb} MB)")


def run_checks(cfg: Any) -> list[Check]:
    checks = [check_source(u, cfg.source) for u in [cfg.source.uri, *cfg.source.also]]
    checks += [
        check_runtime(cfg),
        *check_detector(cfg),
        *check_reader(cfg),
        *check_sync(cfg),
        check_disk(cfg),
    ]
    return checks


@click.command("doctor")
@click.option(
    "--config", "config", type=click.Path(dir_okay=False, path_type=Path), help="Edge settings (YAML)."
)
@click.option(
    "--source", "sources", multiple=True, help="Check these source URIs instead of the configured ones."
)
def doctor(config: Path | None, sources: tuple[str, ...]) -> None:
    """Check camera or folder, models, Tesseract, ONNX Runtime/TensorRT, broker, cloud and disk."""
    from edge.runtime_cli import _source_overrides, load_edge_config

    cfg = load_edge_config(config, _source_overrides(sources))
    checks = run_checks(cfg)
    for c in checks:
        click.echo(c.line())
    fails = sum(c.level == "fail" for c in checks)
    warns = sum(c.level == "warn" for c in checks)
    click.echo(f"{len(checks)} checks: {fails} to fix, {warns} warning(s)")
    raise SystemExit(1 if fails else 0)
