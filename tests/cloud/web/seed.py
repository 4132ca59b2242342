"""Realistic dashboard data through the real write path (``cloud.db.write``), for the web tests,
the browser tests and the screenshots.

Pages are drawn here (text lines and pen-like signatures where the boxes say) so that the
document page shows an image whose boxes land on signatures. When engineer A's samples/ holds
page images with metadata, ``sample_pages`` uses those instead.
"""

from __future__ import annotations

import hashlib
import json
import random
import unicodedata
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sqlalchemy import Engine

from cloud.alerts import evaluate
from cloud.config import AlertsConfig
from cloud.db.engine import session_scope
from cloud.db.write import record_health, record_status, upsert_results
from edge import contract as c

REPO = Path(__file__).resolve().parents[3]
SITES = {"paris-01": ["kiosk-01", "scan-02"], "lyon-02": ["scan-03"], "geneve-01": ["kiosk-04", "scan-05"]}
CLIENTS = [
    "Durand & Fils SARL", "Boulangerie Martin", "Atelier Leroy", "Hôtel du Lac SA", "Garage Petit",
    "Cabinet Moreau", "Pharmacie Roux", "Transports Fournier", "Librairie Girard", "Clinique Bonnet",
    "Menuiserie Lambert", "Café de la Gare", "Imprimerie Faure", "Optique Mercier", "Ferme Blanc",
]  # fmt: skip
SELLERS = ["Signet Office Supply", "Alpes Informatique", "Nettoyage Pro SA"]
TYPES = [("invoice", 0.4), ("contract", 0.18), ("receipt", 0.12), ("letter", 0.1), ("mandate", 0.08),
         ("delivery_note", 0.07), ("payslip", 0.05)]  # fmt: skip
EXPECTS_SIG = {"contract", "mandate"}
W, H = 850, 1100
XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss=2">'


def _ascii(s: str) -> str:
    """Hershey fonts draw ASCII only: "Café" becomes "Cafe" rather than "Caf?"."""
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


