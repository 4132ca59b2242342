"""Building TensorRT engines from the ONNX model, for both TensorRT API generations.

Used on the device (the TensorRT backend builds and caches an engine on first start) and by
``signet export tensorrt``. Differences between the generations handled here:

- Network creation: TensorRT 8.x needs the ``EXPLICIT_BATCH`` flag for ONNX models; in 10.x
  explicit batch is the only mode and the flag is deprecated (ignored), so we pass 0.
- Workspace: 8.4+ and 10.x use ``config.set_memory_pool_limit(MemoryPoolType.WORKSPACE, n)``;
  8.0-8.3 (JetPack 4.6 ships 8.2) only have ``config.max_workspace_size``, removed in 10.x.
- Building: ``builder.build_engine`` was removed in 10.x; ``build_serialized_network`` exists
  since 8.0, so we always use it.
- INT8: ``IInt8EntropyCalibrator2`` works in both (deprecated in 10.x in favour of explicit
  Q/DQ quantization, still functional), so implicit calibration is used everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edge.detect.meta import ModelMeta
from edge.detect.preprocess import preprocess

log = logging.getLogger(__name__)

#: A 4 GB Nano shares its memory between CPU and GPU; 256 MiB of builder scratch leaves room for
#: the OS, the edge process and Tesseract, and is plenty for a model this size.
NANO_WORKSPACE_BYTES = 256 << 20


def trt_major(trt: Any) -> int:
    """Major version of an imported ``tensorrt`` module."""
    return int(str(trt.__version__).split(".")[0])


class CalibrationBatches:
    """Preprocessed calibration batches (NxCxSxS float32, C-contiguous) from page images.

    The last incomplete batch is dropped: TensorRT calibrates with a fixed batch size.
    """

    def __init__(self, images: Iterable[np.ndarray], meta: ModelMeta, batch_size: int = 8) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.images = images
        self.meta = meta
        self.batch_size = batch_size

    def __iter__(self) -> Iterator[np.ndarray]:
        batch: list[np.ndarray] = []
        for image in self.images:
            tensor, _ = preprocess(image, self.meta.input_size, self.meta.mean, self.meta.std)
            batch.append(tensor[0])
            if len(batch) == self.batch_size:
                yield np.ascontiguousarray(np.stack(batch), dtype=np.float32)
                batch = []


class CalibrationCache:
    """Reads and writes the INT8 calibration cache so later builds skip calibration."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def read(self) -> bytes | None:
        if self.path.is_file() and self.path.stat().st_size > 0:
            log.info("reusing INT8 calibration cache %s", self.path)
            return self.path.read_bytes()
        return None

    def write(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_bytes(bytes(data))
        tmp.replace(self.path)


def make_entropy_calibrator(trt: Any, batches: Iterable[np.ndarray] | None, cache: CalibrationCache) -> Any:
    """An ``IInt8EntropyCalibrator2`` feeding ``batches`` through pycuda; the cache is reused.

    With a cache present, ``batches`` may be None: TensorRT reads the cache and never asks.
    """
    import pycuda.driver as cuda

    class _Calibrator(trt.IInt8EntropyCalibrator2):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self._it = iter(batches) if batches is not None else iter(())
            self._dev: Any = None
            self._batch_size = batches.batch_size if isinstance(batches, CalibrationBatches) else 1

        def get_batch_size(self) -> int:
            return self._batch_size

        def get_batch(self, names: list[str]) -> list[int] | None:
            batch = next(self._it, None)
            if batch is None:
                return None
            if self._dev is None:
                self._dev = cuda.mem_alloc(batch.nbytes)
            cuda.memcpy_htod(self._dev, batch)
            return [int(self._dev)]

        def read_calibration_cache(self) -> bytes | None:
            return cache.read()

        def write_calibration_cache(self, data: Any) -> None:
            cache.write(bytes(data))

    return _Calibrator()


def build_engine(
    trt: Any,
    onnx_path: Path,
    precision: str = "fp16",
    workspace_bytes: int = NANO_WORKSPACE_BYTES,
    calibrator: Any = None,
) -> bytes:
    """Parse ``onnx_path`` and build a serialized engine at ``precision`` (fp32, fp16, int8)."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0 if trt_major(trt) >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    if hasattr(config, "set_memory_pool_limit"):
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    else:  # TensorRT < 8.4
        config.max_workspace_size = workspace_bytes
    if precision in ("fp16", "int8") and builder.platform_has_fast_fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        if not builder.platform_has_fast_int8:
            raise RuntimeError("this GPU has no fast INT8; build fp16 instead")
        if calibrator is None:
            raise ValueError("INT8 needs a calibrator (or a calibration cache)")
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = calibrator
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {onnx_path}")
    return bytes(serialized)
