"""TensorRT backend (pycuda): one engine per model, built on first start and cached per model
version and TensorRT version; pinned host buffers, device buffers and one CUDA stream.

Both TensorRT API generations are supported: 8.5+ and 10.x address I/O by tensor name
(``set_tensor_address`` + ``execute_async_v3``); TensorRT < 8.5 (JetPack 4.6 has 8.2) only has
bindings by index (``execute_async_v2``), removed in 10.x.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge.detect import BackendUnavailable
from edge.detect.base import BaseDetector
from edge.detect.engine_file import cache_key, calibration_cache_key, file_sha256, pack_engine, unpack_engine
from edge.detect.meta import ModelMeta

if TYPE_CHECKING:
    from edge.config import DetectorConfig

log = logging.getLogger(__name__)


def import_runtime() -> tuple[Any, Any]:
    """(tensorrt, pycuda.driver), or :class:`BackendUnavailable` naming the missing one."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BackendUnavailable(
            f"the tensorrt Python package is not installed ({exc}); it ships with JetPack"
        ) from exc
    try:
        import pycuda.driver as cuda
    except ImportError as exc:
        raise BackendUnavailable(
            f"pycuda is not installed ({exc}); pip install pycuda on the device"
        ) from exc
    return trt, cuda


def engine_for(cfg: DetectorConfig, trt: Any) -> tuple[dict[str, Any], bytes]:
    """Load the cached engine for ``cfg.model`` or build it (and cache it) now."""
    from edge.detect.onnx_backend import read_meta
    from edge.detect.trt_engine import CalibrationCache, build_engine, make_entropy_calibrator

    model = Path(cfg.model)
    if not model.is_file():
        raise FileNotFoundError(f"detector model not found: {model}")
    meta = read_meta(model)
    sha = file_sha256(model)
    path = Path(cfg.engine_cache) / cache_key(meta.name, meta.version, sha, trt.__version__, cfg.precision)
    if path.is_file():
        log.info("using cached engine %s", path)
        return unpack_engine(path.read_bytes())
    log.warning("building a %s TensorRT engine for %s (first start; minutes on a Nano)", cfg.precision, model)
    calibrator = None
    if cfg.precision == "int8":
        cache = CalibrationCache(
            Path(cfg.engine_cache) / calibration_cache_key(meta.name, meta.version, sha, trt.__version__)
        )
        if cache.read() is None:
            raise BackendUnavailable(
                f"INT8 needs a calibration cache at {cache.path} (make one with `signet export tensorrt --precision int8`)"
            )
        calibrator = make_entropy_calibrator(trt, None, cache)
    engine = build_engine(trt, model, cfg.precision, calibrator=calibrator)
    header = {
        "meta": meta.to_props(),
        "model_sha256": sha,
        "trt": trt.__version__,
        "precision": cfg.precision,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pack_engine(header, engine))
    tmp.replace(path)
    return header, engine


class TensorRTDetector(BaseDetector):
    """Signature detector running a TensorRT engine built from the shipped ONNX model."""

    def __init__(self, cfg: DetectorConfig) -> None:
        trt, cuda = import_runtime()
        cuda.init()
        self._ctx = cuda.Device(0).make_context()
        try:
            header, blob = engine_for(cfg, trt)
            super().__init__(ModelMeta.from_props(header["meta"]), cfg.score_threshold)
            self._cuda = cuda
            runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
            self.engine = runtime.deserialize_cuda_engine(blob)
            if self.engine is None:
                raise RuntimeError("TensorRT could not deserialize the engine (built by another version?)")
            self.context = self.engine.create_execution_context()
            self.stream = cuda.Stream()
            self._v3 = hasattr(self.engine, "num_io_tensors")
            self._host: dict[str, Any] = {}
            self._dev: dict[str, Any] = {}
            for name in self._io_names():
                shape = tuple(self._shape(name))
                dtype = trt.nptype(self._dtype(name))
                self._host[name] = cuda.pagelocked_empty(shape, dtype)
                self._dev[name] = cuda.mem_alloc(self._host[name].nbytes)
                if self._v3:
                    self.context.set_tensor_address(name, int(self._dev[name]))
        finally:
            self._ctx.pop()

    def _io_names(self) -> list[str]:
        if self._v3:
            return [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        return [self.engine.get_binding_name(i) for i in range(self.engine.num_bindings)]

    def _shape(self, name: str) -> Any:
        if self._v3:
            return self.engine.get_tensor_shape(name)
        return self.engine.get_binding_shape(self.engine.get_binding_index(name))

    def _dtype(self, name: str) -> Any:
        if self._v3:
            return self.engine.get_tensor_dtype(name)
        return self.engine.get_binding_dtype(self.engine.get_binding_index(name))

    def infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Copy in (pinned), run, copy out on one stream; outputs returned as float32 copies."""
        cuda, m = self._cuda, self.meta
        self._ctx.push()
        try:
            inp = self._host[m.input_name]
            np.copyto(inp, tensor.astype(inp.dtype, copy=False))
            cuda.memcpy_htod_async(self._dev[m.input_name], inp, self.stream)
            if self._v3:
                self.context.execute_async_v3(self.stream.handle)
            else:
                bindings = [int(self._dev[n]) for n in self._io_names()]
                self.context.execute_async_v2(bindings, self.stream.handle)
            for name in m.outputs:
                cuda.memcpy_dtoh_async(self._host[name], self._dev[name], self.stream)
            self.stream.synchronize()
            return tuple(np.array(self._host[n], dtype=np.float32) for n in m.outputs)  # type: ignore[return-value]
        finally:
            self._ctx.pop()
