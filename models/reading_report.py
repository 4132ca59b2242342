"""``signet models report-reading``: the reading targets on the synthetic test split and on the real
documents in ../shared/data/documents (evaluation only: nothing here is tuned on them).

Synthetic part: the test split's pages (seed 3000) are regenerated and read end to end by
``PageReader``, giving the character error rate per capture profile, the field exact match and
the classifier's scores, INT8 and FP32. Real part: every page image goes through ``PageReader`` end to
end, against the text, fields and labels that come with the documents.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click
import numpy as np

log = logging.getLogger(__name__)

TARGETS = {
    "cer_scan": 0.015,
    "cer_webcam": 0.06,
    "field_match": 0.95,
    "accuracy": 0.98,
    "macro_f1": 0.97,
    "ece": 0.05,
}
FIELD_KEYS = ("number", "date", "total")


def normalise_text(text: str) -> str:
    """Whitespace collapsed to single spaces: layout spacing is not a character error."""
    return re.sub(r"\s+", " ", text).strip()


def _folded(reference: str, hypothesis: str, casefold: bool) -> tuple[str, str]:
    ref, hyp = normalise_text(reference), normalise_text(hypothesis)
    return (ref.casefold(), hyp.casefold()) if casefold else (ref, hyp)


def cer_counts(reference: str, hypothesis: str, casefold: bool = False) -> tuple[int, int]:
    """(edit distance, reference length) after whitespace normalisation; ``casefold`` for a
    truth transcribed in one case whatever the page prints (SROIE's is all capitals)."""
    from rapidfuzz.distance import Levenshtein

    ref, hyp = _folded(reference, hypothesis, casefold)
    return Levenshtein.distance(ref, hyp), len(ref)


def order_free_counts(reference: str, hypothesis: str, casefold: bool = False) -> tuple[int, int]:
    """Edit distance between the two texts' words, each sorted: reading order does not count.

    The corpus truth flattens layout (a form's "Label: value" pairs, two address columns one after
    the other) and a PDF text layer has its own order, while Tesseract reads the page as laid
    out; this measure keeps recognition errors (wrong, missing or extra characters and words)
    and drops order differences. Reported beside the strict figure, not instead of it.
    """
    from rapidfuzz.distance import Levenshtein

    ref, hyp = _folded(reference, hypothesis, casefold)
    ref, hyp = " ".join(sorted(ref.split())), " ".join(sorted(hyp.split()))
    return Levenshtein.distance(ref, hyp), len(ref)


def _amount(v: Any) -> str | None:
    try:
        return f"{Decimal(str(v)).quantize(Decimal('0.01'))}"
    except (InvalidOperation, ValueError):
        return None


def _temps(info: Any) -> str:
    per = "/".join(f"{k} {v:.2f}" for k, v in info.temperatures)
    return f"{info.temperature:.2f}" + (f" ({per})" if per else "")


def _mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _read_spec(reader: Any, spec: Any) -> dict[str, Any]:
    """Regenerate one test page and read it with ``PageReader`` as the edge does (the true
    signature boxes stand in for the detector, so its errors are not counted here)."""
    from edge.detect import Detection
    from models.corpus import generate_page

    page = generate_page(spec.seed, spec.profile, spec.lang, spec.doc_type)
    h, w = page.image.shape[:2]
    dets = [
        Detection(box=(s["box"][0] / w, s["box"][1] / h, s["box"][2] / w, s["box"][3] / h), score=1.0)
        for s in page.meta.get("signatures", [])
    ]
    return {"spec": spec, "meta": page.meta, "reading": reader.read(page.image, dets, spec.profile)}


def _end_to_end(pages: int) -> list[dict[str, Any]]:
    """The test split's first ``pages`` pages, read end to end (see ``_read_spec``)."""
    from edge.config import ReaderConfig
    from edge.read import PageReader
    from models.classifier.data import page_specs

    reader = PageReader(ReaderConfig())
    return [_read_spec(reader, spec) for spec in page_specs("test", pages)]


def _field_match(key: str, have: str | None, want: str) -> bool:
    """Whether a field read matches the truth: totals as amounts, issuers as names (see
    ``edge.read.parse.name_key``), the rest as printed. Synthetic and real pages are scored alike."""
    if key in ("total", "subtotal", "tax"):
        return have is not None and _amount(have) == _amount(want)
    if key == "tax_rate":
        try:
            return have is not None and Decimal(have) == Decimal(want)
        except InvalidOperation:
            return False
    if key in ("issuer", *PARTY_KEYS):
        return name_match(have, want)
    return str(have) == want


def name_match(have: str | None, want: str) -> bool:
    """Whether a name read is the true one, case, spaces and punctuation aside."""
    from edge.read.parse import name_key

    return bool(have) and name_key(have) == name_key(want)


MONEY_TYPES = ("invoice", "receipt", "purchase_order")
FORM_TYPES = ("kyc_form", "mandate", "payslip")
PARTY_KEYS = ("customer", "debtor")
# The reader's other fields the corpus knows the truth of, scored besides the three targets.
EXTRA_KEYS = (
    "due_date",
    "subtotal",
    "tax",
    "tax_rate",
    "iban",
    "period",
    "customer",
    "birth_date",
    "id_number",
    "debtor",
    "creditor_id",
    "bic",
)


def _field_lines(runs: list[dict[str, Any]], field_pages: int) -> list[str]:
    """Exact match of number, date and total on the scan invoices, receipts and purchase orders
    among the first ``field_pages`` test pages (the ``runs`` already read, plus the rest read
    here), so the figure rests on more than the dozen money documents of the default 80 pages;
    then the reader's other fields (EXTRA_KEYS) on those scans and the KYC forms, mandates and
    payslips among them, without a target."""
    from edge.config import ReaderConfig
    from edge.read import PageReader
    from models.classifier.data import page_specs

    read = [r for r in runs if r["spec"].profile == "scan" and r["spec"].doc_type in MONEY_TYPES + FORM_TYPES]
    seen = {r["spec"].index for r in runs}
    reader: PageReader | None = None
    for spec in page_specs("test", field_pages):
        if spec.index in seen or spec.profile != "scan" or spec.doc_type not in MONEY_TYPES + FORM_TYPES:
            continue
        reader = reader or PageReader(ReaderConfig())
        read.append(_read_spec(reader, spec))
    money = [r for r in read if r["spec"].doc_type in MONEY_TYPES]
    out = []
    n_pages = max(field_pages, max((r["spec"].index for r in runs), default=0) + 1)
    for k in FIELD_KEYS:
        h_ = n = 0
        for r in money:
            truth = r["meta"]["fields"].get(k)
            if truth is None:
                continue
            got = r["reading"].fields.values.get(k)
            value = got.value if got else None
            h_ += int(_field_match(k, None if value is None else str(value), str(truth)))
            n += 1
        if not n:
            out.append(
                f"  field exact match {k:6s}: no scan money document among the first {n_pages} test pages"
            )
            continue
        rate = h_ / n
        out.append(
            f"  field exact match {k:6s} (scan invoices/receipts/POs of the first {n_pages} test pages, end to end): "
            f"{h_}/{n} = {rate:.1%}  target >= 95%  {_mark(rate >= TARGETS['field_match'])}"
        )
    extra = []
    for k in EXTRA_KEYS:
        h_ = n = 0
        types: set[str] = set()
        for r in read:
            truth = _truth(r["meta"]["fields"], k)
            if truth is None:
                continue
            got = r["reading"].fields.values.get(k)
            h_ += int(_field_match(k, None if got is None or got.value is None else str(got.value), truth))
            n += 1
            types.add(r["spec"].doc_type)
        if n:
            extra.append(f"    {k:12s} {h_:3d}/{n:3d} = {h_ / n:6.1%}  ({', '.join(sorted(types))})")
    if extra:
        out.append(
            "  other fields, exact match (those scans and the KYC forms, mandates and payslips among them; no target):"
        )
        out.extend(extra)
    items = [
        _item_row(
            r["meta"]["fields"].get("line_items") or [], r["reading"].fields.line_items, r["meta"]["text"]
        )
        for r in money
    ]
    t = item_totals(items)
    if t["truth"]:
        out.append(
            f"  line items (those invoices, receipts and POs; no target): {t['exact']}/{t['truth']} printed rows"
            f" exact (quantity, unit price, amount), {t['wrong']} rows read wrong or extra;"
            f" {t['whole']}/{t['tabled']} pages with every row exact and none extra"
        )
    return out


def _printed_rows(items: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The true line items whose row the page prints: a table row's text starts with its
    description (the corpus cuts descriptions to their column). A payment slip's one item,
    named only in its prose, and the rows of a document's other pages are left out."""
    starts = [ln.strip() for ln in text.splitlines()]
    return [
        it
        for it in items
        if it.get("description")
        and any(ln.startswith(it["description"]) and ln != it["description"] for ln in starts)
    ]


def _same_number(have: float | None, want: str | None) -> bool:
    """A read quantity or amount against the truth's; a figure the truth lacks matches anything."""
    if want is None:
        return True
    return have is not None and abs(Decimal(str(have)) - Decimal(want)) < Decimal("0.005")


def _item_row(items: list[dict[str, Any]], read: list[Any], text: str) -> dict[str, int]:
    """Line items of one page: the printed true rows, the rows read, and how many of those are
    exact (quantity, unit price where the page prints one and the reader gave one, and amount;
    the description is free text and not compared). Each true row takes at most one read row."""
    truth = _printed_rows(items, text)
    free = list(truth)
    exact = 0
    for it in read:
        for want in free:
            unit_ok = it.unit_price is None or _same_number(it.unit_price, want.get("unit_price"))
            if (
                _same_number(it.quantity, want.get("quantity"))
                and _same_number(it.amount, want.get("amount"))
                and unit_ok
            ):
                free.remove(want)
                exact += 1
                break
    return {"truth": len(truth), "read": len(read), "exact": exact}


def item_totals(items: list[dict[str, int]]) -> dict[str, int]:
    """Totals of ``_item_row``'s per-page counts: true rows, rows exact, rows read wrong or
    extra, the pages that print rows (``tabled``) and those read whole (every row exact and
    none extra)."""
    tabled = [i for i in items if i["truth"]]
    exact = sum(i["exact"] for i in items)
    return {
        "truth": sum(i["truth"] for i in items),
        "exact": exact,
        "wrong": sum(i["read"] for i in items) - exact,
        "tabled": len(tabled),
        "whole": sum(1 for i in tabled if i["exact"] == i["truth"] == i["read"]),
    }


def _truth(fields: dict[str, Any], key: str) -> str | None:
    """The corpus's truth for one of the reader's keys: parties by their role."""
    if key in PARTY_KEYS:
        return next((p["name"] for p in fields.get("parties") or [] if p.get("role") == key), None)
    value = fields.get(key)
    return None if value is None else str(value)


def _webcam_split(sel: list[dict[str, Any]]) -> list[str]:
    """The webcam CER of frames the reader could read apart from those it turned away as too
    small (the page a few hundred pixels long in the frame: text 3-5 px high, which it says),
    so a change in either part shows. The target above is judged on all frames."""
    small = [r for r in sel if any("too small to read" in e for e in r["reading"].errors)]
    rest = [r for r in sel if r not in small]
    out = []
    for name, part in (("legible frames", rest), ("frames flagged too small", small)):
        if not part:
            continue
        free = [order_free_counts(r["meta"]["text"], r["reading"].text) for r in part]
        strict = [cer_counts(r["meta"]["text"], r["reading"].text) for r in part]
        out.append(
            f"    {name:<24}: {len(part):3d} pages, order-free {sum(d for d, _ in free) / max(1, sum(n for _, n in free)):7.2%},"
            f" strict {sum(d for d, _ in strict) / max(1, sum(n for _, n in strict)):7.2%}"
        )
    return out


def synthetic_part(model: Path, fp32: Path | None, pages: int = 80, field_pages: int = 240) -> list[str]:
    from edge.read.classify import DocClassifier
    from models.classifier import calibration as cal

    out = [
        f"Synthetic test split: {pages} corpus pages (seed 3000, half scan half webcam, en/fr), read end to end by PageReader"
    ]
    runs = _end_to_end(pages)
    for profile in ("scan", "webcam"):
        sel = [r for r in runs if r["spec"].profile == profile]
        if not sel:
            out.append(f"  OCR CER {profile:6s}: no {profile} page among the first {pages} (raise --pages)")
            continue
        strict = [cer_counts(r["meta"]["text"], r["reading"].text) for r in sel]
        free = [order_free_counts(r["meta"]["text"], r["reading"].text) for r in sel]
        cer = sum(d for d, _ in strict) / max(1, sum(n for _, n in strict))
        cer_free = sum(d for d, _ in free) / max(1, sum(n for _, n in free))
        per_page = sorted(d / max(1, n) for d, n in free)
        med = per_page[len(per_page) // 2]
        limit = TARGETS[f"cer_{profile}"]
        out.append(
            f"  OCR CER {profile:6s}: order-free {cer_free:7.2%} (median page {med:.2%}), strict reading order {cer:7.2%}"
            f"  over {len(sel)} pages  target <= {limit:.1%}  {_mark(cer_free <= limit)}"
        )
        if profile == "webcam":
            out.extend(_webcam_split(sel))
    out.extend(_field_lines(runs, field_pages))
    texts = [r["reading"].ocr_text for r in runs]  # what the reader gives its classifier
    results = {}
    for name, path in (("INT8", model), ("FP32", fp32)):
        if path is None or not Path(path).is_file():
            out.append(f"  classifier {name}: {path} not found (run `signet export classifier`)")
            continue
        clf = DocClassifier(Path(path), threads=2)
        labels = list(clf.info.labels)
        probs = cal.calibrated(
            clf, [{"text": t, "profile": r["spec"].profile} for t, r in zip(texts, runs, strict=True)]
        )
        y = np.array([labels.index(r["spec"].doc_type) for r in runs])
        pred = probs.argmax(1)
        acc, f1, e = cal.accuracy(pred, y), cal.macro_f1(pred, y, len(labels)), cal.ece(probs, y)
        results[name] = acc
        out.append(
            f"  classifier {name} ({clf.info.version}, T={_temps(clf.info)}): accuracy {acc:.1%} {_mark(acc >= TARGETS['accuracy'])}"
            f"  macro-F1 {f1:.3f} {_mark(f1 >= TARGETS['macro_f1'])}  ECE {e:.3f} {_mark(e <= TARGETS['ece'])}"
        )
        for profile in ("scan", "webcam"):
            sel = np.array([r["spec"].profile == profile for r in runs])
            if sel.any():
                out.append(
                    f"    {profile:6s}: accuracy {cal.accuracy(pred[sel], y[sel]):.1%}  macro-F1 {cal.macro_f1(pred[sel], y[sel], len(labels)):.3f}"
                    f"  ECE {cal.ece(probs[sel], y[sel]):.3f}  ({int(sel.sum())} pages)"
                )
        out.extend(_textless_split(texts, probs, pred, y))
    if "INT8" in results and "FP32" in results:
        d = (results["FP32"] - results["INT8"]) * 100
        out.append(f"  INT8 vs FP32: {d:+.2f} accuracy points lost  target <= 1  {_mark(d <= 1.0)}")
    return out


def _textless_split(texts: list[str], probs: np.ndarray, pred: np.ndarray, y: np.ndarray) -> list[str]:
    """Accuracy on the pages OCR gave text for, apart from those it gave none (frames whose
    page is too small to read): no classifier can type an empty page, so those show whether
    they at least went to review. The target above is judged on all pages."""
    from edge.config import ReaderConfig
    from models.classifier import calibration as cal

    empty = np.array([not t.strip() for t in texts])
    if not empty.any():
        return []
    threshold = ReaderConfig().review_threshold
    reviewed = int((probs[empty].max(1) < threshold).sum())
    return [
        f"    pages with text: accuracy {cal.accuracy(pred[~empty], y[~empty]):.1%} ({int((~empty).sum())} pages);"
        f" no text read: {int(empty.sum())} pages, accuracy {cal.accuracy(pred[empty], y[empty]):.1%},"
        f" {reviewed} sent to review (confidence < {threshold})"
    ]


def _real_truth_text(docs: Path, row: dict[str, str], image: str) -> str | None:
    stem = image.rsplit(".", 1)[0]
    if row["file"].startswith("sroie_"):
        lines = []
        with (docs / f"{stem}.csv").open(encoding="utf-8", errors="replace") as fh:
            for parts in csv.reader(fh):
                if len(parts) >= 9:
                    lines.append(",".join(parts[8:]))
        return "\n".join(lines)
    txt = docs / f"{stem}.txt"
    return txt.read_text(encoding="utf-8", errors="replace") if txt.is_file() else None


def _real_fields(docs: Path, row: dict[str, str]) -> dict[str, str]:
    name = row.get("fields") or ""
    if not name or not (docs / name).is_file():
        return {}
    data = json.loads((docs / name).read_text(encoding="utf-8"))
    if isinstance(data, list):
        data = data[0] if data else {}
    out: dict[str, str] = {}
    if "invoice_number" in data:
        out["number"] = str(data["invoice_number"])
    if data.get("date"):
        from edge.read.parse import parse_date

        iso = (
            parse_date(str(data["date"]))
            if not re.match(r"\d{4}-\d{2}-\d{2}$", str(data["date"]))
            else str(data["date"])
        )
        if iso:
            out["date"] = iso
    total = data.get("amount", data.get("total"))
    if total is not None and _amount(total):
        out["total"] = _amount(total)  # type: ignore[assignment]
    issuer = data.get("issuer", data.get("company"))
    if issuer:
        out["issuer"] = str(issuer)
    if data.get("iban"):
        out["iban"] = str(data["iban"]).replace(" ", "")
    return out


REAL_KEYS = (*FIELD_KEYS, "issuer", "iban")
ISSUER_KEYS = ("seller", "merchant", "issuer")  # what the extractor calls who issued the page
PO_ISSUER_KEYS = ("buyer", "issuer")  # ... on a purchase order, which its buyer issues


def real_part(docs: Path, model: Path) -> list[str]:
    import cv2

    from edge.config import ReaderConfig
    from edge.read import PageReader

    labels_csv = docs / "labels.csv"
    if not labels_csv.is_file():
        return [f"real documents: {labels_csv} not found; skipped"]
    reader = PageReader(ReaderConfig(classifier=model))
    out = [f"Real documents ({docs}): PageReader end to end, scan profile, no signatures masked"]
    dist = n = ldist = ln = 0
    field_hits = {k: [0, 0] for k in REAL_KEYS}
    correct = total = 0
    with labels_csv.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        truth_fields = _real_fields(docs, row)
        for i, image in enumerate(row["images"].split(";")):
            img = cv2.imread(str(docs / image), cv2.IMREAD_UNCHANGED)
            reading = reader.read(img, [], "scan")
            ref = _real_truth_text(docs, row, image)
            cer_s = ""
            if ref:
                # SROIE's transcripts are all capitals whatever the receipt prints ("Doc No" is
                # "DOC NO"), so case is no error there.
                fold = row["file"].startswith("sroie_")
                d, m = cer_counts(ref, reading.text, casefold=fold)
                dist, n = dist + d, n + m
                ld, lm = order_free_counts(ref, reading.text, casefold=fold)
                ldist, ln = ldist + ld, ln + lm
                cer_s = f"CER {d / max(1, m):6.1%} order-free {ld / max(1, lm):6.1%}{'*' if fold else ' '}"
            total += 1
            correct += int(reading.doc_type.label == row["doc_type"])
            values = reading.fields.values
            got = {k: values[k].value for k in REAL_KEYS if k in values}
            keys = PO_ISSUER_KEYS if reading.doc_type.label == "purchase_order" else ISSUER_KEYS
            issuer = next((values[k].value for k in keys if k in values), None)
            got["issuer"] = str(issuer) if issuer is not None else None
            marks = []
            if i == 0:
                for k, want in truth_fields.items():
                    have = got.get(k)
                    ok = _field_match(k, None if have is None else str(have), want)
                    field_hits[k][0] += int(ok)
                    field_hits[k][1] += 1
                    marks.append(f"{k} {'ok' if ok else f'{have!r}≠{want!r}'}")
            out.append(
                f"  {image:34s} {cer_s:32s} type {reading.doc_type.label}/{row['doc_type']} p={reading.doc_type.confidence:.2f}"
                f"{' review' if reading.doc_type.needs_review else ''}  {'; '.join(marks)}  {reading.timings_ms.get('total', 0):.0f} ms"
            )
    out.append(
        f"  OCR CER (all real pages, vs text layer / transcripts): {dist / max(1, n):.2%} in reading order, "
        f"{ldist / max(1, ln):.2%} order-free (words sorted); * case-folded (SROIE truth is all capitals)"
    )
    for k, (h, m) in field_hits.items():
        if m:
            note = " (case, spaces and punctuation aside)" if k == "issuer" else ""
            out.append(f"  field exact match {k}: {h}/{m}{note}")
    out.append(f"  classification accuracy: {correct}/{total} = {correct / max(1, total):.0%}")
    return out


@click.command("report-reading")
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    default=Path("models/artifacts/classifier.int8.onnx"),
    show_default=True,
)
@click.option(
    "--fp32",
    type=click.Path(path_type=Path),
    default=Path("var/classifier/classifier.fp32.onnx"),
    show_default=True,
)
@click.option(
    "--docs", type=click.Path(path_type=Path), default=Path("../shared/data/documents"), show_default=True
)
@click.option("--pages", default=80, show_default=True, help="Synthetic test pages read end to end.")
@click.option(
    "--field-pages",
    default=240,
    show_default=True,
    help="Test pages whose scan invoices, receipts and purchase orders give the field figures.",
)
@click.option("--no-real", is_flag=True, help="Skip the real documents.")
def report_reading(model: Path, fp32: Path, docs: Path, pages: int, field_pages: int, no_real: bool) -> None:
    """Print OCR CER, field exact match and classifier scores against the targets."""
    for line in synthetic_part(model, fp32, pages, field_pages):
        click.echo(line)
    if not no_real:
        for line in real_part(docs, model):
            click.echo(line)
