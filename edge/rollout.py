"""Model rollout on the device: download, verify, build, self-test, swap, watch, roll back.

The cloud publishes ``DesiredModels`` retained on ``signet/v1/fleet/model/desired`` (and, for a
canary or a site, on ``signet/v1/<device>/model/desired``, which wins over the fleet's while it
is set). For each desired model that is not the active one, :class:`ModelUpdater`:

1. downloads the *model package* over HTTP(S) with the device token, resuming a partial file
   with a ``Range`` request (a flaky uplink does not restart a 20 MB download from zero);
2. verifies its size and sha256 against the desired message, then the manifest's sha256 of the
   ONNX inside (a corrupt or substituted file never reaches the pipeline);
3. builds the TensorRT engine when ``detector.backend`` is ``tensorrt`` (cached per model sha256
   and TensorRT version);
4. runs the golden pages shipped in the package through the model and compares the outputs with
   the expected ones within the stored tolerance;
5. swaps it in through a callable (normally ``Pipeline.swap_models``, which swaps between pages
   so no frame is dropped and no page in flight is lost), keeping the previous version on disk;
6. watches the error rate of the next pages and rolls back by itself when it spikes.

Each step is reported as a ``CommandState`` (``downloading``, ``verifying``, ``building``,
``testing``, ``active``, ``failed``, ``rolled_back``) with ``command_id`` = the rollout id.

Model package (``signet-model/1``): an uncompressed tar holding ``manifest.json``
(``format, kind, name, version, onnx, onnx_sha256, golden, files{name: sha256}``), the ONNX file,
optional extra files (model card, tokenizer) and optional golden pages ``golden.npz``
(``signet-golden/1``): a ``__meta__`` entry (JSON as uint8: format, cases, atol, rtol) and per
case ``case<i>/in/<input name>`` and ``case<i>/out/<output name>`` arrays, i.e. golden pages in
the model's own input form (preprocessed page tensors, token ids) with the outputs the model gave
when it was registered.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import tarfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.config import EdgeConfig
from edge.contract import CommandState, DesiredModel, DesiredModels, ModelRef

log = logging.getLogger(__name__)

PACKAGE_FORMAT = "signet-model/1"
GOLDEN_FORMAT = "signet-golden/1"
MANIFEST = "manifest.json"
GOLDEN = "golden.npz"
CHUNK = 1 << 16

Reporter = Callable[[CommandState], None]
Swapper = Callable[[str, Path, ModelRef], None]  # kind, onnx path, model ref; raises on failure
EngineBuilder = Callable[[Path, Path, str], object]  # onnx, engine cache dir, precision


class RolloutError(Exception):
    """A step failed; ``step`` is where, the message is the reason reported to the cloud."""

    def __init__(self, step: str, reason: str) -> None:
        self.step = step
        super().__init__(reason)


# -- golden pages -----------------------------------------------------------------------------


def write_golden(
    path: Path, onnx_path: Path, inputs: list[dict[str, np.ndarray]], atol: float = 1e-3, rtol: float = 1e-3
) -> Path:
    """Run ``inputs`` through the model now and store them with its outputs as golden pages."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    arrays: dict[str, np.ndarray] = {}
    for i, case in enumerate(inputs):
        outs = sess.run(names, case)
        for k, v in case.items():
            arrays[f"case{i}/in/{k}"] = np.asarray(v)
        for k, v in zip(names, outs, strict=True):
            arrays[f"case{i}/out/{k}"] = np.asarray(v)
    meta = {"format": GOLDEN_FORMAT, "cases": len(inputs), "atol": atol, "rtol": rtol}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]
    return path


