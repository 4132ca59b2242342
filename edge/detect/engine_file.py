"""Engine files with the model's metadata in a small header, and the engine cache key.

Framing (little endian): ``MAGIC`` (8 bytes) | uint32 length of the JSON | UTF-8 JSON | engine.
TensorRT engines carry no user metadata, so the same :class:`ModelMeta` that the ONNX file
holds travels in front of the serialized engine. Engines are specific to the GPU, the JetPack
and the TensorRT version, so the cache key names the model (version and content hash), the
TensorRT version and the precision.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from pathlib import Path
from typing import Any

MAGIC = b"SIGNETE1"
_LEN = struct.Struct("<I")
MAX_HEADER = 1 << 20


class BadEngineFile(ValueError):
    """Not a Signet engine file, or a truncated one."""


def pack_engine(header: dict[str, Any], engine: bytes) -> bytes:
    """Frame a serialized engine with its JSON header."""
    blob = json.dumps(header, sort_keys=True).encode("utf-8")
    if len(blob) > MAX_HEADER:
        raise ValueError(f"engine header too large ({len(blob)} bytes)")
    return MAGIC + _LEN.pack(len(blob)) + blob + bytes(engine)


def unpack_engine(data: bytes) -> tuple[dict[str, Any], bytes]:
    """Split a framed engine into (header, engine bytes); raises :class:`BadEngineFile`."""
    if len(data) < len(MAGIC) + _LEN.size or data[: len(MAGIC)] != MAGIC:
        raise BadEngineFile("not a Signet engine file (bad magic)")
    (n,) = _LEN.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _LEN.size
    if n > MAX_HEADER or start + n > len(data):
        raise BadEngineFile(f"truncated engine file (header says {n} bytes)")
    try:
        header = json.loads(data[start : start + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadEngineFile(f"engine header is not JSON: {exc}") from exc
    engine = data[start + n :]
    if not engine:
        raise BadEngineFile("engine file holds a header but no engine")
    return header, engine


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_key(
    model_name: str, model_version: str, model_sha256: str, trt_version: str, precision: str
) -> str:
    """File name of the cached engine for one model file, TensorRT version and precision."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{model_name}-{model_version}")
    return f"{safe}-{model_sha256[:12]}-trt{trt_version}-{precision}.engine"


def calibration_cache_key(model_name: str, model_version: str, model_sha256: str, trt_version: str) -> str:
    """File name of the INT8 calibration cache (reused across builds of the same model)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{model_name}-{model_version}")
    return f"{safe}-{model_sha256[:12]}-trt{trt_version}.calib"
