"""Experiment tracking and model registration on MLflow, shared by every training command.

Usage (detector or classifier training)::

    with tracked_run("detector", params={"epochs": 30, "lr": 1e-3}) as t:
        ...
        t.metrics({"val_map50": 0.91}, step=epoch)
        t.validation_distribution(confidences=[...], doc_types=[...], signature_counts=[...])
        version = t.register_onnx(Path("models/artifacts/detector.onnx"), "signet-detector",
                                  card=Path("models/artifacts/detector.md"))

With no tracking URI (and no ``MLFLOW_TRACKING_URI``) runs go to ``sqlite:///var/mlflow/mlflow.db``
with artifacts under ``var/mlflow/artifacts``: no server and no network needed. Pointed at a
server started by ``signet cloud mlflow`` (``http://127.0.0.1:5000``), artifacts travel through
the server (proxied), so the training machine needs no storage credentials.

A registered version carries, as tags, what a device needs to trust and run it: sha256 and size
of the ONNX file, its signature (input/output names, element types, shapes), its metadata and the
run it came from. Golden pages (``<model>.golden.npz`` next to the ONNX, see ``edge.rollout``) are
logged beside the model so the device can self-test it before swapping it in. Aliases (not the
deprecated stages) mark ``candidate`` and ``production``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from edge.contract import file_label

log = logging.getLogger(__name__)

DEFAULT_TRACKING_URI = "sqlite:///var/mlflow/mlflow.db"
DEFAULT_ARTIFACTS = Path("var/mlflow/artifacts")
MODEL_DIR = "onnx"  # artifact folder of a run that holds the registered ONNX, card and golden pages
VALIDATION_FILE = "validation_distribution.json"
ALIASES = ("production", "candidate")


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """The explicit URI, else ``MLFLOW_TRACKING_URI``, else the offline SQLite default."""
    return tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def _artifact_root(tracking_uri: str) -> str | None:
    """Where a new experiment keeps artifacts for a local SQLite store (None: let the server decide)."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    db = Path(tracking_uri[len("sqlite:///") :])
    root = DEFAULT_ARTIFACTS if tracking_uri == DEFAULT_TRACKING_URI else db.parent / "artifacts"
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve().as_uri()


