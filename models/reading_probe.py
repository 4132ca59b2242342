"""``signet models probe-reading`` and ``probe-diff``: per-page reading figures on a corpus split, to
tune the reader on the validation split and see which pages a change moved.

``probe-reading`` reads the first pages of a split end to end, as ``report-reading`` does (the
true signature boxes stand in for the detector), and writes one JSON row per page: its
degradation, its character errors (order-free and in reading order) and every field the corpus
knows the truth of against what was read. ``probe-diff A B`` compares two such files page by
page: the pages whose errors moved, most first, the fields that flipped, and both totals.

Tune on ``val``. The ``test`` split and the real documents are for checking a change once, not
for choosing it.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import click

from models.reading_report import (
    EXTRA_KEYS,
    FIELD_KEYS,
    _field_match,
    _item_row,
    _read_spec,
    _truth,
    cer_counts,
    item_totals,
    name_match,
    order_free_counts,
)

PROBE_KEYS = (*FIELD_KEYS, *EXTRA_KEYS)
# Who is who: the corpus names each page's parties by role, the reader by what they are on that
# type of page (a purchase order is issued by its buyer to its seller). A contract's parties are
# its first and second, whatever their roles.
PARTY_KEYS_BY_TYPE = {
    "invoice": {"issuer": "seller", "recipient": "buyer"},
    "receipt": {"issuer": "merchant"},
    "purchase_order": {"issuer": "buyer", "recipient": "seller"},
    "delivery_note": {"issuer": "seller", "recipient": "buyer"},
    "payslip": {"employer": "employer", "employee": "employee"},
    "mandate": {"creditor": "issuer"},
    "kyc_form": {"institution": "issuer"},
    "letter": {"sender": "sender", "recipient": "recipient", "signer": "signer"},
    "other": {"issuer": "issuer"},
}
PARTY_PROBE_KEYS = (
    *dict.fromkeys(key for roles in PARTY_KEYS_BY_TYPE.values() for key in roles.values()),
    "party_a",
    "party_b",
)


def _printed_dates(text: str) -> set[str]:
    """The dates printed in a page's true text, in both day/month orders."""
    from edge.read.parse import find_dates

    return {iso for mf in (False, True) for iso, _a, _b in find_dates(text, month_first=mf)}


def _field_rows(
    meta_fields: dict[str, Any], read: dict[str, Any], text: str, doc_type: str = ""
) -> dict[str, dict[str, Any]]:
    """Each field the corpus knows against what was read. The truth is the document's: a
    contract's date is printed on its last page only, and an identity form carries none, so a
    page's ``date`` whose value its printed text does not hold is marked ``printed: false`` and
    left out of the counts. Parties are compared as names (``name_match``)."""

    def got(key: str) -> str | None:
        fv = read.get(key)
        return None if fv is None or fv.value is None else str(fv.value)

    out = {}
    dates = _printed_dates(text)
    for key in PROBE_KEYS:
        want = _truth(meta_fields, key)
        if want is None:
            continue
        out[key] = {"truth": want, "read": got(key), "ok": _field_match(key, got(key), want)}
        if key == "date":
            out[key]["printed"] = want in dates
    parties = [p for p in meta_fields.get("parties") or [] if p.get("name")]
    wanted = {key: p["name"] for p in parties if (key := PARTY_KEYS_BY_TYPE.get(doc_type, {}).get(p["role"]))}
    if doc_type == "contract" and len(parties) >= 2:
        wanted = {"party_a": parties[0]["name"], "party_b": parties[1]["name"]}
    for key, want in wanted.items():
        out[key] = {"truth": want, "read": got(key), "ok": name_match(got(key), want)}
    return out


