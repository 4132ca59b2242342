"""Commands from the cloud: ``ping``, ``config`` (live settings) and ``model``/``rollback``.

Every command is answered on its retained state topic (``.../cmd/<name>/state``): first
``received``, then the outcome. ``model`` and ``rollback`` are handed to the rollout callback
on a worker thread (downloads take time; the sync loop must keep publishing meanwhile).
A command is run once per ``command_id`` even if the broker delivers it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from edge.contract import Command, CommandState

if TYPE_CHECKING:
    from edge.sync.client import SyncClient

log = logging.getLogger(__name__)

# Settings a ``config`` command may change while running; the rest need a restart.
LIVE_SETTINGS = ("images", "health_interval_s", "inflight", "thumbnail_px", "upload_retry_max_s")


class CommandHandler:
    """Runs commands for one SyncClient and reports their states through it."""

    def __init__(
        self, client: SyncClient, on_command: Callable[[Command], CommandState | None] | None
    ) -> None:
        self._client = client
        self._on_command = on_command
        self._seen: OrderedDict[str, None] = OrderedDict()

    def _state(self, cmd: Command, state: str, detail: str = "", data: dict[str, Any] | None = None) -> None:
        self._client.publish_state(
            CommandState(
                command_id=cmd.command_id,
                device_id=self._client.device.id,
                name=cmd.name,
                state=state,  # type: ignore[arg-type]
                detail=detail,
                data=data or {},
            )
        )

    def handle(self, topic_name: str, cmd: Command) -> None:
        """Run one command received on ``.../cmd/<topic_name>``."""
        if topic_name != cmd.name:
            log.warning("command %s arrived on the topic of %s; ignored", cmd.name, topic_name)
            return
        key = str(cmd.command_id)
        if key in self._seen:
            log.info("command %s %s already handled; not run again", cmd.name, key)
            return
        self._seen[key] = None
        while len(self._seen) > 1000:
            self._seen.popitem(last=False)
        log.info("command %s (%s) received", cmd.name, key)
        self._state(cmd, "received")
        if cmd.name == "ping":
            self._state(
                cmd, "ok", "pong",
                {"uptime_s": round(time.monotonic() - self._client._started_at, 1),
                 "published": self._client.published, "acknowledged": self._client.acknowledged},
            )  # fmt: skip
        elif cmd.name == "config":
            self._config(cmd)
        elif self._on_command is None:
            self._state(cmd, "failed", f"no handler for {cmd.name} commands on this device")
        else:
            threading.Thread(target=self._delegate, args=(cmd,), name=f"cmd-{cmd.name}", daemon=True).start()

    def _config(self, cmd: Command) -> None:
        unknown = sorted(set(cmd.args) - set(LIVE_SETTINGS))
        if unknown:
            self._state(
                cmd, "failed",
                f"not live-changeable: {', '.join(unknown)} (live: {', '.join(LIVE_SETTINGS)})",
            )  # fmt: skip
            return
        cfg = self._client.cfg
        old = {k: getattr(cfg, k) for k in cmd.args}
        try:
            # Validate all values on a copy first so a bad one changes nothing.
            trial = cfg.model_validate({**cfg.model_dump(), **cmd.args})
        except ValidationError as exc:
            errs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            self._state(cmd, "failed", f"invalid settings: {errs}")
            return
        for k in cmd.args:
            setattr(cfg, k, getattr(trial, k))
        new = {k: getattr(cfg, k) for k in cmd.args}
        log.info("settings changed by command: %s -> %s", old, new)
        self._state(cmd, "ok", "applied", {"old": old, "new": new})

    def _delegate(self, cmd: Command) -> None:
        assert self._on_command is not None
        try:
            result = self._on_command(cmd)
        except Exception as exc:
            log.exception("%s command failed", cmd.name)
            self._state(cmd, "failed", f"{type(exc).__name__}: {exc}")
            return
        if result is not None:
            self._client.publish_state(result)
