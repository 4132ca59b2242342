"""Training and evaluation data for the detector, read from corpus folders (models.corpus).

A corpus folder (``signet data generate``) holds images/<id>.(png|jpg), labels/<id>.txt (YOLO)
and meta/<id>.json. Pages are letterboxed once to the model's canvas (the same letterbox the
edge uses) and cached as a uint8 memmap under var/detector/cache, so epochs cost no decoding.
Training samples are random affine crops of those canvases with the augmentations the corpus'
scan and webcam profiles do not apply (binarised fax-like scans, low resolution, ink colour,
gamma, noise, JPEG, slight rotation and zoom).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from edge.detect.preprocess import letterbox, letterbox_geometry, to_bgr8
from models.detector.model import STRIDE

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


@dataclass
class PageRecord:
    """One page: image path, signature boxes in pixels, and the corpus meta (empty for real pages)."""

    path: Path
    boxes: np.ndarray  # Nx4 x1,y1,x2,y2 pixels of the original image
    meta: dict[str, Any] = field(default_factory=dict)
    width: int = 0
    height: int = 0
    ignore: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    negatives: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))


def read_yolo(label: Path, width: int, height: int) -> np.ndarray:
    """YOLO ``cls cx cy w h`` (normalised) -> Nx4 pixel boxes; a missing/empty file is no boxes."""
    rows = []
    if label.is_file():
        for line in label.read_text().split("\n"):
            parts = line.split()
            if len(parts) >= 5:
                cx, cy, w, h = (float(v) for v in parts[1:5])
                rows.append(
                    [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height]
                )
    return np.array(rows, dtype=np.float32).reshape(-1, 4)


def scan_folder(root: Path) -> list[PageRecord]:
    """Pages of a corpus folder (images/, labels/, meta/) or of a flat folder of image + .txt pairs."""
    root = Path(root)
    images_dir = root / "images" if (root / "images").is_dir() else root
    out = []
    for img in sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        meta_file = root / "meta" / f"{img.stem}.json"
        meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        if meta.get("width") and meta.get("height"):
            w, h = int(meta["width"]), int(meta["height"])
        else:
            shape = cv2.imread(str(img), cv2.IMREAD_UNCHANGED).shape
            h, w = shape[:2]
        label = root / "labels" / f"{img.stem}.txt"
        if not label.is_file():
            label = img.with_suffix(".txt")
        if meta.get("signatures") is not None:
            boxes = np.array([s["box"] for s in meta["signatures"]], dtype=np.float32).reshape(-1, 4)
        else:
            boxes = read_yolo(label, w, h)
        ignore = np.array([b["box"] for b in meta.get("ignored", [])], np.float32).reshape(-1, 4)
        negs = np.array([b["box"] for b in meta.get("negatives", [])], np.float32).reshape(-1, 4)
        out.append(PageRecord(img, boxes, meta, w, h, ignore, negs))
    return out


def folder_hash(records: list[PageRecord]) -> str:
    """Content-ish hash of a page set (names, sizes and boxes), recorded as the dataset hash."""
    h = hashlib.sha256()
    for r in records:
        h.update(f"{r.path.name}:{r.path.stat().st_size}:{r.boxes.round(1).tolist()}\n".encode())
    return h.hexdigest()[:16]


class CanvasCache:
    """Pages letterboxed to ``size`` and kept as one uint8 memmap (N x S x S x 3) plus boxes."""

    def __init__(self, records: list[PageRecord], size: int, cache_dir: Path) -> None:
        self.records = records
        self.size = size
        key = folder_hash(records) + f"-{size}"
        cache_dir.mkdir(parents=True, exist_ok=True)
        path = cache_dir / f"{key}.u8"
        shape = (len(records), size, size, 3)
        self.boxes: list[np.ndarray] = []
        self.ignore: list[np.ndarray] = []
        self.negatives: list[np.ndarray] = []
        fresh = not path.is_file() or path.stat().st_size != int(np.prod(shape))
        self.images = np.memmap(path, dtype=np.uint8, mode="w+" if fresh else "r", shape=shape)
        if fresh:
            self._fill(records, size)
        for r in records:
            lb = letterbox_geometry(r.width, r.height, size)
            self.boxes.append(self._place(r.boxes, lb))
            self.ignore.append(self._place(r.ignore, lb))
            self.negatives.append(self._place(r.negatives, lb))
        if fresh:
            self.images.flush()
            log.info("cached %d pages at %d px in %s", len(records), size, path)

    def _fill(self, records: list[PageRecord], size: int) -> None:
        """Decode and letterbox every page into the memmap, on a thread per core: OpenCV's decoding
        and resizing release the GIL, and building the cache of 10,000 pages is minutes on one."""

        def one(i: int) -> None:
            img = to_bgr8(cv2.imread(str(records[i].path), cv2.IMREAD_UNCHANGED))
            self.images[i] = letterbox(img, size)[0]

        with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
            list(pool.map(one, range(len(records))))

    @staticmethod
    def _place(boxes: np.ndarray, lb: Any) -> np.ndarray:
        b = boxes.astype(np.float32).copy()
        b[:, [0, 2]] = b[:, [0, 2]] * lb.scale + lb.pad_x
        b[:, [1, 3]] = b[:, [1, 3]] * lb.scale + lb.pad_y
        return b

    def __len__(self) -> int:
        return len(self.records)


# ----------------------------------------------------------------------------------- augmentation


def _affine(
    img: np.ndarray, boxes: np.ndarray, focus: np.ndarray, out: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random zoom, slight rotation and an ``out`` px crop; ``boxes`` (and the ``focus`` boxes,
    signatures plus hard negatives) follow as the hull of their corners. Most crops are centred
    near a labelled object so that small crops still see signatures and look-alikes."""
    s = img.shape[0]
    scale = float(np.exp(rng.uniform(np.log(0.6), np.log(1.4))))
    angle = float(rng.normal(0, 1.2)) if rng.random() < 0.5 else 0.0
    if len(focus) and rng.random() < 0.7:
        b = focus[rng.integers(len(focus))]
        fx, fy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    else:
        fx, fy = rng.uniform(0, s, size=2)
    m = cv2.getRotationMatrix2D((float(fx), float(fy)), angle, scale)
    tx, ty = rng.uniform(0.2 * out, 0.8 * out, size=2)
    m[:, 2] += [tx - fx, ty - fy]
    warped = cv2.warpAffine(img, m, (out, out), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))

    def move(bx: np.ndarray) -> np.ndarray:
        if not len(bx):
            return bx
        pts = np.stack([bx[:, [0, 1]], bx[:, [2, 1]], bx[:, [0, 3]], bx[:, [2, 3]]], 1)
        pts = pts @ m[:, :2].T + m[:, 2]
        return np.concatenate([pts.min(1), pts.max(1)], 1).astype(np.float32)

    return warped, move(boxes), m


