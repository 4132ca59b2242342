"""``signet cloud ...`` commands."""

from __future__ import annotations

import click


@click.group()
def cloud() -> None:
    """The cloud service."""
