"""The same pages on PostgreSQL (tsvector search, JSONB, date() on timestamptz)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from cloud.db.engine import session_scope
from cloud.db.models import Correction, Document
from tests.cloud.web.conftest import csrf_of
from tests.cloud.web.harness import PASSWORD, make_app

pytestmark = pytest.mark.postgres


def test_given_postgresql_when_every_page_is_opened_and_a_review_saved_then_all_work(
    postgres_url: str, tmp_path: Path
):
    app = make_app(tmp_path, n=40, database_url=postgres_url)
    try:
        c = app.test_client()
        token = csrf_of(c.get("/login").data.decode())
        assert (
            c.post(
                "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
            ).status_code
            == 302
        )
        for url in (
            "/fleet",
            "/documents",
            "/documents?q=contrat&signed=no",
            "/review",
            "/aggregates",
            "/clients",
            "/upload",
        ):
            r = c.get(url)
            assert r.status_code == 200, (url, r.data[:300])
        page = c.get("/documents?q=facture").data.decode()
        assert re.findall(r'data-doc-id="(\d+)"', page), "full-text search finds invoices"
        with session_scope(app.extensions["signet"].engine) as s:
            doc = s.scalars(select(Document).order_by(Document.id)).first()
            assert doc is not None
        assert c.get(f"/documents/{doc.id}").status_code == 200
        csrf = csrf_of(c.get(f"/review/{doc.id}").data.decode())
        r = c.post(
            f"/review/{doc.id}",
            data={"csrf_token": csrf, "doc_type": "other", "boxes": "[[0.1, 0.1, 0.2, 0.2]]"},
        )
        assert r.status_code == 302
        with session_scope(app.extensions["signet"].engine) as s:
            kinds = {k for (k,) in s.execute(select(Correction.kind))}
        assert {"doc_type", "signature"} <= kinds
    finally:
        app.extensions["signet"].engine.dispose()