def self_test(onnx_path: Path, golden: Path | None) -> str:
    """Run the golden pages through the model; returns a summary or raises RolloutError("testing", why)."""
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise RolloutError("testing", f"model does not load: {exc}") from exc
    if golden is None:
        # No golden pages: at least prove the model runs on zeros of its declared shapes.
        feeds = {}
        for i in sess.get_inputs():
            shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
            dtype = np.int64 if "int64" in i.type else np.float32
            feeds[i.name] = np.zeros(shape, dtype=dtype)
        outs = sess.run(None, feeds)
        if not all(np.all(np.isfinite(o)) for o in outs if np.issubdtype(np.asarray(o).dtype, np.floating)):
            raise RolloutError("testing", "model gives non-finite outputs on zero input")
        return "no golden pages shipped: smoke test on zero input passed"
    try:
        data = np.load(golden, allow_pickle=False)
        meta = json.loads(bytes(data["__meta__"]).decode())
    except Exception as exc:
        raise RolloutError("testing", f"golden pages unreadable: {exc}") from exc
    if meta.get("format") != GOLDEN_FORMAT:
        raise RolloutError("testing", f"golden format {meta.get('format')!r} is not {GOLDEN_FORMAT}")
    atol, rtol, worst = float(meta["atol"]), float(meta["rtol"]), 0.0
    for c in range(int(meta["cases"])):
        feeds = {k.split("/", 2)[2]: data[k] for k in data.files if k.startswith(f"case{c}/in/")}
        expected = {k.split("/", 2)[2]: data[k] for k in data.files if k.startswith(f"case{c}/out/")}
        names = list(expected)
        try:
            got = dict(zip(names, sess.run(names, feeds), strict=True))
        except Exception as exc:
            raise RolloutError("testing", f"golden page {c} does not run: {exc}") from exc
        for name, want in expected.items():
            have = np.asarray(got[name])
            if have.shape != want.shape:
                raise RolloutError(
                    "testing", f"golden page {c} output {name}: shape {have.shape} != {want.shape}"
                )
            diff = float(np.max(np.abs(have.astype(np.float64) - want.astype(np.float64)), initial=0.0))
            worst = max(worst, diff)
            if not np.allclose(have, want, atol=atol, rtol=rtol):
                raise RolloutError(
                    "testing", f"golden page {c} output {name} off by {diff:.4g} (atol {atol}, rtol {rtol})"
                )
    return f"{meta['cases']} golden pages within tolerance (max abs diff {worst:.3g})"


