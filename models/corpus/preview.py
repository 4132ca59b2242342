"""Contact sheet of a generated corpus: thumbnails with signature boxes (green) and hard
negatives (red, with their kind), so a person can see what the models train on."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

GREEN, RED, ORANGE = (40, 170, 40), (30, 30, 220), (0, 140, 255)


def load_metas(root: Path) -> list[dict[str, Any]]:
    """Every page's meta in a corpus directory, in page order."""
    files = sorted((root / "meta").glob("*.json"))
    if not files:
        raise FileNotFoundError(f"{root} has no meta/*.json: is it a corpus made by `signet data generate`?")
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


def annotate(image: np.ndarray, meta: dict[str, Any], scale: float = 1.0, labels: bool = True) -> np.ndarray:
    """Draw the boxes of a page (already resized by ``scale``) onto a copy."""
    im = image.copy()
    t = max(1, round(2 * scale)) if scale > 0.5 else 1
    for n in meta["negatives"]:
        x1, y1, x2, y2 = (round(v * scale) for v in n["box"])
        cv2.rectangle(im, (x1, y1), (x2, y2), RED, t)
        if labels:
            cv2.putText(
                im, n["kind"][:5], (x1, max(8, y1 - 2)), cv2.FONT_HERSHEY_SIMPLEX, 0.3, RED, 1, cv2.LINE_AA
            )
    for s in meta["signatures"]:
        x1, y1, x2, y2 = (round(v * scale) for v in s["box"])
        cv2.rectangle(im, (x1, y1), (x2, y2), GREEN, t + 1)
    return im


def contact_sheet(root: Path, out: Path, limit: int = 40, cell_h: int = 240, cols: int = 8) -> Path:
    """Write a PNG grid of up to ``limit`` pages from ``root`` with their boxes drawn."""
    metas = load_metas(root)
    if len(metas) > limit:  # spread over the whole set rather than its first pages
        step = len(metas) / limit
        metas = [metas[int(i * step)] for i in range(limit)]
    cells = []
    for m in metas:
        img = cv2.imread(str(root / m["image"]), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(root / m["image"])
        k = cell_h / img.shape[0]
        w = max(1, round(img.shape[1] * k))
        if w > cell_h * 1.5:
            k = cell_h * 1.5 / img.shape[1]
            w = round(cell_h * 1.5)
        small = cv2.resize(img, (w, max(1, round(img.shape[0] * k))), interpolation=cv2.INTER_AREA)
        small = annotate(small, m, k)
        cell = np.full((cell_h + 16, round(cell_h * 1.5), 3), 255, np.uint8)
        cell[: small.shape[0], : small.shape[1]] = small
        cap = f"{m['doc_type']} {m['profile']} {m['lang']} s={len(m['signatures'])}"
        cv2.putText(cell, cap, (2, cell_h + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
        # trim the unused right part of portrait cells
        cells.append(
            cell[:, : max(small.shape[1], 10 + cv2.getTextSize(cap, cv2.FONT_HERSHEY_SIMPLEX, 0.38, 1)[0][0])]
        )
    rows, row, width = [], [], 0
    max_w = cols * round(cell_h * 0.8)
    for c in cells:
        if row and width + c.shape[1] > max_w:
            rows.append(row)
            row, width = [], 0
        row.append(c)
        width += c.shape[1] + 4
    if row:
        rows.append(row)
    sheet_w = max(sum(c.shape[1] + 4 for c in r) for r in rows)
    sheet = np.full((len(rows) * (cell_h + 20), sheet_w, 3), 255, np.uint8)
    for i, r in enumerate(rows):
        x = 0
        for c in r:
            sheet[i * (cell_h + 20) : i * (cell_h + 20) + c.shape[0], x : x + c.shape[1]] = c
            x += c.shape[1] + 4
    out.parent.mkdir(parents=True, exist_ok=True)
    # a palette PNG keeps the committed sheet to a few hundred KB; the box colours are added to
    # the palette explicitly, since a median cut drops colours that cover few pixels
    rgb = Image.fromarray(sheet[:, :, ::-1])
    pal = rgb.quantize(colors=90, method=Image.Quantize.MEDIANCUT).getpalette()[: 90 * 3]
    for bgr in (GREEN, RED, ORANGE, (0, 0, 0), (255, 255, 255)):
        pal += [bgr[2], bgr[1], bgr[0]]
    palette = Image.new("P", (1, 1))
    palette.putpalette(pal + [0, 0, 0] * (256 - len(pal) // 3))
    rgb.quantize(palette=palette, dither=Image.Dither.NONE).save(out, optimize=True)
    log.info("contact sheet of %d pages -> %s", len(metas), out)
    return out
