"""Cloud benchmark: dashboard pages and the documents API over a large store, export memory, and
cursor pagination against an OFFSET baseline, measured in the same run.

    .venv/bin/python bench/cloud.py                       # quick: 100k pages PostgreSQL, 20k SQLite
    nice -n 10 .venv/bin/python bench/cloud.py --pg-pages 1000000 --sqlite-pages 100000   # full

Targets (issue 7): with 1,000,000 pages in PostgreSQL every dashboard page under 300 ms server
time and the documents API p95 under 100 ms; with 100,000 pages in SQLite the same under 150 ms;
export of 1,000,000 rows in constant memory. Server time is the Flask app's own time for a request
(test client, no network), as the ``Server-Timing`` header reports it.

Seeding is fast on purpose: rows are generated in Python and written with COPY (PostgreSQL) or one
executemany transaction (SQLite), straight into the tables the migrations made.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import resource
import statistics
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import Engine, select, text  # noqa: E402

from cloud.db.engine import make_engine, session_factory  # noqa: E402
from cloud.db.migrate import upgrade  # noqa: E402
from edge.contract import DOC_TYPES  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Data ends today (midnight UTC) so the dashboard's "last N days" windows hold data.
T_END = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
SPAN_DAYS = 365
WORDS = [
    "facture",
    "invoice",
    "contrat",
    "contract",
    "bail",
    "lease",
    "total",
    "montant",
    "amount",
    "tva",
    "vat",
    "client",
    "customer",
    "fournisseur",
    "supplier",
    "date",
    "paiement",
    "payment",
    "signature",
    "signé",
    "signed",
    "paris",
    "lyon",
    "marseille",
    "lille",
    "nantes",
    "bordeaux",
    "livraison",
    "delivery",
    "commande",
    "order",
    "salaire",
    "payslip",
    "identité",
    "identity",
    "mandat",
    "mandate",
    "reçu",
    "receipt",
    "lettre",
    "letter",
    "objet",
    "subject",
    "article",
    "quantité",
    "quantity",
    "prix",
    "price",
    "remise",
    "discount",
    "échéance",
    "due",
    "conditions",
    "terms",
    "banque",
    "bank",
    "iban",
]
SITES = [f"site-{i:02d}" for i in range(20)]
DEVICES = [(f"dev-{i:03d}", SITES[i % len(SITES)]) for i in range(200)]


# -- seeding --------------------------------------------------------------------------------


def rows(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """n synthetic pages (one document each), spread over a year, deterministic per seed."""
    rng = random.Random(seed)
    step = SPAN_DAYS * 86400 / max(n, 1)
    for i in range(1, n + 1):
        dev, site = DEVICES[rng.randrange(len(DEVICES))]
        captured = T_END - timedelta(seconds=(n - i) * step + rng.random())
        dt = DOC_TYPES[rng.randrange(len(DOC_TYPES))]
        sigs = rng.choice((0, 0, 1, 1, 1, 2, 2, 3)) if dt != "receipt" else 0
        words = " ".join(rng.choice(WORDS) for _ in range(30))
        yield {
            "i": i,
            "device": dev,
            "site": site,
            "captured": captured,
            "processed": captured + timedelta(seconds=1.5),
            "received": captured + timedelta(seconds=3),
            "doc_type": dt,
            "conf": round(0.5 + rng.random() / 2, 3),
            "review": rng.random() < 0.08,
            "sigs": sigs,
            "status": "ok" if rng.random() > 0.02 else "partial",
            "text": f"{dt} n° {i} {words}",
            "uri": f"folder:///srv/in/{dev}/{i}.pdf",
            "sha": hashlib.sha256(str(i).encode()).hexdigest(),
            "result_id": uuid.UUID(int=i),
            "total": f"{rng.randrange(10, 100000) / 10:.2f}",
            "seller": f"Client {rng.randrange(300):03d} SARL",
        }


def _page_tuple(r: dict[str, Any], sqlite: bool) -> tuple[Any, ...]:
    rid = r["result_id"].hex if sqlite else r["result_id"]
    cap, proc, rec = (_sqlite_dt(r[k]) if sqlite else r[k] for k in ("captured", "processed", "received"))
    return (
        r["i"], rid, r["i"], r["device"], r["site"], "folder", r["uri"], 0, None, cap, proc, rec, r["sha"], 1654, 2339,
        200, r["text"], r["doc_type"], r["conf"], "{}", r["review"], r["sigs"], "sigdet:1.0.0", "doctype:1.0.0",
        "tesseract:5.3.0", '{"detect": 31.0, "ocr": 420.0, "classify": 4.0}', r["status"], "[]",
    )  # fmt: skip


def _doc_tuple(r: dict[str, Any], sqlite: bool) -> tuple[Any, ...]:
    cap, rec = (_sqlite_dt(r[k]) if sqlite else r[k] for k in ("captured", "received"))
    return (
        r["i"], hashlib.sha256(f"result|{r['result_id']}".encode()).hexdigest(), r["device"], r["site"], "folder",
        r["uri"], cap, rec, 1, None, r["doc_type"], r["conf"], r["review"], r["sigs"], r["status"], None,
    )  # fmt: skip


PAGE_COLS = (
    "id, result_id, document_id, device_id, site_id, source_kind, source_uri, page_index, page_count, captured_at, "
    "processed_at, received_at, image_sha256, image_width, image_height, image_dpi, text, doc_type, type_confidence, "
    "type_scores, needs_review, signature_count, detector_version, classifier_version, ocr_version, timings_ms, status, errors"
)
DOC_COLS = (
    "id, doc_key, device_id, site_id, source_kind, source_uri, captured_at, received_at, page_count, expected_pages, "
    "doc_type, type_confidence, needs_review, signature_count, status, reviewed_at"
)
SIG_COLS = "page_id, x1, y1, x2, y2, score, source, removed"
FIELD_COLS = "page_id, name, value, value_type, confidence, raw, source"


def _children(r: dict[str, Any]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    sigs = [(r["i"], 0.1 + 0.2 * k, 0.8, 0.25 + 0.2 * k, 0.86, 0.9, "model", False) for k in range(r["sigs"])]
    fields = []
    if r["doc_type"] == "invoice":
        fields = [
            (r["i"], "total", r["total"], "str", 0.9, r["total"], "model"),
            (r["i"], "seller", r["seller"], "str", 0.8, r["seller"], "model"),
            (r["i"], "number", f"F-{r['i']}", "str", 0.9, f"F-{r['i']}", "model"),
            (r["i"], "date", r["captured"].date().isoformat(), "str", 0.9, None, "model"),
        ]
    return sigs, fields


def _sqlite_dt(d: datetime) -> str:
    return d.astimezone(timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _base_rows(sqlite: bool) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    now = T_END
    created = _sqlite_dt(now) if sqlite else now
    sites = [(s, None, created) for s in SITES]
    devices = [
        (
            d,
            s,
            None,
            None,
            created,
            _sqlite_dt(now) if sqlite else now,
            (i % 7 != 0),
            None,
            "{}",
            None,
            None,
            i % 13,
            None,
        )
        for i, (d, s) in enumerate(DEVICES)
    ]
    return sites, devices


DEVICE_COLS = (
    "id, site_id, token_hash, description, created_at, last_seen, online, status_at, versions, last_health, health_at, "
    "outbox_backlog, revoked_at"
)


def seed_postgres(url: str, n: int) -> float:
    import psycopg

    t0 = time.perf_counter()
    sites, devices = _base_rows(sqlite=False)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY sites (id, title, created_at) FROM STDIN") as cp:
                for row in sites:
                    cp.write_row(row)
            with cur.copy(f"COPY devices ({DEVICE_COLS}) FROM STDIN") as cp:
                for row in devices:
                    cp.write_row(row)
            batch: list[dict[str, Any]] = []

            def flush() -> None:
                with cur.copy(f"COPY documents ({DOC_COLS}) FROM STDIN") as cp:
                    for r in batch:
                        cp.write_row(_doc_tuple(r, False))
                with cur.copy(f"COPY pages ({PAGE_COLS}) FROM STDIN") as cp:
                    for r in batch:
                        cp.write_row(_page_tuple(r, False))
                sigs, fields = [], []
                for r in batch:
                    s_, f_ = _children(r)
                    sigs += s_
                    fields += f_
                with cur.copy(f"COPY signatures ({SIG_COLS}) FROM STDIN") as cp:
                    for row in sigs:
                        cp.write_row(row)
                with cur.copy(f"COPY fields ({FIELD_COLS}) FROM STDIN") as cp:
                    for row in fields:
                        cp.write_row(row)
                batch.clear()

            for r in rows(n):
                batch.append(r)
                if len(batch) >= 50_000:
                    flush()
                    print(f"  seeded {r['i']:,} pages ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
            if batch:
                flush()
            for table in ("documents", "pages"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n + 1})")
        conn.commit()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - t0


def seed_sqlite(path: Path, n: int) -> float:
    import sqlite3

    t0 = time.perf_counter()
    sites, devices = _base_rows(sqlite=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        conn.executemany("INSERT INTO sites (id, title, created_at) VALUES (?, ?, ?)", sites)
        conn.executemany(f"INSERT INTO devices ({DEVICE_COLS}) VALUES ({', '.join('?' * 13)})", devices)
        batch: list[dict[str, Any]] = []
        for r in rows(n):
            batch.append(r)
            if len(batch) >= 20_000:
                _sqlite_flush(conn, batch)
        _sqlite_flush(conn, batch)
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - t0


def _sqlite_flush(conn: Any, batch: list[dict[str, Any]]) -> None:
    conn.executemany(
        f"INSERT INTO documents ({DOC_COLS}) VALUES ({', '.join('?' * 16)})",
        [_doc_tuple(r, True) for r in batch],
    )
    conn.executemany(
        f"INSERT INTO pages ({PAGE_COLS}) VALUES ({', '.join('?' * 28)})",
        [_page_tuple(r, True) for r in batch],
    )
    sigs, fields = [], []
    for r in batch:
        s_, f_ = _children(r)
        sigs += s_
        fields += f_
    conn.executemany(f"INSERT INTO signatures ({SIG_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", sigs)
    conn.executemany(f"INSERT INTO fields ({FIELD_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)", fields)
    batch.clear()


# -- measuring ------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def make_app(url: str, images: Path) -> Any:
    from cloud.app import create_app
    from cloud.config import CloudConfig

    cfg = CloudConfig.model_validate(
        {"database": {"url": url}, "web": {"secret_key": "bench-" * 8, "images_dir": str(images)}}
    )
    return create_app(cfg)


def bench_api(app: Any, engine: Engine, repeat: int) -> list[tuple[str, list[float]]]:
    from cloud.auth.tokens import create_api_token
    from cloud.db.engine import session_scope

    with session_scope(engine) as s:
        _, token = create_api_token(s, f"bench-{uuid.uuid4().hex[:6]}", "viewer")
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    def get(url: str) -> Any:
        r = c.get(url)
        assert r.status_code == 200, (url, r.status_code, r.get_data(as_text=True)[:300])
        return r.get_json()

    # A cursor 20 pages deep, to time a deep page.
    cursor = None
    for _ in range(20):
        cursor = get("/api/v1/documents?limit=50" + (f"&cursor={cursor}" if cursor else ""))["next_cursor"]
    one = get("/api/v1/documents?limit=1")["items"][0]["id"]
    queries = [
        ("list newest", "/api/v1/documents?limit=50"),
        ("site filter", f"/api/v1/documents?limit=50&site={SITES[3]}"),
        ("device filter", f"/api/v1/documents?limit=50&device={DEVICES[17][0]}"),
        ("type + unsigned", "/api/v1/documents?limit=50&type=contract&signed=false"),
        ("needs review", "/api/v1/documents?limit=50&needs_review=true"),
        ("date range", "/api/v1/documents?limit=50&from=2026-03-01&to=2026-03-31"),
        ("sort by signatures", "/api/v1/documents?limit=50&sort=signature_count"),
        ("text search", "/api/v1/documents?limit=50&q=bail+iban"),
        ("cursor page 21", f"/api/v1/documents?limit=50&cursor={cursor}"),
        ("one document", f"/api/v1/documents/{one}"),
        ("devices", "/api/v1/devices"),
    ]
    out = []
    for name, url in queries:
        get(url)  # warm
        out.append((name, timed(lambda url=url: get(url), repeat)))
    return out


def bench_pages(app: Any, engine: Engine, repeat: int) -> list[tuple[str, list[float]]]:
    """Every dashboard page (the web blueprint's GET routes) as an admin."""
    from cloud.auth.core import _password_version
    from cloud.auth.passwords import hash_password
    from cloud.db.engine import session_scope
    from cloud.db.models import Document, User
    from edge.contract import utcnow

    web_rules = [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("web.") and "GET" in (r.methods or ()) and not r.endpoint.endswith("static")
    ]
    if not web_rules:
        return []
    name = f"bench-{uuid.uuid4().hex[:6]}"
    with session_scope(engine) as s:
        u = User(
            username=name, password_hash=hash_password("bench-password-1"), role="admin", created_at=utcnow()
        )
        s.add(u)
        s.flush()
        uid, pwv = u.id, _password_version(u)
        doc_id = s.scalar(select(Document.id).order_by(Document.captured_at.desc()).limit(1))
    c = app.test_client()
    with c.session_transaction() as sess:
        sess["uid"], sess["pwv"], sess["csrf"] = uid, pwv, "x"
    out = []
    for rule in sorted(web_rules, key=lambda r: r.rule):
        if rule.arguments - {"doc_id"}:
            continue
        url = rule.rule.replace("<int:doc_id>", str(doc_id))
        first = c.get(url)
        if first.status_code != 200:
            print(f"  skip {url}: {first.status_code}", file=sys.stderr)
            continue
        out.append((f"page {url}", timed(lambda url=url: c.get(url), repeat)))
    # Aggregates and clients are recomputed at most once a minute (cloud.web.pages.CACHE_S): the
    # warm figures above are what most views cost, the cold ones what the first view each
    # minute costs. Both count against the target.
    cache = app.extensions.get("signet_web", {}).get("cache")
    for url in ("/aggregates", "/clients"):
        if cache is None:
            break

        def cold(url: str = url) -> None:
            cache.clear()
            c.get(url)

        out.append((f"page {url} (uncached)", timed(cold, max(3, repeat // 4))))
    return out


def bench_offset_vs_cursor(engine: Engine, n: int, repeat: int) -> tuple[float, float]:
    """Reaching the middle of the list: OFFSET (baseline) vs our keyset cursor, 50 rows each."""
    from cloud.api.query import DocumentFilter, after_cursor, documents_query, encode_cursor
    from cloud.db.models import Document

    f = DocumentFilter()
    depth = n // 2
    dialect = engine.dialect.name
    with session_factory(engine)() as s:
        anchor = s.scalars(documents_query(f, dialect).offset(depth - 1).limit(1)).one()
        cursor = encode_cursor(f, anchor)
        off = timed(lambda: s.scalars(documents_query(f, dialect).offset(depth).limit(50)).all(), repeat)
        cur = timed(
            lambda: s.scalars(after_cursor(documents_query(f, dialect), f, cursor).limit(50)).all(), repeat
        )
        a = [d.id for d in s.scalars(documents_query(f, dialect).offset(depth).limit(50))]
        b = [d.id for d in s.scalars(after_cursor(documents_query(f, dialect), f, cursor).limit(50))]
        assert a == b, "cursor and OFFSET disagree"
        assert isinstance(anchor, Document)
    return statistics.median(off), statistics.median(cur)


def bench_export(engine: Engine, n: int) -> dict[str, float]:
    """Peak Python memory while streaming every row as CSV, at a tenth and at all of the rows,
    against loading the tenth with fetchall (the baseline the streaming replaces)."""
    from cloud.api.export import csv_stream, export_rows
    from cloud.api.query import DocumentFilter

    def stream(limit: int) -> tuple[float, int, float]:
        gc.collect()
        tracemalloc.start()
        t0 = time.perf_counter()
        count = 0
        size = 0
        rows_iter = export_rows(engine, DocumentFilter())

        def limited() -> Iterator[tuple[Any, ...]]:
            nonlocal count
            for row in rows_iter:
                count += 1
                yield row
                if count >= limit:
                    break

        for chunk in csv_stream(limited()):
            size += len(chunk)
        rows_iter.close()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak / 2**20, count, time.perf_counter() - t0

    tenth = max(n // 10, 1)
    peak_tenth, _, _ = stream(tenth)
    peak_all, count, secs = stream(n)
    gc.collect()
    tracemalloc.start()
    from cloud.db.models import Document

    with session_factory(engine)() as s:
        loaded = s.execute(
            select(
                Document.id,
                Document.captured_at,
                Document.site_id,
                Document.device_id,
                Document.doc_type,
                Document.source_uri,
            ).limit(tenth)
        ).all()
    _, peak_fetchall = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del loaded
    return {
        "rows": count,
        "seconds": secs,
        "peak_mb_tenth": peak_tenth,
        "peak_mb_all": peak_all,
        "fetchall_peak_mb_tenth": peak_fetchall / 2**20,
        "rss_max_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


# -- main -----------------------------------------------------------------------------------


def run_backend(
    kind: str, n: int, repeat: int, workdir: Path, keep: bool, skip_export: bool = False
) -> dict[str, Any]:
    print(f"\n== {kind}: {n:,} pages ==")
    if kind == "postgresql":
        import psycopg

        name = f"signet_bench_{n}"
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists and not keep:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                admin.execute(f'CREATE DATABASE "{name}"')
        fresh = not exists
    else:
        path = workdir / f"bench-{n}.db"
        if path.exists() and not keep:
            for p in workdir.glob(f"bench-{n}.db*"):
                p.unlink()
        fresh = not path.exists()
        url = f"sqlite:///{path}"
    engine = make_engine(url)
    if fresh:
        upgrade(engine)
        secs = (
            seed_postgres(url, n) if kind == "postgresql" else seed_sqlite(Path(url[len("sqlite:///") :]), n)
        )
        print(f"seeded {n:,} pages in {secs:.1f} s ({n / secs:,.0f} pages/s)")
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM pages")).scalar_one()
    assert count == n, f"expected {n} pages, found {count} (drop --keep)"
    app = make_app(url, workdir / "images")
    results: dict[str, Any] = {"backend": kind, "pages": n}
    target_api = 100.0 if kind == "postgresql" else 150.0
    target_page = 300.0 if kind == "postgresql" else 150.0
    print(f"{'request':42} {'p50 ms':>8} {'p95 ms':>8}  target")
    worst_api = 0.0
    for name, xs in bench_api(app, engine, repeat):
        worst_api = max(worst_api, p95(xs))
        print(
            f"{'API ' + name:42} {statistics.median(xs):8.1f} {p95(xs):8.1f}  {'ok' if p95(xs) < target_api else 'OVER'} (<{target_api:.0f})"
        )
        results[f"api {name}"] = {"p50": statistics.median(xs), "p95": p95(xs)}
    worst_page = 0.0
    pages = bench_pages(app, engine, max(3, repeat // 4))
    for name, xs in pages:
        worst_page = max(worst_page, p95(xs))
        print(
            f"{name:42} {statistics.median(xs):8.1f} {p95(xs):8.1f}  {'ok' if p95(xs) < target_page else 'OVER'} (<{target_page:.0f})"
        )
        results[name] = {"p50": statistics.median(xs), "p95": p95(xs)}
    if not pages:
        print("(no dashboard blueprint registered: pages not measured)")
    off, cur = bench_offset_vs_cursor(engine, n, max(3, repeat // 4))
    print(
        f"middle of the list (row {n // 2:,}): OFFSET {off:.1f} ms vs cursor {cur:.2f} ms -> cursor {off / max(cur, 1e-6):.0f}x faster"
    )
    results["offset_ms"], results["cursor_ms"] = off, cur
    results["worst_api_p95"], results["worst_page_p95"] = worst_api, worst_page
    print(
        f"verdict {kind}: API worst p95 {worst_api:.1f} ms (target {target_api:.0f}) "
        f"{'MET' if worst_api < target_api else 'MISSED'}; pages worst p95 {worst_page:.1f} ms (target {target_page:.0f}) "
        f"{'MET' if worst_page < target_page else 'MISSED' if pages else 'n/a'}"
    )
    if skip_export:
        engine.dispose()
        return results
    ex = bench_export(engine, n)
    print(
        f"export CSV of {ex['rows']:,} rows in {ex['seconds']:.1f} s: peak Python memory {ex['peak_mb_tenth']:.1f} MB at "
        f"{n // 10:,} rows, {ex['peak_mb_all']:.1f} MB at {ex['rows']:,} rows (constant: ratio "
        f"{ex['peak_mb_all'] / max(ex['peak_mb_tenth'], 1e-6):.2f}); fetchall of {n // 10:,} rows: {ex['fetchall_peak_mb_tenth']:.1f} MB "
        f"(x{ex['fetchall_peak_mb_tenth'] / max(ex['peak_mb_all'], 1e-6):.0f}); process max RSS {ex['rss_max_mb']:.0f} MB"
    )
    results["export"] = ex
    engine.dispose()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--pg-pages", type=int, default=100_000, help="Pages seeded in PostgreSQL (0: skip). Full: 1000000."
    )
    ap.add_argument(
        "--sqlite-pages", type=int, default=20_000, help="Pages seeded in SQLite (0: skip). Full: 100000."
    )
    ap.add_argument("--repeat", type=int, default=20, help="Timed repetitions per API request.")
    ap.add_argument("--workdir", type=Path, default=REPO / "var" / "bench-cloud")
    ap.add_argument(
        "--keep", action="store_true", help="Reuse databases seeded by an earlier run with the same counts."
    )
    ap.add_argument("--skip-export", action="store_true", help="Do not time the export (the slowest part).")
    ap.add_argument("--out", type=Path, default=None, help="Write the figures as JSON here.")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    import logging

    logging.basicConfig(level=logging.WARNING)
    all_results = []
    if args.sqlite_pages:
        all_results.append(
            run_backend("sqlite", args.sqlite_pages, args.repeat, args.workdir, args.keep, args.skip_export)
        )
    if args.pg_pages:
        all_results.append(
            run_backend("postgresql", args.pg_pages, args.repeat, args.workdir, args.keep, args.skip_export)
        )
    if args.out:
        args.out.write_text(json.dumps(all_results, indent=2, default=str))


if __name__ == "__main__":
    main()