# -- model packages -----------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_package(out: Path, kind: str, name: str, version: str, onnx_path: Path, extra: list[Path]) -> Path:
    """Write a deterministic model package (same inputs, same bytes, same sha256)."""
    files = [onnx_path, *extra]
    golden = next((p for p in extra if p.name.endswith(".npz")), None)
    manifest = {
        "format": PACKAGE_FORMAT,
        "kind": kind,
        "name": name,
        "version": version,
        "onnx": onnx_path.name,
        "onnx_sha256": _sha256(onnx_path),
        "golden": GOLDEN if golden is not None else None,
        "files": {(GOLDEN if p is golden else p.name): _sha256(p) for p in files},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:

        def add(arcname: str, data: bytes) -> None:
            info = tarfile.TarInfo(arcname)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))

        add(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        for p in files:
            add(GOLDEN if p is golden else p.name, p.read_bytes())
    tmp.replace(out)
    return out


def extract_package(package: Path, dest: Path) -> dict[str, Any]:
    """Unpack a package into ``dest`` after checking every member; returns the manifest."""
    try:
        with tarfile.open(package, "r:") as tar:
            members = tar.getmembers()
            for m in members:
                if not m.isfile() or "/" in m.name or m.name.startswith(".") or m.name == "":
                    raise RolloutError("verifying", f"package member {m.name!r} is not a plain file name")
            dest.mkdir(parents=True, exist_ok=True)
            for m in members:
                src = tar.extractfile(m)
                assert src is not None
                (dest / m.name).write_bytes(src.read())
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise RolloutError("verifying", f"not a valid model package: {exc}") from exc
    try:
        manifest: dict[str, Any] = json.loads((dest / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise RolloutError("verifying", f"package manifest unreadable: {exc}") from exc
    if manifest.get("format") != PACKAGE_FORMAT:
        raise RolloutError("verifying", f"package format {manifest.get('format')!r} is not {PACKAGE_FORMAT}")
    for fname, digest in manifest.get("files", {}).items():
        if not (dest / fname).is_file() or _sha256(dest / fname) != digest:
            raise RolloutError("verifying", f"package file {fname} is missing or does not match its sha256")
    return manifest


# -- download -------------------------------------------------------------------------------------


def download(
    url: str,
    dest: Path,
    size: int,
    token: str | None = None,
    timeout_s: float = 30.0,
    verify: bool | str = True,
    on_progress: Callable[[float], None] | None = None,
) -> Path:
    """Fetch ``url`` into ``dest``, resuming ``dest.part`` with a Range request when it exists."""
    import requests

    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if 0 < have < size:
        headers["Range"] = f"bytes={have}-"
    if have < size:
        try:
            with requests.get(url, headers=headers, stream=True, timeout=timeout_s, verify=verify) as resp:
                if resp.status_code == 200:
                    have = 0  # the server ignored the range: start over
                elif resp.status_code != 206:
                    raise RolloutError("downloading", f"HTTP {resp.status_code} from {url}")
                with part.open("ab" if have else "wb") as f:
                    last = 0.0
                    for chunk in resp.iter_content(CHUNK):
                        have += len(chunk)
                        if have > size:
                            raise RolloutError(
                                "downloading", f"server sent more than the expected {size} bytes"
                            )
                        f.write(chunk)
                        if on_progress and time.monotonic() - last > 0.5:
                            last = time.monotonic()
                            on_progress(have / size)
        except requests.RequestException as exc:
            raise RolloutError(
                "downloading", f"download interrupted at {have} of {size} bytes: {exc}"
            ) from exc
    if part.stat().st_size != size:
        raise RolloutError("downloading", f"got {part.stat().st_size} of {size} bytes")
    part.replace(dest)
    return dest


# -- the updater ----------------------------------------------------------------------------------


@dataclass
class Installed:
    """A model version on disk."""

    kind: str
    name: str
    version: str
    sha256: str
    onnx: str
    rollout_id: str | None = None

    def ref(self) -> ModelRef:
        return ModelRef(name=self.name, version=self.version)


@dataclass
class _Watch:
    kind: str
    pages: deque[bool] = field(default_factory=lambda: deque(maxlen=200))


class ModelUpdater:
    """Applies desired models on one device. Thread-safe: one rollout at a time."""

    def __init__(
        self,
        device_id: str,
        models_dir: Path,
        swap: Swapper,
        report: Reporter,
        token: str | None = None,
        backend: str = "onnxruntime",
        engine_cache: Path = Path("var/engines"),
        precision: str = "fp16",
        watch_pages: int = 20,
        min_pages: int = 5,
        max_error_rate: float = 0.5,
        verify_tls: bool | str = True,
        engine_builder: EngineBuilder | None = None,
        download_attempts: int = 3,
    ) -> None:
        self.device_id = device_id
        self.dir = models_dir
        self.swap = swap
        self.report = report
        self.token = token
        self.backend = backend
        self.engine_cache = engine_cache
        self.precision = precision
        self.watch_pages, self.min_pages, self.max_error_rate = watch_pages, min_pages, max_error_rate
        self.verify_tls = verify_tls
        self.engine_builder = engine_builder
        self.download_attempts = download_attempts
        self._lock = threading.RLock()
        self._watch: _Watch | None = None
        self.failed: set[str] = set()  # "rollout:sha256" that failed here: not retried for that rollout
        self._latest: dict[str, DesiredModels | None] = {"fleet": None, "device": None}
        self._live: set[str] = set()  # kinds whose active version this process has swapped in
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state: dict[str, dict[str, Any]] = self._load_state()

    # state ------------------------------------------------------------------------------------
    def _load_state(self) -> dict[str, dict[str, Any]]:
        p = self.dir / "state.json"
        if not p.exists():
            return {}
        data = json.loads(p.read_text())
        self.failed = set(data.pop("_failed", []))
        return dict(data)

    def _save_state(self) -> None:
        tmp = self.dir / "state.json.tmp"
        tmp.write_text(json.dumps({**self.state, "_failed": sorted(self.failed)}, indent=1))
        tmp.replace(self.dir / "state.json")

    def active(self, kind: str) -> Installed | None:
        """The model of ``kind`` in use (None: the one shipped with the software)."""
        a = self.state.get(kind, {}).get("active")
        return Installed(**a) if a else None

    def previous(self, kind: str) -> Installed | None:
        p = self.state.get(kind, {}).get("previous")
        return Installed(**p) if p else None

    def _emit(
        self, state: str, m: DesiredModel | Installed, rollout_id: str | None, detail: str = "", **kw: Any
    ) -> None:
        data = {"kind": m.kind, "name": m.name, "version": m.version, "sha256": m.sha256}
        cs = CommandState(
            command_id=rollout_id,  # type: ignore[arg-type]
            device_id=self.device_id,
            name="model",
            state=state,  # type: ignore[arg-type]
            detail=detail[:4000],
            data=data,
            **kw,
        )
        log.info("model %s %s %s: %s %s", m.kind, m.name, m.version, state, detail)
        try:
            self.report(cs)
        except Exception:
            log.exception("could not report model state %s", state)

    # applying ---------------------------------------------------------------------------------
    def handle(self, desired: DesiredModels) -> None:
        """Take a desired-models message (fleet, or targeted when ``devices`` is set) and apply
        the newest one meant for this device.

        Both retained messages arrive again on every reconnect, in any order: the newer one by
        ``issued_at`` wins, so a canary target beats the older fleet message and a later fleet
        promotion or rollback beats the target. Works whichever transport delivers them (the
        sync client's ``on_desired`` or :class:`edge.rollout_mqtt.RolloutListener`).
        """
        if desired.devices is not None and self.device_id not in desired.devices:
            return
        with self._lock:
            self._latest["device" if desired.devices is not None else "fleet"] = desired
            effective = max((d for d in self._latest.values() if d is not None), key=lambda d: d.issued_at)
            for m in effective.models:
                self.apply(m, str(effective.rollout_id))

    def clear_target(self) -> None:
        """The device's own target was cleared (empty retained message): follow the fleet again."""
        with self._lock:
            self._latest["device"] = None
            fleet = self._latest["fleet"]
            if fleet is not None:
                for m in fleet.models:
                    self.apply(m, str(fleet.rollout_id))

    def apply(self, m: DesiredModel, rollout_id: str | None = None) -> bool:
        """Make ``m`` the active model of its kind; True when it is active afterwards."""
        with self._lock:
            cur = self.active(m.kind)
            if cur is not None and cur.sha256 == m.sha256:
                if m.kind not in self._live:
                    # After a restart the pipeline loaded the shipped model: put the active one back.
                    try:
                        self.swap(m.kind, Path(cur.onnx), cur.ref())
                        self._live.add(m.kind)
                    except Exception as exc:
                        self._emit("failed", m, rollout_id, f"swapping in the installed version: {exc}")
                        return False
                if cur.rollout_id != rollout_id:
                    self._emit("active", m, rollout_id, "already active")
                    cur.rollout_id = rollout_id
                    self.state[m.kind]["active"] = cur.__dict__
                    self._save_state()
                return True
            prev = self.previous(m.kind)
            if prev is not None and prev.sha256 == m.sha256 and cur is not None:
                # Going back to the version we kept (fleet rollback): no download needed.
                return self._activate(m, prev, rollout_id, "restored the kept previous version")
            if _failure_key(rollout_id, m.sha256) in self.failed:
                log.info("model %s %s failed here in this rollout; not retrying", m.name, m.version)
                return False
            try:
                inst = self._fetch(m, rollout_id)
            except RolloutError as exc:
                if exc.step != "downloading":
                    # A bad model is not retried for this rollout (the retained message comes
                    # back on every reconnect); a new promotion may try it again. A download
                    # that failed is retried on the next message, resuming the partial file.
                    self.failed.add(_failure_key(rollout_id, m.sha256))
                    self._save_state()
                self._emit("failed", m, rollout_id, f"{exc.step}: {exc}")
                return False
            return self._activate(m, inst, rollout_id, "")

    def _fetch(self, m: DesiredModel, rollout_id: str | None) -> Installed:
        target = self.dir / m.kind / f"{m.version}-{m.sha256[:12]}"
        pkg = self.dir / "downloads" / f"{m.sha256}.tar"
        pkg.parent.mkdir(parents=True, exist_ok=True)
        self._emit("downloading", m, rollout_id, m.url, progress=0.0)
        for attempt in range(self.download_attempts):
            try:
                download(
                    m.url,
                    pkg,
                    m.size,
                    self.token,
                    verify=self.verify_tls,
                    on_progress=lambda f: self._emit(
                        "downloading", m, rollout_id, m.url, progress=min(f, 1.0)
                    ),
                )
                break
            except RolloutError as exc:
                if attempt + 1 >= self.download_attempts or "HTTP 4" in str(exc):
                    raise
                log.warning(
                    "download of %s %s failed (%s); resuming in %d s", m.name, m.version, exc, 2**attempt
                )
                time.sleep(2**attempt)
        self._emit("verifying", m, rollout_id)
        digest = _sha256(pkg)
        if digest != m.sha256:
            pkg.unlink()
            raise RolloutError("verifying", f"sha256 mismatch: got {digest[:16]}…, expected {m.sha256[:16]}…")
        shutil.rmtree(target, ignore_errors=True)
        try:
            manifest = extract_package(pkg, target)
            if manifest.get("kind") != m.kind:
                raise RolloutError("verifying", f"package is a {manifest.get('kind')}, desired a {m.kind}")
            onnx_path = target / manifest["onnx"]
            if self.backend == "tensorrt" and m.kind == "detector":
                self._emit("building", m, rollout_id, f"TensorRT {self.precision} engine")
                self._build_engine(onnx_path, m)
            self._emit("testing", m, rollout_id)
            summary = self_test(onnx_path, target / manifest["golden"] if manifest.get("golden") else None)
        except RolloutError:
            shutil.rmtree(target, ignore_errors=True)
            raise
        finally:
            pkg.unlink(missing_ok=True)
        log.info("self-test of %s %s: %s", m.name, m.version, summary)
        return Installed(m.kind, m.name, m.version, m.sha256, str(onnx_path), rollout_id)

    def _build_engine(self, onnx_path: Path, m: DesiredModel) -> None:
        # Not exercised on this machine (no TensorRT): runs on a Jetson only. Engineer B's
        # ``engine_for`` builds the engine and caches it under ``engine_cache`` keyed by model
        # sha256 and TensorRT version, where the TensorRT backend finds it when swapped in.
        try:
            if self.engine_builder is not None:
                self.engine_builder(onnx_path, self.engine_cache, self.precision)
                return
            from edge.config import DetectorConfig
            from edge.detect.tensorrt_backend import engine_for, import_runtime

            trt, _cuda = import_runtime()
            cfg = DetectorConfig(
                backend="tensorrt", model=onnx_path, engine_cache=self.engine_cache, precision=self.precision
            )  # type: ignore[arg-type]
            engine_for(cfg, trt)
        except RolloutError:
            raise
        except Exception as exc:  # BackendUnavailable included: the reason goes to the cloud
            raise RolloutError("building", f"engine build failed: {exc}") from exc

    def _activate(
        self, m: DesiredModel | Installed, inst: Installed, rollout_id: str | None, note: str
    ) -> bool:
        cur = self.active(m.kind)
        try:
            self.swap(m.kind, Path(inst.onnx), inst.ref())
        except Exception as exc:
            self.failed.add(_failure_key(rollout_id, inst.sha256))
            self._save_state()
            self._emit("failed", m, rollout_id, f"swapping: {exc}")
            return False
        inst.rollout_id = rollout_id
        self._live.add(m.kind)
        self.state[m.kind] = {"active": inst.__dict__, "previous": cur.__dict__ if cur else None}
        self._prune(m.kind)
        self._save_state()
        self._watch = _Watch(m.kind)
        self._emit(
            "active", m, rollout_id, note or f"swapped in (previous {cur.version if cur else 'shipped'})"
        )
        return True

    def _prune(self, kind: str) -> None:
        keep = {Path(i["onnx"]).parent for i in self.state[kind].values() if i}
        for d in (self.dir / kind).glob("*"):
            if d.is_dir() and d not in keep:
                shutil.rmtree(d, ignore_errors=True)

    # watching and rolling back ------------------------------------------------------------------
    def record_page(self, ok: bool) -> None:
        """Called by the pipeline per processed page; a spike in failures after a swap rolls back."""
        w = self._watch
        if w is None:
            return
        w.pages.append(ok)
        n = len(w.pages)
        failures = n - sum(w.pages)
        if n >= self.min_pages and failures / n > self.max_error_rate:
            self._watch = None
            self.rollback(
                w.kind, f"error rate {failures}/{n} pages after the swap exceeds {self.max_error_rate:.0%}"
            )
        elif n >= self.watch_pages:
            self._watch = None  # survived its probation

    def rollback(self, kind: str, reason: str) -> bool:
        """Swap the kept previous version back in; the abandoned one is not retried."""
        with self._lock:
            cur, prev = self.active(kind), self.previous(kind)
            if cur is None or prev is None:
                log.warning("cannot roll back %s: no previous version kept", kind)
                return False
            try:
                self.swap(kind, Path(prev.onnx), prev.ref())
            except Exception as exc:
                self._emit("failed", cur, cur.rollout_id, f"rollback failed: {exc}")
                return False
            self.failed.add(_failure_key(cur.rollout_id, cur.sha256))
            self.state[kind] = {"active": prev.__dict__, "previous": cur.__dict__}
            self._save_state()
            self._emit("rolled_back", cur, cur.rollout_id, f"{reason}; back on {prev.name} {prev.version}")
            return True


def _failure_key(rollout_id: str | None, sha256: str) -> str:
    return f"{rollout_id or '-'}:{sha256}"


def pipeline_swapper(pipeline: Any, cfg: EdgeConfig) -> Swapper:
    """The swap for engineer D's ``Pipeline.swap_models``: a detector built by engineer B's
    ``load_detector`` from the new file; the reader as a ReaderConfig naming the new classifier
    (its workers build their own reader; the tokenizer travels in the same package folder), or
    naming the new handwriting word model."""

    def swap(kind: str, onnx: Path, ref: ModelRef) -> None:
        if kind == "detector":
            from edge.detect import load_detector

            det = load_detector(cfg.detector.model_copy(update={"model": onnx}))
            try:
                # Results must name the registry version the fleet was told to run, which is what
                # the Models page splits figures by (the ONNX metadata may carry a training tag).
                det.name, det.version = ref.name, ref.version  # type: ignore[misc]
            except AttributeError:
                log.warning("detector %s keeps its own version label", type(det).__name__)
            pipeline.swap_models(detector=det)
        elif kind in ("classifier", "handwriting"):
            # From the settings the workers read with now, so swapping one reader model keeps the
            # other one a rollout swapped in earlier; results name the registry's version.
            current = pipeline.reader_config()
            label = f"{ref.name}:{ref.version}"
            pipeline.swap_models(reader=current.model_copy(update={kind: onnx, f"{kind}_label": label}))
        else:
            raise ValueError(f"no swap for a {kind} model")

    return swap


def make_updater(cfg: EdgeConfig, swap: Swapper, report: Reporter, token: str | None = None) -> ModelUpdater:
    """A ModelUpdater from the edge settings; ``report`` is normally ``SyncClient.publish_state``
    and the sync client's ``on_desired`` should be ``updater.handle``."""
    r = cfg.rollout
    return ModelUpdater(
        cfg.device.id,
        r.models_dir,
        swap,
        report,
        token=token,
        backend=cfg.detector.backend,
        engine_cache=cfg.detector.engine_cache,
        precision=cfg.detector.precision,
        watch_pages=r.watch_pages,
        min_pages=r.min_pages,
        max_error_rate=r.max_error_rate,
        verify_tls=str(r.ca_file) if r.ca_file else True,
    )
