"""``signet edge ...``: each subcommand lives in the module that owns it, imported on use."""

from __future__ import annotations

from signet.cli import lazy_group

edge = lazy_group(
    "edge",
    "The device process.",
    {
        "run": "edge.runtime_cli:run",
        "process": "edge.runtime_cli:process",
        "doctor": "edge.doctor:doctor",
        "sync": "edge.sync.cli:sync",
    },
)
