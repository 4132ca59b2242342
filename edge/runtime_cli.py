"""``signet edge run`` (the device process) and ``signet edge process FILE…`` (one shot)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

log = logging.getLogger(__name__)


def load_edge_config(config: Path | None, overrides: dict[str, Any] | None = None) -> Any:
    """Edge settings from the file, ``SIGNET_*`` environment variables and CLI overrides."""
    from edge.config import EdgeConfig
    from signet.config import ConfigError, load_settings

    try:
        return load_settings(EdgeConfig, config, environ=os.environ, overrides=overrides or {})
    except ConfigError as exc:
        for line in exc.errors:
            click.echo(f"{exc.source}: {line}", err=True)
        raise click.ClickException(f"{len(exc.errors)} error(s) in the edge settings") from exc


def _source_overrides(sources: tuple[str, ...]) -> dict[str, Any]:
    if not sources:
        return {}
    return {"source": {"uri": sources[0], "also": list(sources[1:])}}


@click.command("run")
@click.option(
    "--config", "config", type=click.Path(dir_okay=False, path_type=Path), help="Edge settings (YAML)."
)
@click.option(
    "--source", "sources", multiple=True, help="Source URI (repeat for more); overrides source.uri/also."
)
@click.option("--kiosk-port", type=int, default=None, help="Kiosk port (0 picks a free one).")
@click.option("--no-sync", is_flag=True, help="Do not start the sync client (sync.enabled=false).")
@click.option("--loop", is_flag=True, help="file:// videos start again at the end, like a camera (demo).")
def run(
    config: Path | None, sources: tuple[str, ...], kiosk_port: int | None, no_sync: bool, loop: bool
) -> None:
    """Run the device process: sources, pipeline, store, kiosk page, metrics and sync."""
    from edge.app import EdgeApp
    from edge.detect import BackendUnavailable
    from edge.sources import SourceError

    overrides = _source_overrides(sources)
    if loop:
        overrides.setdefault("source", {})["loop"] = True
    if kiosk_port is not None:
        overrides["kiosk"] = {"port": kiosk_port}
    if no_sync:
        overrides["sync"] = {"enabled": False}
    cfg = load_edge_config(config, overrides)
    app = EdgeApp(cfg)
    try:
        code = app.run()
    except (BackendUnavailable, SourceError, FileNotFoundError) as exc:
        app.stop()
        raise click.ClickException(f"{exc} (run 'signet edge doctor' for what to fix)") from exc
    sys.exit(code)


@click.command("process")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--config", "config", type=click.Path(dir_okay=False, path_type=Path), help="Edge settings (YAML)."
)
@click.option("--pretty", is_flag=True, help="Indented JSON instead of one line per page.")
def process(files: tuple[Path, ...], config: Path | None, pretty: bool) -> None:
    """Process files once and print one Result JSON per page (nothing is stored or sent)."""
    from edge.detect import BackendUnavailable, load_detector
    from edge.pipeline import process_file
    from edge.read import PageReader
    from edge.sources.pages import PageError

    cfg = load_edge_config(config)
    try:
        detector = load_detector(cfg.detector)
    except (BackendUnavailable, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    reader = PageReader(cfg.reader)
    failed = 0
    for path in files:
        try:
            results = process_file(path, cfg, detector, reader)
        except PageError as exc:
            click.echo(f"{path}: {exc}", err=True)
            failed += 1
            continue
        for r in results:
            click.echo(r.model_dump_json(indent=2 if pretty else None))
    if failed:
        sys.exit(1)