def _prepare_store(tracking_uri: str) -> None:
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def onnx_signature(path: Path) -> dict[str, Any]:
    """Input/output names, element types and shapes, plus metadata_props, of an ONNX file."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)

    def describe(values: Iterable[Any]) -> list[dict[str, Any]]:
        out = []
        for v in values:
            t = v.type.tensor_type
            shape = [
                d.dim_param if d.dim_param else (d.dim_value if d.HasField("dim_value") else None)
                for d in t.shape.dim
            ]
            out.append(
                {"name": v.name, "dtype": onnx.TensorProto.DataType.Name(t.elem_type).lower(), "shape": shape}
            )
        return out

    initializers = {i.name for i in model.graph.initializer}
    return {
        "inputs": describe(i for i in model.graph.input if i.name not in initializers),
        "outputs": describe(model.graph.output),
        "metadata": {p.key: p.value for p in model.metadata_props},
        "opset": max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=None),
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
    }


def synthetic_golden(onnx_path: Path, out: Path, cases: int = 2, seed: int = 1234) -> Path:
    """Golden pages made of seeded random inputs of the model's declared shapes (see edge.rollout).

    Dynamic dimensions become 1; integer inputs (token ids) are small ids, masks are ones. The
    tolerance is looser than for real golden pages: int8 kernels differ slightly between CPUs.
    """
    import onnxruntime as ort

    from edge.rollout import write_golden

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    inputs = []
    for _ in range(cases):
        feeds: dict[str, np.ndarray] = {}
        for i in sess.get_inputs():
            shape = [
                d if isinstance(d, int) and d > 0 else (16 if "seq" in str(d).lower() else 1) for d in i.shape
            ]
            if "int" in i.type:
                dtype = np.int64 if "int64" in i.type else np.int32
                feeds[i.name] = (
                    np.ones(shape, dtype) if "mask" in i.name else rng.integers(1, 100, shape).astype(dtype)
                )
            else:
                feeds[i.name] = rng.random(shape, dtype=np.float32)
        inputs.append(feeds)
    return write_golden(out, onnx_path, inputs, atol=1e-2, rtol=1e-2)


class Tracker:
    """One MLflow run: metrics, artifacts and model registration. Made by ``tracked_run``."""

    def __init__(self, client: Any, run_id: str, experiment: str) -> None:
        self.client = client
        self.run_id = run_id
        self.experiment = experiment

    def params(self, params: dict[str, Any]) -> None:
        """Log more parameters (values are stringified by MLflow; long values are truncated)."""
        from mlflow.entities import Param

        items = [Param(str(k), str(v)[:6000]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[i : i + 100])

    def metrics(self, values: dict[str, float], step: int | None = None) -> None:
        """Log numeric metrics; non-finite values are skipped with a warning rather than failing the run."""
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = []
        for k, v in values.items():
            fv = float(v)
            if not np.isfinite(fv):
                log.warning("metric %s=%r is not finite; not logged", k, v)
                continue
            items.append(Metric(str(k), fv, now, step or 0))
        if items:
            self.client.log_batch(self.run_id, metrics=items)

    def artifact(self, path: Path | str, subdir: str | None = None) -> None:
        """Log a file or a whole directory as artifacts (under ``subdir`` when given)."""
        p = Path(path)
        if p.is_dir():
            self.client.log_artifacts(self.run_id, str(p), subdir)
        else:
            self.client.log_artifact(self.run_id, str(p), subdir)

    def image(self, image: np.ndarray, name: str) -> None:
        """Log an image (BGR uint8 as OpenCV gives it, or greyscale) as a PNG artifact ``name``."""
        import cv2

        name = name if name.lower().endswith(".png") else name + ".png"
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / Path(name).name
            if not cv2.imwrite(str(target), image):
                raise ValueError(f"could not encode image {name!r} of shape {image.shape}")
            sub = str(Path(name).parent) if Path(name).parent != Path(".") else None
            self.client.log_artifact(self.run_id, str(target), sub)

    def text(self, text: str, name: str) -> None:
        """Log a text artifact (a report, a confusion matrix as Markdown...)."""
        self.client.log_text(self.run_id, text, name)

    def json_artifact(self, data: dict[str, Any], name: str) -> None:
        """Log a JSON artifact."""
        self.client.log_dict(self.run_id, data, name)

    def validation_distribution(
        self,
        confidences: Sequence[float] = (),
        doc_types: Sequence[str] = (),
        signature_counts: Sequence[int] = (),
    ) -> None:
        """Log what the model predicts on its validation set; the cloud measures field drift against it.

        Detector training passes ``signature_counts`` (and detection scores as ``confidences``);
        classifier training passes ``doc_types`` and their ``confidences``.
        """
        conf = np.clip(np.asarray(list(confidences), dtype=float), 0.0, 1.0)
        hist, _ = np.histogram(conf, bins=10, range=(0.0, 1.0))
        data = {
            "n": int(max(len(conf), len(doc_types), len(signature_counts))),
            "confidence_hist": hist.astype(int).tolist(),
            "confidence_bins": 10,
            "doc_types": dict(Counter(str(d) for d in doc_types)),
            "signature_counts": {
                str(k): v for k, v in Counter(min(int(c), 5) for c in signature_counts).items()
            },
        }
        self.client.log_dict(self.run_id, data, VALIDATION_FILE)

    def register_onnx(
        self,
        onnx_path: Path | str,
        name: str,
        card: Path | None = None,
        aliases: Sequence[str] = ("candidate",),
        golden: Path | None = None,
        kind: str | None = None,
        extra_files: Sequence[Path] = (),
    ) -> str:
        """Log the ONNX (with card, signature and golden pages) and register it as a new version of ``name``.

        ``kind`` is ``detector``, ``classifier`` or ``handwriting`` (guessed from the name when omitted); ``golden``
        defaults to ``<onnx stem>.golden.npz`` beside the model when that file exists;
        ``extra_files`` (a tokenizer...) travel with the model to the device. Returns the version.
        """
        onnx_path = Path(onnx_path)
        if not onnx_path.is_file():
            raise FileNotFoundError(f"ONNX file not found: {onnx_path}")
        signature = onnx_signature(onnx_path)
        digest = sha256_file(onnx_path)
        tmp_golden = None
        if golden is None:
            sibling = onnx_path.with_name(onnx_path.stem + ".golden.npz")
            if sibling.is_file():
                golden = sibling
            else:
                # No golden pages given: record the model's outputs on fixed pseudo-random inputs,
                # which still catches a damaged file or a runtime that computes something else.
                tmp_golden = tempfile.TemporaryDirectory()
                golden = synthetic_golden(onnx_path, Path(tmp_golden.name) / (onnx_path.stem + ".golden.npz"))
        kind = kind or (
            "classifier" if "classif" in name else "handwriting" if "hand" in name else "detector"
        )
        self.client.log_artifact(self.run_id, str(onnx_path), MODEL_DIR)
        if card is not None:
            self.client.log_artifact(self.run_id, str(card), MODEL_DIR)
        if golden is not None:
            self.client.log_artifact(self.run_id, str(golden), MODEL_DIR)
        for extra in extra_files:
            self.client.log_artifact(self.run_id, str(extra), MODEL_DIR)
        self.client.log_dict(self.run_id, signature, f"{MODEL_DIR}/signature.json")

        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(name, description=f"Signet {kind} ({onnx_path.name})")
        except MlflowException as exc:
            if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code):
                raise
        run = self.client.get_run(self.run_id)
        card_text = card.read_text(encoding="utf-8")[:4000] if card is not None else ""
        tags = {
            "kind": kind,
            "onnx_file": onnx_path.name,
            "sha256": digest,
            "size": str(onnx_path.stat().st_size),
            "signature": json.dumps(signature)[:4900],
            # what a device names this file by before a rollout gives it the registry's version
            "file_label": file_label(signature["metadata"]) or "",
            "golden_file": golden.name if golden is not None else "",
            "golden_source": "synthetic" if tmp_golden is not None else "given",
            "card_file": card.name if card is not None else "",
            "extra_files": ",".join(p.name for p in extra_files),
            "experiment": self.experiment,
        }
        mv = self.client.create_model_version(
            name,
            source=f"{run.info.artifact_uri}/{MODEL_DIR}",
            run_id=self.run_id,
            tags=tags,
            description=card_text,
        )
        for alias in aliases:
            if alias not in ALIASES:
                raise ValueError(f"unknown alias {alias!r}; use one of {ALIASES}")
            self.client.set_registered_model_alias(name, alias, mv.version)
        if tmp_golden is not None:
            tmp_golden.cleanup()
        log.info("registered %s version %s (%s) aliases=%s", name, mv.version, digest[:12], list(aliases))
        return str(mv.version)


@contextmanager
def tracked_run(
    experiment: str,
    params: dict[str, Any],
    tracking_uri: str | None = None,
    run_name: str | None = None,
) -> Iterator[Tracker]:
    """Open an MLflow run in ``experiment`` with ``params`` logged; it ends FAILED if the body raises."""
    from mlflow.tracking import MlflowClient

    uri = resolve_tracking_uri(tracking_uri)
    _prepare_store(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    exp_id = (
        exp.experiment_id
        if exp
        else client.create_experiment(experiment, artifact_location=_artifact_root(uri))
    )
    run = client.create_run(exp_id, run_name=run_name)
    tracker = Tracker(client, run.info.run_id, experiment)
    if params:
        tracker.params(params)
    try:
        yield tracker
    except BaseException:
        client.set_terminated(run.info.run_id, "FAILED")
        raise
    client.set_terminated(run.info.run_id, "FINISHED")
