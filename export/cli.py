"""``signet export ...`` commands."""

from __future__ import annotations

import click


@click.group()
def export() -> None:
    """Export models to ONNX and TensorRT."""
