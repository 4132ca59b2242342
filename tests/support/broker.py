"""A real Mosquitto process for tests: own config, own free port, stop/kill/restart at will."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.support.net import free_port, wait_for_port


class Broker:
    """Mosquitto started from the ``mosquitto`` binary with a config written here.

    ``extra_conf`` is appended (listeners for TLS, password file, ACL...). The port stays the
    same across restarts so clients can reconnect, and persistence keeps sessions and queued
    QoS 1 messages across a clean stop (not across ``kill()``, like a power cut).
    """

    def __init__(
        self, root: Path, port: int | None = None, extra_conf: str = "", anonymous: bool = True
    ) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra_conf = extra_conf
        self.anonymous = anonymous
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.root / "mosquitto.log"

    @property
    def conf_path(self) -> Path:
        return self.root / "mosquitto.conf"

    def write_conf(self) -> None:
        lines = [
            # Started as root, Mosquitto drops to the `mosquitto` user, which cannot write a
            # persistence folder under a root-owned temporary directory: stay root then.
            *(["user root"] if os.geteuid() == 0 else []),
            "per_listener_settings false",
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'true' if self.anonymous else 'false'}",
            "persistence true",
            f"persistence_location {self.root}/",
            "autosave_interval 1",
            f"log_dest file {self.log_path}",
            "log_type all",
            "max_queued_messages 1000000",
            "max_inflight_messages 0",
            self.extra_conf,
        ]
        self.conf_path.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        self.write_conf()
        self.proc = subprocess.Popen(
            ["mosquitto", "-c", str(self.conf_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_for_port(self.port, timeout=10)
        except TimeoutError:
            err = (
                self.proc.stderr.read().decode() if self.proc.stderr and self.proc.poll() is not None else ""
            )
            raise RuntimeError(f"mosquitto did not start: {err or self.log_text()[-2000:]}") from None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
