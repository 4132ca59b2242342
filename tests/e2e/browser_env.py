"""The dashboard in a real headless Chromium (the Debian one; Playwright never downloads a
browser): the real app served on a free port, SQLite in tmp, seeded through the real write path."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.cloud.web.harness import PASSWORD, make_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    app: Flask
    url: str
    shots: Path

    @property
    def engine(self) -> Any:
        return self.app.extensions["signet"].engine


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The real app on a free loopback port, in a thread of this process."""
    app = make_app(tmp_path_factory.mktemp("browser"), n=120)
    # The upload page reads with models/artifacts/* by default; these point it at other files
    # (e.g. a candidate model) without touching the shipped ones.
    det, cls = os.environ.get("SIGNET_TEST_DETECTOR"), os.environ.get("SIGNET_TEST_CLASSIFIER")
    if det or cls:
        from edge.config import EdgeConfig

        edge = EdgeConfig()
        edge.detector.model = Path(det) if det else edge.detector.model
        edge.reader.classifier = Path(cls) if cls else edge.reader.classifier
        app.extensions["signet"].extras["edge_config"] = edge
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="web", daemon=True)
    thread.start()
    # SIGNET_SCREENSHOTS=docs/screenshots refreshes the committed screenshots; by default they
    # go to a temporary folder so a test run leaves the tree clean.
    shots = Path(os.environ.get("SIGNET_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    if not shots.is_absolute():
        shots = REPO / shots
    shots.mkdir(parents=True, exist_ok=True)
    try:
        yield Served(app, f"http://127.0.0.1:{server.server_port}", shots)
    finally:
        server.shutdown()
        thread.join(5)
        app.extensions["signet"].engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or not shutil.which("chromium"):
        pytest.skip("chromium is not installed at /usr/bin/chromium (scripts/setup installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Session:
    """One logged-in browser tab that records console errors and uncaught exceptions."""

    def __init__(self, browser: Any, served: Served, role: str) -> None:
        self.served = served
        self.context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.goto("/login")
        self.page.fill("input[name=username]", role)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url("**/fleet")

    def goto(self, path: str) -> Any:
        resp = self.page.goto(self.served.url + path)
        self.page.wait_for_load_state("networkidle")
        return resp

    def shot(self, name: str) -> Path:
        path = self.served.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def js_errors(self) -> list[str]:
        # A 403/404 answer logs "Failed to load resource"; that is the server's reply, not a script error.
        return [e for e in self.errors if "Failed to load resource" not in e]

    def close(self) -> None:
        self.context.close()
