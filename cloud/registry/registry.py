"""Registry helpers over MLflow: versions with offline metrics and aliases, promotion, packages.

Everything goes through an ``MlflowClient`` on the configured tracking URI, so with a server
started by ``signet cloud mlflow`` artifacts come through the server (proxied) and this process
needs no storage credentials.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.contract import file_label
from edge.rollout import _sha256, build_package

log = logging.getLogger(__name__)

MODEL_DIR = "onnx"  # same folder models.tracking logs the registered ONNX into


@dataclass
class VersionInfo:
    """One registered version as the Models page and the CLI show it."""

    name: str
    version: str
    kind: str
    aliases: list[str]
    sha256: str
    size: int
    run_id: str | None
    created_ms: int
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def file_label(self) -> str | None:
        """The ``name:version`` inside the version's ONNX file: what a device that runs the file
        without a rollout (the model it shipped with) names it by. From the registration's
        ``file_label`` tag, or, for a version registered before that tag, from the metadata in
        its ``signature`` tag."""
        if "file_label" in self.tags:
            return self.tags["file_label"] or None
        try:
            metadata = json.loads(self.tags.get("signature", "{}")).get("metadata", {})
        except ValueError:  # cut at the tag's length limit
            return None
        return file_label(metadata) if isinstance(metadata, dict) else None


def page_labels(versions: list[VersionInfo]) -> dict[str, list[str]]:
    """The labels the pages read with each of one model's ``versions`` carry: its registry
    ``name:version``, which a rollout gives the device, and the label inside its file where no
    other version's file carries the same one (two trainings left at the same version cannot be
    told apart by their pages, so those pages count for neither)."""
    seen = Counter(v.file_label for v in versions if v.file_label)
    out = {}
    for v in versions:
        own = f"{v.name}:{v.version}"
        fl = v.file_label
        out[v.version] = [own] + ([fl] if fl and fl != own and seen[fl] == 1 else [])
    return out


@dataclass
class Package:
    """A model package ready to serve to devices."""

    kind: str
    name: str
    version: str
    path: Path
    sha256: str
    size: int


class Registry:
    """Thin, typed access to the MLflow model registry for Signet models."""

    def __init__(self, tracking_uri: str, packages_dir: Path) -> None:
        from mlflow.tracking import MlflowClient

        self.uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        self.packages_dir = packages_dir

    def model_names(self) -> list[str]:
        return sorted(m.name for m in self.client.search_registered_models())

    def versions(self, name: str, with_metrics: bool = True) -> list[VersionInfo]:
        """Every version of ``name``, newest first, with its run's offline metrics and params."""
        # search results do not carry aliases on every store: take them from the registered model
        by_version: dict[str, list[str]] = {}
        for alias, v in (self.client.get_registered_model(name).aliases or {}).items():
            by_version.setdefault(str(v), []).append(alias)
        out = []
        for mv in self.client.search_model_versions(f"name='{name}'"):
            info = self._info(mv, with_metrics)
            info.aliases = sorted(by_version.get(info.version, []))
            out.append(info)
        return sorted(out, key=lambda v: int(v.version), reverse=True)

    def version(self, name: str, version: str) -> VersionInfo:
        return self._info(self.client.get_model_version(name, str(version)), True)

    def by_alias(self, name: str, alias: str) -> VersionInfo | None:
        from mlflow.exceptions import MlflowException

        try:
            return self._info(self.client.get_model_version_by_alias(name, alias), True)
        except MlflowException:
            return None

    def _info(self, mv: Any, with_metrics: bool) -> VersionInfo:
        tags = dict(mv.tags or {})
        metrics: dict[str, float] = {}
        params: dict[str, str] = {}
        if with_metrics and mv.run_id:
            run = self.client.get_run(mv.run_id)
            metrics, params = dict(run.data.metrics), dict(run.data.params)
        return VersionInfo(
            name=mv.name,
            version=str(mv.version),
            kind=tags.get("kind", "detector"),
            aliases=list(mv.aliases or []),
            sha256=tags.get("sha256", ""),
            size=int(tags.get("size", "0") or 0),
            run_id=mv.run_id,
            created_ms=int(mv.creation_timestamp or 0),
            metrics=metrics,
            params=params,
            description=mv.description or "",
            tags=tags,
        )

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(name, alias, str(version))

    def validation_distribution(self, name: str, version: str) -> dict[str, Any] | None:
        """What the version predicted on its validation set (logged at training), if logged."""
        mv = self.client.get_model_version(name, str(version))
        if not mv.run_id:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            try:
                local = self.client.download_artifacts(mv.run_id, "validation_distribution.json", tmp)
            except Exception:
                return None
            data: dict[str, Any] = json.loads(Path(local).read_text())
            return data

    def download(self, name: str, version: str, dest: Path) -> Path:
        """Download the version's model folder (ONNX, card, golden pages) through the tracking server."""
        mv = self.client.get_model_version(name, str(version))
        if not mv.run_id:
            raise ValueError(f"{name} {version} has no run to download from")
        dest.mkdir(parents=True, exist_ok=True)
        local = self.client.download_artifacts(mv.run_id, MODEL_DIR, str(dest))
        return Path(local)

    def package(self, name: str, version: str) -> Package:
        """The device package for a version, built once from its artifacts and cached on disk."""
        info = self.version(name, version)
        # keyed by the ONNX hash too: a registry rebuilt from scratch reuses version numbers
        out = self.packages_dir / name / f"{version}-{(info.sha256 or 'unknown')[:16]}.tar"
        meta = out.with_suffix(".json")
        if out.exists() and meta.exists():
            m = json.loads(meta.read_text())
            return Package(info.kind, name, str(version), out, m["sha256"], m["size"])
        with tempfile.TemporaryDirectory() as tmp:
            folder = self.download(name, version, Path(tmp))
            onnx_name = info.tags.get("onnx_file") or next(p.name for p in folder.glob("*.onnx"))
            onnx_path = folder / onnx_name
            if info.sha256 and _sha256(onnx_path) != info.sha256:
                raise ValueError(f"{name} {version}: stored ONNX does not match its registered sha256")
            extra = sorted(p for p in folder.iterdir() if p.is_file() and p.name != onnx_name)
            build_package(out, info.kind, name, str(version), onnx_path, extra)
        digest, size = _sha256(out), out.stat().st_size
        meta.write_text(json.dumps({"sha256": digest, "size": size}))
        log.info("packaged %s %s: %s (%d bytes)", name, version, digest[:12], size)
        return Package(info.kind, name, str(version), out, digest, size)