def _photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Degradations the corpus profiles leave out: fax binarisation, low resolution, ink colour,
    greyscale, gamma/contrast, blur, speckle noise and JPEG."""
    if rng.random() < 0.2:  # ink colour: rotate hue (blue/black/violet pens, colour casts)
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(rng.integers(0, 180))) % 180
        img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    if rng.random() < 0.25:  # low resolution scans (100-150 dpi), upsampled back
        s = img.shape[0]
        f = rng.uniform(0.35, 0.7)
        small = cv2.resize(img, (max(8, int(s * f)), max(8, int(s * f))), interpolation=cv2.INTER_AREA)
        img = cv2.resize(
            small, (s, s), interpolation=cv2.INTER_NEAREST if rng.random() < 0.5 else cv2.INTER_LINEAR
        )
    if rng.random() < 0.25:  # greyscale
        img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if rng.random() < 0.2:  # bilevel fax-like scan (Tobacco-800 style)
        g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        t = int(rng.uniform(110, 200))
        img = cv2.cvtColor(np.where(g < t, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    if rng.random() < 0.5:  # contrast / brightness / gamma
        x = img.astype(np.float32) / 255.0
        x = np.clip((x - 0.5) * rng.uniform(0.7, 1.3) + 0.5 + rng.uniform(-0.12, 0.12), 0, 1)
        x = x ** rng.uniform(0.7, 1.4)
        img = (x * 255).astype(np.uint8)
    if rng.random() < 0.2:
        k = int(rng.choice([3, 5]))
        img = cv2.GaussianBlur(img, (k, k), 0)
    if rng.random() < 0.2:  # sensor noise or fax speckle
        if rng.random() < 0.5:
            noise = rng.normal(0, rng.uniform(3, 12), img.shape)
            img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
        else:
            m = rng.random(img.shape[:2]) < rng.uniform(0.001, 0.006)
            img = img.copy()
            img[m] = 0 if rng.random() < 0.7 else 255
    if rng.random() < 0.3:
        ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
        if ok:
            img = cv2.imdecode(enc, cv2.IMREAD_COLOR)
    return img


# ---------------------------------------------------------------------------------------- targets


def make_targets(boxes: np.ndarray, size: int, ignore: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """TTFNet targets at stride 8: elliptic Gaussian heatmap (peak 1 at the centre cell), and per
    cell a box to regress with a Gaussian weight (each box's weights sum to 1; smaller boxes win
    shared cells). ``ignore`` boxes (partly cropped away) mask the heatmap loss."""
    n = size // STRIDE
    hm = np.zeros((n, n), np.float32)
    reg = np.zeros((4, n, n), np.float32)
    wt = np.zeros((n, n), np.float32)
    mask = np.ones((n, n), np.float32)
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float32)
    alpha = 0.54
    order = np.argsort(-(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])) if len(boxes) else []
    for i in order:
        x1, y1, x2, y2 = boxes[i] / STRIDE
        w, h = max(x2 - x1, 0.5), max(y2 - y1, 0.5)
        cx = min(max(int((x1 + x2) / 2), 0), n - 1)
        cy = min(max(int((y1 + y2) / 2), 0), n - 1)
        sx, sy = alpha * w / 6, alpha * h / 6
        g = np.exp(-((xs - cx) ** 2) / (2 * sx * sx) - ((ys - cy) ** 2) / (2 * sy * sy))
        np.maximum(hm, g, out=hm)
        hm[cy, cx] = 1.0
        inside = (xs + 0.5 >= x1) & (xs + 0.5 <= x2) & (ys + 0.5 >= y1) & (ys + 0.5 <= y2) & (g > 0.05)
        inside[cy, cx] = True
        gw = np.where(inside, g, 0.0)
        gw[cy, cx] = max(gw[cy, cx], 1.0)
        gw /= gw.sum()
        wt = np.where(inside, gw, wt)
        reg[:, inside] = (boxes[i] * 1.0)[:, None]
    if ignore is not None:
        for b in ignore:
            x1, y1, x2, y2 = (b / STRIDE).tolist()
            sel = (xs + 0.5 >= x1) & (xs + 0.5 <= x2) & (ys + 0.5 >= y1) & (ys + 0.5 <= y2)
            mask[sel & (hm < 1.0)] = 0.0
    return {"heatmap": hm[None], "box": reg, "weight": wt, "mask": mask}


class TrainSet(Dataset):
    """Random augmented crops of cached canvases with their targets; deterministic per (seed, epoch, index)."""

    def __init__(self, cache: CanvasCache, crop: int, seed: int, augment: bool = True) -> None:
        self.cache = cache
        self.crop = crop
        self.seed = seed
        self.augment = augment
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.cache)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, i))
        img = np.asarray(self.cache.images[i])
        boxes, ign = self.cache.boxes[i], self.cache.ignore[i]
        if self.augment:
            focus = np.concatenate([boxes, self.cache.negatives[i]])
            img, boxes, m = _affine(img, boxes, focus, self.crop, rng)
            if len(ign):
                pts = np.stack([ign[:, [0, 1]], ign[:, [2, 3]]], 1) @ m[:, :2].T + m[:, 2]
                ign = np.concatenate([pts.min(1), pts.max(1)], 1).astype(np.float32)
            img = _photometric(img, rng)
        elif self.crop != img.shape[0]:
            f = self.crop / img.shape[0]
            img, boxes, ign = cv2.resize(img, (self.crop, self.crop)), boxes * f, ign * f
        clipped = np.clip(boxes, 0, self.crop)
        area = np.maximum(boxes[:, 2] - boxes[:, 0], 1e-3) * np.maximum(boxes[:, 3] - boxes[:, 1], 1e-3)
        vis = (clipped[:, 2] - clipped[:, 0]).clip(0) * (clipped[:, 3] - clipped[:, 1]).clip(0) / area
        keep = clipped[vis >= 0.6]
        ignore = np.concatenate([clipped[(vis > 0.05) & (vis < 0.6)], np.clip(ign, 0, self.crop)])
        t = make_targets(keep, self.crop, ignore)
        x = (img.astype(np.float32) / 255.0 - 0.5) / 0.5
        out = {k: torch.from_numpy(v) for k, v in t.items()}
        out["image"] = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))
        return out
