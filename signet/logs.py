"""Logging setup: a readable format on a terminal, JSON lines under systemd or when asked."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra= fields on the record are kept as top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                doc[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def pick_format(requested: str) -> str:
    """``auto`` means JSON lines under systemd (it sets JOURNAL_STREAM / INVOCATION_ID), human
    otherwise, so a developer piping output to ``less`` still reads plain lines."""
    if requested != "auto":
        return requested
    if os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"):
        return "json"
    return "human"


def setup_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Configure the root logger once for the process (called from ``main()`` only)."""
    handler = logging.StreamHandler(sys.stderr)
    if pick_format(fmt) == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("urllib3", "werkzeug", "alembic", "PIL", "mlflow", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
