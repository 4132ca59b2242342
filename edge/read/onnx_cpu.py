"""One ONNX Runtime session on the CPU for the reader's small models (the document-type
classifier, the handwriting word model), with the errors a missing or foreign file gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def cpu_session(path: Path, threads: int, name: str, error: type[Exception]) -> tuple[Any, dict[str, str]]:
    """(session, metadata) of the ONNX file at ``path`` on ``threads`` CPU threads; a missing
    file, a missing ONNX Runtime or a file it cannot load raise ``error``, naming ``name``."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{name} not found: {path}")
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise error(f"onnxruntime is not installed ({exc})") from exc
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # a truncated or foreign file: say which
        raise error(f"cannot load {name} {path}: {exc}") from exc
    return session, dict(session.get_modelmeta().custom_metadata_map)


def model_label(path: Path | None, label: str | None) -> str | None:
    """The ``name:version`` of a reader model for the device's status: ``label`` where the settings
    give one (a rollout's registry version), else the name and version inside the ONNX file,
    "unavailable" where it cannot be read; None where no model is configured. Reads only the
    file's metadata (no graph optimisation, session dropped at once): for a process that does
    not read pages itself."""
    if path is None:
        return None
    if label:
        return label
    try:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        meta = session.get_modelmeta().custom_metadata_map
    except Exception:  # a missing or foreign file: the readers log why when they load it
        return f"{Path(path).stem}:unavailable"
    from edge.contract import file_label

    return file_label(dict(meta)) or f"{meta.get('name', Path(path).stem)}:{meta.get('version', 'unknown')}"