def draw_page(lines: list[str], boxes: list[tuple[float, float, float, float]], seed: int) -> bytes:
    """A white page with the text lines and a pen stroke inside each signature box, as PNG."""
    rnd = random.Random(seed)
    img = np.full((H, W, 3), 250, np.uint8)
    y = 90
    for i, line in enumerate(lines[:40]):
        scale = 0.9 if i == 0 else 0.55
        cv2.putText(
            img,
            _ascii(line)[:70],
            (70, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (40, 40, 40),
            2 if i == 0 else 1,
            cv2.LINE_AA,
        )
        y += 44 if i == 0 else 28
    for x1, y1, x2, y2 in boxes:
        px1, py1, px2, py2 = int(x1 * W), int(y1 * H), int(x2 * W), int(y2 * H)
        cv2.line(img, (px1 - 10, py2 + 4), (px2 + 10, py2 + 4), (160, 160, 160), 1)
        t = np.linspace(0, 1, 80)
        xs = px1 + 6 + t * (px2 - px1 - 12)
        ys = (py1 + py2) / 2 + np.sin(t * rnd.uniform(9, 16)) * (py2 - py1) * 0.3 + np.sin(t * 31) * 4
        pts = np.stack([xs, ys], 1).astype(np.int32)
        cv2.polylines(img, [pts], False, (120, 40, 10), 2, cv2.LINE_AA)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def _pick_type(rnd: random.Random) -> str:
    r, acc = rnd.random(), 0.0
    for t, p in TYPES:
        acc += p
        if r <= acc:
            return t
    return "other"


def make_documents(n: int, now: datetime, seed: int = 7) -> list[tuple[c.Result, bytes]]:
    """``n`` one-page documents over the last 30 days across sites, devices and types."""
    rnd = random.Random(seed)
    out = []
    devices = [(s, d) for s, ds in SITES.items() for d in ds]
    for i in range(n):
        site, device = devices[rnd.randrange(len(devices))]
        doc_type = _pick_type(rnd)
        captured = now - timedelta(days=rnd.uniform(0, 30) ** 1.2 / 30**0.2, minutes=rnd.randint(1, 600))
        confidence = rnd.uniform(0.55, 0.99)
        fields: dict[str, Any] = {}
        lines: list[str]
        if doc_type == "invoice":
            ci = rnd.choices(range(len(CLIENTS)), weights=[1 / (k + 1) ** 0.7 for k in range(len(CLIENTS))])[
                0
            ]
            client = CLIENTS[ci]
            # Some clients stopped ordering a while ago, so recency differs between them.
            captured -= timedelta(days=(ci % 4) * 6 * rnd.random())
            seller = rnd.choice(SELLERS)
            total = round(rnd.lognormvariate(6, 0.9), 2)
            day = captured.date() - timedelta(days=rnd.randint(0, 5))
            num = f"F-{2026}-{i:05d}"
            fields = {
                "number": {"value": num, "confidence": round(rnd.uniform(0.7, 0.99), 2), "raw": num},
                "date": {"value": day.isoformat(), "confidence": 0.93, "raw": day.strftime("%d/%m/%Y")},
                "buyer": {"value": client, "confidence": round(rnd.uniform(0.5, 0.95), 2), "raw": client},
                "seller": {"value": seller, "confidence": 0.9, "raw": seller},
                "total": {
                    "value": f"{total:.2f}",
                    "confidence": round(rnd.uniform(0.6, 0.99), 2),
                    "raw": f"{total:.2f}",
                },
                "currency": {"value": "EUR", "confidence": 0.97, "raw": "EUR"},
            }
            lines = [f"FACTURE {num}", seller, "12 rue des Lilas, 75011 Paris", f"Client: {client}", f"Date: {day.isoformat()}",
                     "", "Designation          Qte   PU      Montant", f"Prestation de service  1  {total:.2f}  {total:.2f}",
                     "", f"TOTAL TTC  {total:.2f} EUR", "Conditions: paiement a 30 jours"]  # fmt: skip
        elif doc_type == "contract":
            party = rnd.choice(CLIENTS)
            lines = ["CONTRAT DE PRESTATION", f"Entre {party}", "et Signet Services SA", "", "Article 1 - Objet",
                     "Le prestataire s'engage a fournir les services decrits.", "Article 2 - Duree",
                     "Le present contrat prend effet a la date de signature.", "", "Fait a Paris, en deux exemplaires.",
                     "Signature du client            Signature du prestataire"]  # fmt: skip
            fields = {"parties": {"value": f"{party}; Signet Services SA", "confidence": 0.8, "raw": party}}
        else:
            lines = [doc_type.replace("_", " ").upper(), rnd.choice(CLIENTS), "", "Objet: votre dossier",
                     "Madame, Monsieur,", "Veuillez trouver ci-joint les documents demandes.", "", "Cordialement,"]  # fmt: skip
        if doc_type in EXPECTS_SIG:
            k = 0 if rnd.random() < 0.2 else rnd.choice([1, 2, 2])
        else:
            k = 1 if rnd.random() < 0.35 else 0
        boxes = [(0.1, 0.84, 0.38, 0.91), (0.58, 0.84, 0.88, 0.91)][:k]
        text = "\n".join(lines)
        if i == 3:
            text += "\n" + XSS
        png = draw_page(lines, boxes, seed * 10_000 + i)
        failed = rnd.random() < 0.04
        result = c.Result.model_validate(
            {
                "result_id": uuid.UUID(int=seed * 1_000_000 + i + 1),
                "device_id": device,
                "site": site,
                "source": {
                    "kind": "folder" if device.startswith("scan") else "camera",
                    "uri": f"folder:///srv/in/{device}/{i:05d}.pdf",
                    "page_index": 0,
                    "page_count": 1,
                },
                "captured_at": captured,
                "processed_at": captured + timedelta(seconds=rnd.uniform(0.5, 3)),
                "image": {
                    "sha256": hashlib.sha256(png).hexdigest(),
                    "width": W,
                    "height": H,
                    "upload": "full",
                },
                "signatures": [
                    {
                        "box": {"x1": b[0], "y1": b[1], "x2": b[2], "y2": b[3]},
                        "score": round(rnd.uniform(0.6, 0.98), 3),
                    }
                    for b in boxes
                ],
                "signature_count": k,
                "text": text,
                "fields": {
                    "values": fields,
                    "checks": [{"name": "lines_sum_to_total", "ok": rnd.random() > 0.1, "detail": ""}]
                    if doc_type == "invoice"
                    else [],
                },
                "doc_type": {
                    "label": doc_type,
                    "confidence": round(confidence, 3),
                    "needs_review": confidence < 0.7,
                    "scores": {doc_type: round(confidence, 3), "other": round(1 - confidence, 3)},
                },
                "models": {
                    "detector": {
                        "name": "sigdet",
                        "version": "1.2.0" if device != "scan-05" else "1.3.0-rc1",
                    },
                    "classifier": {"name": "doctype", "version": "0.9.1"},
                    "ocr": {"name": "tesseract", "version": "5.3.0"},
                },
                "timings_ms": {
                    "detect": max(
                        1.0, rnd.gauss(45, 8) if device.startswith("kiosk") else rnd.gauss(120, 20)
                    ),
                    "ocr": max(1.0, rnd.gauss(650, 120)),
                    "fields": max(0.5, rnd.gauss(12, 3)),
                    "classify": max(0.5, rnd.gauss(18, 4)),
                },
                "status": "partial" if failed else "ok",
                "errors": ["ocr: tesseract timed out after 20 s"] if failed else [],
            }
        )
        out.append((result, png))
    return out


def sample_documents(now: datetime) -> list[tuple[c.Result, bytes]]:
    """The corpus owner's sample pages (samples/pages) as Results with their ground truth:
    real page images, exact signature boxes, text, fields and type, as the newest documents."""
    root = REPO / "samples" / "pages"
    if not (root / "meta").is_dir():
        return []
    out = []
    devices = [(s, d) for s, ds in SITES.items() for d in ds]
    for i, meta_path in enumerate(sorted((root / "meta").glob("*.json"))):
        m = json.loads(meta_path.read_text())
        data = (root / m["image"]).read_bytes()
        w, h = m["width"], m["height"]
        site, device = devices[i % len(devices)]
        values: dict[str, Any] = {}
        for k, v in m["fields"].items():
            if v is None or isinstance(v, list | dict):
                continue
            values[k] = {"value": str(v)[:200], "confidence": 0.9, "raw": str(v)[:200]}
        for party in m["fields"].get("parties") or []:
            role = {"issuer": "seller", "buyer": "buyer", "customer": "buyer"}.get(
                party.get("role"), party.get("role")
            )
            if role and role not in values:
                values[role] = {"value": party["name"][:200], "confidence": 0.85, "raw": party["name"][:200]}
        sigs = [
            {"box": {"x1": b[0] / w, "y1": b[1] / h, "x2": b[2] / w, "y2": b[3] / h}, "score": 0.93}
            for b in (x["box"] for x in m["signatures"])
        ]
        captured = now - timedelta(minutes=5 * (i + 1))
        result = c.Result.model_validate(
            {
                "result_id": uuid.UUID(int=9_000_000 + i),
                "device_id": device,
                "site": site,
                "source": {
                    "kind": "folder",
                    "uri": f"folder:///srv/in/{device}/{m['id']}.{m['image'].rsplit('.', 1)[1]}",
                },
                "captured_at": captured,
                "processed_at": captured + timedelta(seconds=2),
                "image": {
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "width": w,
                    "height": h,
                    "dpi": m.get("dpi"),
                    "upload": "full",
                },
                "signatures": sigs,
                "signature_count": len(sigs),
                "text": m["text"],
                "fields": {"values": values},
                "doc_type": {
                    "label": m["doc_type"],
                    "confidence": 0.91,
                    "needs_review": False,
                    "scores": {m["doc_type"]: 0.91},
                },
                "models": {
                    "detector": {"name": "sigdet", "version": "1.2.0"},
                    "classifier": {"name": "doctype", "version": "0.9.1"},
                    "ocr": {"name": "tesseract", "version": "5.3.0"},
                },
                "timings_ms": {"detect": 60.0, "ocr": 700.0, "fields": 10.0, "classify": 15.0},
            }
        )
        out.append((result, data))
    return out


def seed(
    engine: Engine, put_image: Callable[[bytes], Any] | None, n: int = 240, now: datetime | None = None
) -> list[c.Result]:
    """Write ``n`` documents, device status and health; page images go through ``put_image``."""
    now = now or datetime.now(timezone.utc)
    docs = make_documents(n, now) + sample_documents(now)
    if put_image is not None:
        for _, png in docs:
            put_image(png)
    results = [r for r, _ in docs]
    with session_scope(engine) as s:
        upsert_results(s, results)
        for k, (site, devices) in enumerate(SITES.items()):
            for j, d in enumerate(devices):
                online = site != "lyon-02"
                versions = {
                    "software": "0.1.0",
                    "detector": "sigdet:1.2.0",
                    "classifier": "doctype:0.9.1",
                    "ocr": "tesseract:5.3.0",
                }
                record_status(
                    s,
                    c.Status(
                        device_id=d,
                        state="online",
                        site=site,
                        versions=versions,
                        at=now - timedelta(hours=30),
                    ),
                )
                at = now - timedelta(seconds=20 + 7 * j) if online else now - timedelta(hours=26)
                record_health(
                    s,
                    c.Health(
                        device_id=d,
                        at=at,
                        fps=12.5 if d.startswith("kiosk") else 0.8,
                        outbox_backlog=[0, 3, 250, 0, 12][(k * 2 + j) % 5],
                        cpu_temp_c=48.0 + 3 * j + k,
                        gpu_temp_c=44.5 + 2 * j + k,
                        pages_processed=100,
                    ),
                )
                if not online:
                    record_status(
                        s, c.Status(device_id=d, state="offline", site=site, at=now - timedelta(hours=25))
                    )
    with session_scope(engine) as s:
        # The alert rules (cloud.alerts) open what the fleet page lists: the offline device,
        # the growing backlog, unsigned contracts.
        evaluate(s, AlertsConfig(), now)
    return results


def sample_pages() -> list[Path]:
    """Page images committed under samples/ (by the corpus owner), if any."""
    d = REPO / "samples"
    return (
        sorted(p for p in d.rglob("*") if p.suffix.lower() in {".png", ".jpg", ".jpeg"}) if d.is_dir() else []
    )


def sample_pdf() -> Path | None:
    d = REPO / "samples"
    pdfs = sorted(d.rglob("*.pdf")) if d.is_dir() else []
    return pdfs[0] if pdfs else None


def dump(results: list[c.Result], path: Path) -> None:
    path.write_text("\n".join(json.dumps(r.model_dump(mode="json")) for r in results))
