"""``signet edge ...`` commands."""

from __future__ import annotations

import click


@click.group()
def edge() -> None:
    """The device process."""
