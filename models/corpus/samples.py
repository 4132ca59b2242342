"""The small committed sample set (``signet data samples``): what the demo and the edge and cloud
tests run on, made by the generator so its ground truth is exact.

    samples/pages/     30 pages, three per document type, scan and webcam, en and fr
                       (a corpus directory: images/, labels/, meta/, coco.json, manifest.jsonl)
    samples/pdf/       two multi-page PDFs (a scanner batch and a signed contract bundle),
                       each with <name>.json: per page the type, signatures and text
    samples/video/     desk.mp4, 640x480 at 15 fps: documents brought in front of a webcam,
                       held still, taken away; desk.json says which document is in view when
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from models.corpus.degrade import Geometry, add_noise, carry, clip, desk, to_frame, webcam_geometry
from models.corpus.page import DOC_TYPES, box_of, generate_page, page_seed
from models.corpus.writer import coco, write_page

log = logging.getLogger(__name__)

SAMPLE_DPI = 150  # keeps 30 pages, two PDFs and a video well under 15 MB
WEBCAM_FRAME = (1920, 1080)  # the sample stills: a 4K still alone is 3 MB of JPEG
VIDEO_SIZE = (640, 480)
VIDEO_FPS = 15


def _size(profile: str) -> dict[str, Any]:
    return {"dpi": SAMPLE_DPI} if profile == "scan" else {"frame": WEBCAM_FRAME}


def _pages(out: Path, seed: int) -> list[dict[str, Any]]:
    for sub in ("images", "labels", "meta"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rows = []
    k = 0
    for t, doc_type in enumerate(DOC_TYPES):
        for j in range(3):
            profile = "webcam" if j == 2 else "scan"
            lang = "fr" if (t + j) % 2 else "en"
            s = page_seed(seed, k)
            page = generate_page(s, profile, lang, doc_type, **_size(profile))
            # a sample set should show signatures: re-draw the odd unsigned page once, except one
            if not page.meta["signatures"] and k % 7:
                s = page_seed(seed, 1000 + k)
                page = generate_page(s, profile, lang, doc_type, **_size(profile))
            rows.append(write_page(out, f"{doc_type}-{j + 1}", page))
            k += 1
    (out / "coco.json").write_text(json.dumps(coco(rows)), encoding="utf-8")
    with (out / "manifest.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps({k: v for k, v in row.items() if k != "boxes"}, ensure_ascii=False) + "\n")
    return rows


def _pdf(path: Path, pages: list[Any]) -> None:
    """Pages into one PDF at their dpi (rendering the PDF back at that dpi gives the same pixels
    grid the boxes are in), plus a ground-truth json beside it."""
    images = [Image.fromarray(cv2.cvtColor(p.image, cv2.COLOR_BGR2RGB)) for p in pages]
    dpi = pages[0].meta["dpi"]
    images[0].save(path, "PDF", save_all=True, append_images=images[1:], resolution=float(dpi), quality=80)
    truth = {
        "file": path.name,
        "dpi": dpi,
        "pages": [
            {
                "index": i,
                "doc_type": p.meta["doc_type"],
                "lang": p.meta["lang"],
                "width": p.meta["width"],
                "height": p.meta["height"],
                "signatures": [s["box"] for s in p.meta["signatures"]],
                "signatures_normalised": [
                    [
                        round(b / d, 5)
                        for b, d in zip(s["box"], (p.meta["width"], p.meta["height"]) * 2, strict=True)
                    ]
                    for s in p.meta["signatures"]
                ],
                "negatives": p.meta["negatives"],
                "fields": p.meta["fields"],
                "text": p.meta["text"],
                "seed": p.meta["seed"],
            }
            for i, p in enumerate(pages)
        ],
    }
    path.with_suffix(".json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")


def _pdfs(out: Path, seed: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    batch_types = ["invoice", "delivery_note", "mandate", "receipt"]
    batch = [
        generate_page(page_seed(seed + 1, i), "scan", "fr" if i % 2 else "en", t, dpi=SAMPLE_DPI)
        for i, t in enumerate(batch_types)
    ]
    _pdf(out / "scanner-batch.pdf", batch)
    bundle = [
        generate_page(page_seed(seed + 2, i), "scan", "en", t, dpi=SAMPLE_DPI)
        for i, t in enumerate(["contract", "contract", "kyc_form"])
    ]
    _pdf(out / "contract-bundle.pdf", bundle)


def _shift(g: Geometry, dx: float, dy: float) -> Geometry:
    t = np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], np.float64)
    return Geometry(g.frame, g.small, g.scale, t @ g.homography, g.quad + np.float32([dx, dy]))


def _video(out: Path, seed: int, n_docs: int = 4) -> None:
    """Documents slid in front of a fixed webcam, held about two seconds each, slid away."""
    out.mkdir(parents=True, exist_ok=True)
    r = random.Random(seed)
    fw, fh = VIDEO_SIZE
    bg = desk(r, fw, fh)
    fps = VIDEO_FPS
    enter, hold, leave, gap = int(0.6 * fps), int(2.0 * fps), int(0.55 * fps), int(0.4 * fps)
    path = out / "desk.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (fw, fh))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write mp4 here (no FFMPEG backend)")
    frame_no = 0
    segments = []
    light = cv2.resize(
        np.array([[r.uniform(0.8, 1.1) for _ in range(3)] for _ in range(2)], np.float32),
        (fw, fh),
        interpolation=cv2.INTER_CUBIC,
    )

    def emit(img: np.ndarray) -> None:
        nonlocal frame_no
        lit = np.clip(img.astype(np.float32) * light[..., None], 0, 255).astype(np.uint8)
        writer.write(add_noise(lit, r, 4))
        frame_no += 1

    for _ in range(gap):
        emit(bg)
    types = r.sample([t for t in DOC_TYPES if t != "other"], n_docs)
    for d, doc_type in enumerate(types):
        for k in range(20):  # a document shown to the camera in a demo is a signed one
            page = generate_page(
                page_seed(seed + 3, d * 20 + k),
                "webcam",
                "fr" if d % 2 else "en",
                doc_type,
                dpi=110,
                degrade=False,
            )
            if page.meta["signatures"]:
                break
        img = page.image
        ph, pw = img.shape[:2]
        g = webcam_geometry(random.Random(seed * 100 + d), pw, ph, frame=(fw, fh), whole=True)
        mask = np.full((ph, pw), 255, np.uint8)
        side = r.choice([-1, 1])
        seg: dict[str, Any] = {
            "doc_type": doc_type,
            "lang": page.meta["lang"],
            "seed": page.meta["seed"],
            "enter_frame": frame_no,
        }
        path_frames = (
            [("enter", i / enter) for i in range(enter)]
            + [("hold", 1.0)] * hold
            + [("leave", i / leave) for i in range(1, leave + 1)]
        )
        for phase, u in path_frames:
            if phase == "enter":
                off = (1 - (1 - (1 - u) ** 2)) * fw * 1.1 * side  # eases in
            elif phase == "leave":
                off = u * u * fw * 1.1 * -side
            else:
                off = 0.0
            jitter = (r.uniform(-1, 1), r.uniform(-1, 1)) if phase == "hold" else (0.0, 0.0)
            gg = _shift(g, off + jitter[0], jitter[1])
            if phase == "hold" and "still_start" not in seg:
                seg["still_start"] = frame_no
                hulls, vis = clip(carry(list(page.signature_hulls), gg), fw, fh)
                seg["signatures"] = [
                    box_of(h, fw, fh) for h, v in zip(hulls, vis, strict=True) if h is not None and v >= 0.5
                ]
                seg["page_quad"] = [[round(float(x), 1), round(float(y), 1)] for x, y in gg.quad]
            warped = to_frame(img, gg)
            m = (to_frame(mask, gg).astype(np.float32) / 255.0)[..., None]
            frame = (warped * m + bg * (1 - m)).astype(np.uint8)
            if phase != "hold":  # the page is moving: motion blur along the slide
                ln = 9
                kern = np.zeros((ln, ln), np.float32)
                kern[ln // 2, :] = 1.0 / ln
                frame = cv2.filter2D(frame, -1, kern)
            emit(frame)
            if phase == "hold":
                seg["still_end"] = frame_no - 1
        seg["leave_frame"] = frame_no - 1
        segments.append(seg)
        for _ in range(gap):
            emit(bg)
    writer.release()
    truth = {
        "file": path.name,
        "fps": fps,
        "width": fw,
        "height": fh,
        "frames": frame_no,
        "seconds": round(frame_no / fps, 2),
        "note": "frames enter_frame..leave_frame show the document (partly while it slides); "
        "still_start..still_end it is held still and its signatures are at the given boxes (+-1 px hand jitter)",
        "documents": [
            {
                **s,
                "in_view_s": [round(s["enter_frame"] / fps, 2), round(s["leave_frame"] / fps, 2)],
                "still_s": [round(s["still_start"] / fps, 2), round(s["still_end"] / fps, 2)],
            }
            for s in segments
        ],
    }
    (out / "desk.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")


def build_samples(out: Path, seed: int = 7) -> int:
    """Build the sample set under ``out``; returns its total size in bytes."""
    out = Path(out)
    _pages(out / "pages", seed)
    _pdfs(out / "pdf", seed)
    _video(out / "video", seed)
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    log.info("samples: %.1f MB under %s", total / 1e6, out)
    return total
