"""Real pieces for the rollout tests: an MLflow server subprocess, the cloud app over HTTP, and
edge devices running the real ModelUpdater + RolloutListener against a real Mosquitto.

The device's pipeline is a small stand-in with the same ``swap_models`` seam as engineer D's
(it runs the active ONNX model on a page tensor and emits contract Results naming the model).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from cloud.registry.cli import mlflow_server_argv
from edge.config import BrokerConfig
from edge.contract import (
    CommandState,
    DocType,
    ModelRef,
    ModelsUsed,
    PageImage,
    Result,
    SourceRef,
    utcnow,
)
from edge.rollout import ModelUpdater
from edge.rollout_mqtt import RolloutListener
from tests.support.net import free_port, wait_for_port


class MlflowServer:
    """``mlflow server`` exactly as ``signet cloud mlflow`` starts it, on a free loopback port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        argv = mlflow_server_argv(
            f"sqlite:///{self.root}/mlflow.db", self.root / "artifacts", "127.0.0.1", self.port
        )
        log = (self.root / "server.log").open("wb")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        try:
            wait_for_port(self.port, timeout=90)
            _wait_http(f"{self.url}/health", 60)
        except TimeoutError:
            self.stop()
            raise RuntimeError(
                "mlflow server did not start:\n" + (self.root / "server.log").read_text()[-3000:]
            ) from None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _wait_http(url: str, timeout: float) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


class AppServer:
    """The cloud Flask app served over real HTTP in a thread."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()
        wait_for_port(self.port)

    def stop(self) -> None:
        self.server.shutdown()


class TinyEdge:
    """One device: the real updater and listener, a stand-in pipeline with ``swap_models``."""

    def __init__(
        self,
        device_id: str,
        root: Path,
        broker_port: int,
        token: str,
        shipped: Path,
        backend: str = "onnxruntime",
    ) -> None:
        import onnxruntime as ort

        self.device_id = device_id
        self._lock = threading.Lock()
        self.session = ort.InferenceSession(str(shipped), providers=["CPUExecutionProvider"])
        self.detector = ModelRef(name="tiny-detector", version="shipped")
        self.states: list[CommandState] = []
        self.results: list[Result] = []
        self.updater = ModelUpdater(
            device_id,
            root / "models",
            swap=self.swap,
            report=self._report,
            token=token,
            backend=backend,
            engine_cache=root / "engines",
        )
        self.listener = RolloutListener(self.updater, BrokerConfig(port=broker_port), device_id)

    # the seam engineer D's Pipeline.swap_models provides
    def swap(self, kind: str, onnx: Path, ref: ModelRef) -> None:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
        with self._lock:  # between pages: the page in flight finishes on the old model
            self.session, self.detector = sess, ref

    def _report(self, cs: CommandState) -> None:
        self.states.append(cs)
        self.listener.publish_state(cs)

    def process_page(self) -> Result:
        with self._lock:
            out = self.session.run(None, {"x": np.ones((1, 4), dtype=np.float32)})[0]
            ref = self.detector
        now = utcnow()
        r = Result(
            device_id=self.device_id,
            site="s",
            source=SourceRef(kind="file", uri="file:///page.png"),
            captured_at=now - timedelta(seconds=1),
            processed_at=now,
            image=PageImage(sha256="0" * 64, width=10, height=10),
            signature_count=0,
            doc_type=DocType(
                label="letter", confidence=float(min(1.0, abs(out[0][0]) / 10)), needs_review=False
            ),
            models=ModelsUsed(
                detector=ref,
                classifier=ModelRef(name="c", version="1"),
                ocr=ModelRef(name="tesseract", version="5"),
            ),
        )
        self.results.append(r)
        return r

    def start(self) -> None:
        self.listener.start()

    def stop(self) -> None:
        self.listener.stop()

    def last_state(self) -> CommandState | None:
        return self.states[-1] if self.states else None


def wait_until(cond: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``signet ...`` as a subprocess, the way an admin runs it."""
    return subprocess.run(
        [sys.executable, "-m", "signet.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def edges(*items: TinyEdge) -> Iterator[TinyEdge]:
    yield from items
