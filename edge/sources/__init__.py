"""Frame sources, chosen by URI.

Two shapes of source exist because they behave differently downstream:

* :class:`LiveSource` (``/dev/videoN``, ``v4l2://N``, ``csi://N``, ``rtsp://…``, ``file://video``):
  an endless stream of :class:`Frame`; old frames may be dropped.
* :class:`PageSource` (``folder:///path``, ``sane://device``): a sequence of :class:`Doc`, each a
  file of one or more pages that must all be processed; nothing is dropped, and the pipeline
  reports the outcome with ``Doc.finish`` so the file moves to done/ or failed/.

``open_source(uri, cfg)`` picks the class from a plain dict keyed by scheme.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from edge.config import SourceConfig


class SourceError(RuntimeError):
    """A source URI that cannot be used; the message says what to fix."""


@dataclass
class Frame:
    """One live frame (BGR uint8) and when it was captured."""

    image: np.ndarray
    captured_at: datetime
    index: int
    t_mono: float


@dataclass
class Doc:
    """One file of pages from a page source. ``key`` (sha256 of the file) makes result ids
    deterministic, so a file processed again after a crash does not produce duplicates."""

    path: Path
    key: str
    page_count: int
    dpi: int | None
    pages: Iterator[np.ndarray]
    captured_at: datetime
    on_finish: Callable[[Doc, bool, str | None], None] = field(repr=False)
    uri: str = ""

    def finish(self, ok: bool, reason: str | None = None) -> None:
        """Report the outcome: ok moves the file to done/, otherwise to failed/ with ``reason``."""
        self.on_finish(self, ok, reason)


@runtime_checkable
class LiveSource(Protocol):
    kind: str  # contract SourceRef.kind: camera, csi, rtsp, video
    uri: str
    live: bool

    def frames(self, stop: threading.Event) -> Iterator[Frame]: ...

    def close(self) -> None: ...


@runtime_checkable
class PageSource(Protocol):
    kind: str  # folder, sane
    uri: str
    live: bool

    def docs(self, stop: threading.Event) -> Iterator[Doc]: ...

    def queue_state(self) -> dict[str, list[dict[str, str]]]: ...

    def close(self) -> None: ...


Source = LiveSource | PageSource

#: scheme -> "module:factory"; a factory takes (uri, cfg) and returns a source.
SCHEMES: dict[str, str] = {
    "v4l2": "edge.sources.camera:open_camera",
    "csi": "edge.sources.camera:open_camera",
    "rtsp": "edge.sources.camera:open_camera",
    "rtsps": "edge.sources.camera:open_camera",
    "file": "edge.sources.camera:open_camera",
    "folder": "edge.sources.folder:FolderSource",
    "sane": "edge.sources.sane:SaneSource",
}


def scheme_of(uri: str) -> str:
    """The scheme a URI is dispatched on (``/dev/video0`` counts as v4l2)."""
    if uri.startswith("/dev/video"):
        return "v4l2"
    scheme, sep, _ = uri.partition("://")
    if not sep:
        raise SourceError(
            f"source {uri!r} has no scheme: use /dev/videoN, v4l2://N, csi://N, rtsp://, file://, folder://, sane://"
        )
    return scheme.lower()


def open_source(uri: str, cfg: SourceConfig) -> Source:
    """Open the source a URI names; raises SourceError for an unknown scheme."""
    scheme = scheme_of(uri)
    target = SCHEMES.get(scheme)
    if target is None:
        raise SourceError(
            f"unknown source scheme {scheme!r} in {uri!r} (known: {', '.join(sorted(SCHEMES))})"
        )
    module_name, attr = target.split(":")
    factory = getattr(importlib.import_module(module_name), attr)
    source: Source = factory(uri, cfg)
    return source


def uri_path(uri: str) -> Path:
    """The filesystem path of a ``file://`` or ``folder://`` URI (relative paths allowed)."""
    _, _, rest = uri.partition("://")
    return Path(rest)


__all__ = [
    "Doc",
    "Frame",
    "LiveSource",
    "PageSource",
    "Source",
    "SourceError",
    "open_source",
    "scheme_of",
    "uri_path",
]
