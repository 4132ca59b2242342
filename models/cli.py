"""``signet data ...`` (corpus) and ``signet models ...`` (training, evaluation) commands."""

from __future__ import annotations

import click


@click.group()
def data() -> None:
    """The synthetic document corpus."""


@click.group()
def models() -> None:
    """Train and evaluate models."""