def probe_pages(
    split: str, pages: int, profile: str | None, doc_types: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """One row per page of ``profile`` (both when None) and of ``doc_types`` (all when empty)
    among the split's first ``pages`` specs."""
    from edge.config import ReaderConfig
    from edge.read import PageReader
    from models.classifier.data import page_specs

    reader = PageReader(ReaderConfig())
    rows = []
    for spec in page_specs(split, pages):
        if (profile and spec.profile != profile) or (doc_types and spec.doc_type not in doc_types):
            continue
        t0 = time.perf_counter()
        r = _read_spec(reader, spec)
        truth, text = r["meta"]["text"], r["reading"].text
        errors, chars = order_free_counts(truth, text)
        rows.append(
            {
                "index": spec.index,
                "doc_type": spec.doc_type,
                "lang": spec.lang,
                "profile": spec.profile,
                # its place in its document: a document's fields may be on another page
                "page": [r["meta"].get("page_no", 1), r["meta"].get("page_count", 1)],
                "degradation": r["meta"].get("degradation", {}),
                "errors": errors,
                "errors_strict": cer_counts(truth, text)[0],
                "chars": chars,
                "fields": _field_rows(
                    r["meta"].get("fields") or {}, r["reading"].fields.values, truth, spec.doc_type
                ),
                "items": _item_row(
                    (r["meta"].get("fields") or {}).get("line_items") or [],
                    r["reading"].fields.line_items,
                    truth,
                ),
                # the corpus's figures add up: a failed check is a misreading or a false alarm
                "failed_checks": [c.name for c in r["reading"].fields.checks if not c.ok],
                "reader_errors": list(r["reading"].errors),
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
    return rows


def summary(rows: list[dict[str, Any]]) -> list[str]:
    """Totals: CER over all pages and per capture mode, and hits per field."""
    if not rows:
        return ["no pages"]
    n = sum(r["chars"] for r in rows)
    out = [
        f"{len(rows)} pages: order-free CER {sum(r['errors'] for r in rows) / max(1, n):.2%},"
        f" reading order {sum(r['errors_strict'] for r in rows) / max(1, n):.2%},"
        f" {sum(r['seconds'] for r in rows):.0f} s"
    ]
    modes: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        m = modes[f"{r['profile']}/{r['degradation'].get('mode', '-')}"]
        m[0], m[1], m[2] = m[0] + r["errors"], m[1] + r["chars"], m[2] + 1
    out += [
        f"  {k:16s} {v[2]:4d} pages  order-free CER {v[0] / max(1, v[1]):.2%}"
        for k, v in sorted(modes.items())
    ]
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        for k, f in r["fields"].items():
            if not f.get("printed", True):
                hits[k][2] += 1
                continue
            hits[k][0] += int(f["ok"])
            hits[k][1] += 1
    out += [
        f"  field {k:12s} {hits[k][0]:4d}/{hits[k][1]:<4d}"
        + (f" ({hits[k][2]} more not printed on their page)" if hits[k][2] else "")
        for k in (*PROBE_KEYS, *PARTY_PROBE_KEYS)
        if k in hits
    ]
    return out + _item_summary(rows)


def _item_summary(rows: list[dict[str, Any]]) -> list[str]:
    """Line items over the pages that print a table of them or had rows read, and the checks
    that failed, by name (older probe files lack both: nothing is said)."""
    rows = [r for r in rows if "items" in r]
    if not rows:
        return []
    items = [r["items"] for r in rows]
    t = item_totals(items)
    stray = sum(1 for i in items if i["read"] and not i["truth"])
    out = [
        f"  line items   {t['exact']:4d}/{t['truth']:<4d} rows exact, {t['wrong']} read rows wrong or extra;"
        f" {t['whole']}/{t['tabled']} pages with every row exact and none extra;"
        f" {stray} page(s) without a table given rows"
    ]
    failed: dict[str, int] = defaultdict(int)
    for r in rows:
        for name in set(r.get("failed_checks", [])):
            failed[name] += 1
    if failed:
        out.append(
            "  checks failed (pages): "
            + ", ".join(f"{k} {v}" for k, v in sorted(failed.items(), key=lambda t: -t[1]))
        )
    return out


def diff(before: list[dict[str, Any]], after: list[dict[str, Any]], top: int = 20) -> list[str]:
    """The pages whose errors moved (most first) and the fields that flipped, from ``before`` to
    ``after``; pages in only one of them are counted, not compared."""
    a = {r["index"]: r for r in before}
    b = {r["index"]: r for r in after}
    both = sorted(a.keys() & b.keys())
    out = []
    if a.keys() ^ b.keys():
        out.append(f"{len(a.keys() ^ b.keys())} page(s) in only one file: not compared")
    moved = sorted(
        ((b[i]["errors"] - a[i]["errors"], i) for i in both if b[i]["errors"] != a[i]["errors"]),
        key=lambda t: (-abs(t[0]), t[1]),
    )
    gained = sum(d for d, _ in moved if d < 0)
    lost = sum(d for d, _ in moved if d > 0)
    chars = sum(a[i]["chars"] for i in both)
    out.append(
        f"{len(both)} pages compared, {len(moved)} moved: {-gained} errors fewer, {lost} more"
        f" (net {gained + lost:+d} of {chars} characters)"
    )
    for d, i in moved[:top]:
        r = a[i]
        out.append(
            f"  page {i:5d} {r['doc_type']:15s} {r['profile']}/{r['degradation'].get('mode', '-'):8s}"
            f" {a[i]['errors']:4d} -> {b[i]['errors']:4d} ({d:+d}) of {r['chars']}"
        )
    if len(moved) > top:
        out.append(f"  ... {len(moved) - top} more")
    flips = []
    for i in both:
        for k in sorted(a[i]["fields"].keys() & b[i]["fields"].keys()):
            fa, fb = a[i]["fields"][k], b[i]["fields"][k]
            if fa["ok"] != fb["ok"]:
                mark = "fixed" if fb["ok"] else "broken"
                flips.append(
                    f"  page {i:5d} {k:12s} {mark}: {fa['read']!r} -> {fb['read']!r} (truth {fa['truth']!r})"
                )
    out.append(f"fields flipped: {len(flips)}")
    out.extend(flips)
    rows_moved = [
        f"  page {i:5d} line items {a[i]['items']['exact']}/{a[i]['items']['read']} -> "
        f"{b[i]['items']['exact']}/{b[i]['items']['read']} exact/read of {b[i]['items']['truth']}"
        for i in both
        if "items" in a[i] and "items" in b[i] and a[i]["items"] != b[i]["items"]
    ]
    if rows_moved:
        out.append(f"line items moved: {len(rows_moved)} page(s)")
        out.extend(rows_moved)
    out.append("before: " + summary([a[i] for i in both])[0])
    out.append("after:  " + summary([b[i] for i in both])[0])
    return out


@click.command("probe-reading")
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="val", show_default=True)
@click.option("--pages", default=160, show_default=True, help="The split's first specs looked at.")
@click.option("--profile", type=click.Choice(["scan", "webcam", "both"]), default="scan", show_default=True)
@click.option("--type", "doc_types", multiple=True, help="Only pages of this document type (repeatable).")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="JSON file written."
)
def probe_reading(split: str, pages: int, profile: str, doc_types: tuple[str, ...], out: Path) -> None:
    """Read a split's pages end to end and write per-page CER and fields (tune on val)."""
    rows = probe_pages(split, pages, None if profile == "both" else profile, doc_types)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    for line in summary(rows):
        click.echo(line)
    click.echo(f"written: {out}")


def _load(path: Path) -> list[dict[str, Any]]:
    try:
        rows = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: not a probe-reading file ({exc})") from exc
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "index" in r for r in rows):
        raise click.ClickException(f"{path}: not a probe-reading file (expected a list of page rows)")
    return rows


@click.command("probe-diff")
@click.argument("before", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("after", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--top", default=20, show_default=True, help="Pages listed, most moved first.")
def probe_diff(before: Path, after: Path, top: int) -> None:
    """Compare two probe-reading files page by page."""
    for line in diff(_load(before), _load(after), top):
        click.echo(line)
