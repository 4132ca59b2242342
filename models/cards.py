"""Draft model cards written by the training commands, so every registered version carries one.

A draft says what produced the version (parameters, data, figures measured at training). The
shipped cards in models/artifacts/ are written by people from these plus the evaluation
commands; a draft says so at the top, so nobody mistakes it for a reviewed card.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def draft_card(
    path: Path,
    *,
    name: str,
    version: str,
    kind: str,
    run_id: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
    data: str,
) -> Path:
    """Write a draft card for one trained version to ``path`` and return it."""
    lines = [
        f"# {name} {version} ({kind}) - draft model card",
        "",
        f"*Draft written by training on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, MLflow run "
        f"`{run_id}`. Review it, and add the evaluation on real pages, before promoting to production.*",
        "",
        "## Data",
        data,
        "",
        "## Figures measured at training",
        "| metric | value |",
        "| --- | --- |",
        *[f"| {k} | {_fmt(v)} |" for k, v in sorted(metrics.items())],
        "",
        "## Parameters",
        "| parameter | value |",
        "| --- | --- |",
        *[f"| {k} | {_fmt(v)} |" for k, v in sorted(params.items())],
        "",
        "## Intended use and limits",
        "Trained on the synthetic corpus (models/corpus) and any mixed-in reviewed pages; see the",
        "shipped card in models/artifacts/ for the known failure cases of this model family.",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
