"""``signet demo``: the whole chain on the bundled samples, started for real on this machine.

It starts, as separate processes on loopback ports: Mosquitto with the configuration we generate
(password file, ACL), an MLflow tracking server, the cloud web app (SQLite) and an ingest worker,
then two edge devices: a kiosk whose "camera" is the bundled video and a branch scanner station
whose hot folder receives the bundled sample pages and PDFs. It waits until every sample page has
been read on a device and stored in the cloud, prints what was read, and either stops everything
(default) or keeps it running for a person to look at (``--serve``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return True
        except OSError:
            time.sleep(0.2)
    return False


@dataclass
class Services:
    """The demo's child processes, stopped in reverse order of start."""

    root: Path
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        logf = (self.root / "logs" / f"{name}.log").open("ab")
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT, env=full_env, cwd=REPO)
        self.procs.append((name, proc))
        log.info("started %s (pid %d), log in %s", name, proc.pid, logf.name)
        return proc

    def check(self) -> list[str]:
        """The services that have exited, for whatever reason."""
        return [name for name, p in self.procs if p.poll() is not None]

    def failed(self) -> list[str]:
        """The services that have exited with an error (a device whose video file ended exits 0)."""
        return [name for name, p in self.procs if p.poll() not in (None, 0)]

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in 20 s; killing it", name)
                proc.kill()
        self.procs.clear()


def signet_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "signet.cli", *args]


def http_json(url: str, token: str | None = None, timeout: float = 5.0) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


@click.command("demo")
@click.option(
    "--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/demo"), show_default=True
)
@click.option(
    "--serve", is_flag=True, help="Keep everything running after the samples are read (Ctrl-C stops)."
)
@click.option(
    "--timeout", type=float, default=900.0, show_default=True, help="Give up after this many seconds."
)
def demo(workdir: Path, serve: bool, timeout: float) -> None:
    """Run the whole chain on the bundled sample documents."""
    from signet.demo_chain import run_demo

    sys.exit(run_demo(workdir=workdir, serve=serve, timeout=timeout))
