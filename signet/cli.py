"""The ``signet`` command line. Subcommand groups live with their parts and load lazily, so
``signet edge ...`` on a device never imports the cloud or training code (or torch)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from signet import __version__
from signet.logs import setup_logging

# name -> "module:attribute" of a click command or group
LAZY_COMMANDS: dict[str, str] = {
    "edge": "edge.cli:edge",
    "cloud": "cloud.cli:cloud",
    "data": "models.cli:data",
    "models": "models.cli:models",
    "export": "export.cli:export",
    "demo": "signet.demo:demo",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used (or listed in --help).

    ``lazy`` maps a subcommand name to ``"module:attribute"``; each part owns its module, so
    adding a command never means editing another part's file.
    """

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name].split(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                # A part whose extra is not installed: say which, rather than a traceback.
                return _unavailable(cmd_name, exc)
            cmd = getattr(module, attr)
            assert isinstance(cmd, click.Command)
            return cmd
        return super().get_command(ctx, cmd_name)


def _unavailable(name: str, exc: ImportError) -> click.Command:
    @click.command(name, help=f"(unavailable: {exc})", context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def stub(args: Any) -> None:
        raise click.ClickException(
            f"'signet {name}' is unavailable: {exc}. Install the matching extra, e.g. pip install 'signet[{_extra(name)}]'"
        )

    return stub


def _extra(name: str) -> str:
    return {"edge": "edge", "cloud": "cloud", "data": "train", "models": "train", "export": "train"}.get(
        name, "dev"
    )


def lazy_group(name: str, help: str, lazy: dict[str, str]) -> LazyGroup:
    """Make a command group whose subcommands load from their owners' modules on demand."""
    return LazyGroup(name=name, help=help, lazy=lazy)


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="signet")
@click.option("--log-level", default="INFO", envvar="SIGNET_LOG_LEVEL", show_default=True, help="Log level.")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "human", "json"]),
    default="auto",
    envvar="SIGNET_LOG_FORMAT",
    show_default=True,
    help="human on a terminal, JSON lines under systemd (auto picks).",
)
def cli(log_level: str, log_format: str) -> None:
    """Signet: signatures, text, fields and document type, read at the edge."""
    setup_logging(log_level, log_format)


@cli.group()
def config() -> None:
    """Settings files."""


@config.command("check")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--kind", type=click.Choice(["auto", "edge", "cloud"]), default="auto", help="Which settings schema."
)
def config_check(path: Path, kind: str) -> None:
    """Validate a settings file and print every error with its path."""
    from signet.config import ConfigError, load_settings, read_yaml

    try:
        data = read_yaml(path)
    except ConfigError as exc:
        click.echo(f"{path}: {exc.errors[0]}", err=True)
        sys.exit(1)
    if kind == "auto":
        kind = "cloud" if ("database" in data or "web" in data or "ingest" in data) else "edge"
    if kind == "edge":
        from edge.config import EdgeConfig as model
    else:
        from cloud.config import CloudConfig as model  # type: ignore[assignment]
    try:
        load_settings(model, path, environ={})
    except ConfigError as exc:
        for line in exc.errors:
            click.echo(f"{path}: {line}", err=True)
        click.echo(f"{len(exc.errors)} error(s) in {path} ({kind} settings)", err=True)
        sys.exit(1)
    click.echo(f"{path}: ok ({kind} settings)")


@cli.group()
def contract() -> None:
    """The edge-to-cloud wire contract."""


@contract.command("schema")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("docs/contract"),
    show_default=True,
)
def contract_schema(out: Path) -> None:
    """Write JSON Schema files for every message of the contract."""
    from edge.contract import MESSAGE_MODELS

    out.mkdir(parents=True, exist_ok=True)
    for name, model in MESSAGE_MODELS.items():
        target = out / f"{name}.schema.json"
        target.write_text(
            json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        click.echo(str(target))


def main() -> None:
    cli(prog_name="signet")


if __name__ == "__main__":
    main()
