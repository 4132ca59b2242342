"""OCR text and fields are untrusted: script and SQL injected through them come back as inert data."""

from __future__ import annotations

import csv
import io
import json

from flask import Flask
from sqlalchemy import Engine, func, select

from cloud.db.engine import session_scope
from cloud.db.models import Page
from cloud.db.write import upsert_results
from tests.cloud.appsupport import api_token, login
from tests.cloud.factories import make_result

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SQL = "'; DROP TABLE pages; --"
FORMULA = '=HYPERLINK("http://evil.example","click")'


def test_given_script_and_sql_in_ocr_text_and_fields_then_api_returns_them_verbatim_as_json(
    app: Flask, engine: Engine
) -> None:
    hostile = make_result(
        1,
        text=f"{SCRIPT} {SQL}",
        fields={
            "number": {"value": SCRIPT, "confidence": 0.5, "raw": SQL},
            "total": {"value": SQL, "confidence": 0.5, "raw": SCRIPT},
        },
        site="paris-01",
        uri=f"folder:///in/{FORMULA}.pdf",
    )
    with session_scope(engine) as s:
        upsert_results(s, [hostile, make_result(2)])
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = "Bearer " + api_token(engine, "viewer")
    doc_id = next(
        d["id"] for d in c.get("/api/v1/documents").get_json()["items"] if "HYPERLINK" in d["source"]["uri"]
    )
    r = c.get(f"/api/v1/documents/{doc_id}")
    assert r.mimetype == "application/json"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    page = r.get_json()["pages"][0]
    assert page["text"] == f"{SCRIPT} {SQL}"
    assert {f["name"]: (f["value"], f["raw"]) for f in page["fields"]} == {
        "number": (SCRIPT, SQL),
        "total": (SQL, SCRIPT),
    }
    # Searching with the hostile strings is harmless too.
    assert c.get("/api/v1/documents", query_string={"q": SQL}).status_code == 200
    assert c.get("/api/v1/documents", query_string={"q": SCRIPT, "site": SQL}).status_code == 200
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Page)) == 2


def test_given_a_formula_in_a_text_cell_then_the_csv_export_neutralises_it(
    app: Flask, engine: Engine
) -> None:
    with session_scope(engine) as s:
        upsert_results(s, [make_result(1, uri=FORMULA), make_result(2)])
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = "Bearer " + api_token(engine, "viewer")
    rows = list(
        csv.DictReader(io.StringIO(c.get("/api/v1/documents/export?format=csv").get_data(as_text=True)))
    )
    uris = {r["source_uri"] for r in rows}
    assert "'" + FORMULA in uris and FORMULA not in uris


def test_given_script_in_a_username_then_admin_pages_escape_it(app: Flask) -> None:
    c = app.test_client()
    csrf = login(c, "admin")
    c.post(
        "/admin/users",
        data={"username": SCRIPT, "password": "long enough pw", "role": "viewer", "csrf_token": csrf},
    )
    for path in ("/admin/users", "/admin/audit"):
        html = c.get(path).get_data(as_text=True)
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert" in html or json.dumps(SCRIPT)[1:10] not in html
