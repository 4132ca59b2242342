"""Settings loading shared by every part: YAML file plus ``SIGNET_*`` environment overrides.

Settings are pydantic models with ``extra="forbid"`` defined by each part (``edge.config``,
``cloud.config``). This module only knows how to read a YAML file, lay environment overrides
over it and turn validation errors into lines a person can act on. Nothing here runs at import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

ENV_PREFIX = "SIGNET_"
ENV_NESTING = "__"

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every settings model: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ConfigError(Exception):
    """A settings file that cannot be used; ``errors`` holds one line per problem."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: " + "; ".join(errors))


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML mapping; an empty file is an empty mapping."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(p), [f"cannot read: {exc.strerror or exc}"]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(str(p), [f"not valid YAML: {exc}"]) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(p), [f"top level must be a mapping, got {type(data).__name__}"])
    return data


def env_overrides(environ: Mapping[str, str], prefix: str = ENV_PREFIX) -> dict[str, Any]:
    """Turn ``SIGNET_SYNC__BROKER__PORT=8883`` into ``{"sync": {"broker": {"port": 8883}}}``.

    Values are parsed as YAML scalars so numbers and booleans arrive typed; pydantic does the rest.
    Variables without the nesting separator after the prefix (``SIGNET_LOG_LEVEL``) are not settings.
    """
    out: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(prefix):
            continue
        path = [p.lower() for p in key[len(prefix) :].split(ENV_NESTING) if p]
        if len(path) < 2:
            # Every setting lives in a section; single-level names (SIGNET_CONFIG, SIGNET_LOG_LEVEL)
            # are process-level switches read by the command line, not settings.
            continue
        try:
            value: Any = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[path[-1]] = value
    return out


def deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``over`` into a copy of ``base``; nested mappings merge, everything else replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def format_errors(exc: ValidationError) -> list[str]:
    """One line per error, with the dotted path of the field: ``sync.broker.port: ...``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        lines.append(f"{loc}: {err['msg']}")
    return lines


def load_settings(
    model: type[M],
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> M:
    """Build ``model`` from an optional YAML file, then env overrides, then explicit overrides."""
    data: dict[str, Any] = read_yaml(path) if path else {}
    if environ is not None:
        data = deep_merge(data, env_overrides(environ))
    if overrides:
        data = deep_merge(data, overrides)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(str(path) if path else "<settings>", format_errors(exc)) from exc
