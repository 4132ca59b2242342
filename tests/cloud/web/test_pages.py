"""The dashboard pages through the real app (Flask test client, SQLite, seeded data)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from cloud.db.engine import session_scope
from cloud.db.models import AuditLog, Correction, Document, FieldRow, Page, SignatureBox


def _doc(app: Flask, **where: object) -> Document:
    with session_scope(app.extensions["signet"].engine) as s:
        stmt = select(Document).order_by(Document.id)
        for k, v in where.items():
            stmt = stmt.where(getattr(Document, k) == v)
        d = s.scalars(stmt).first()
        assert d is not None
        return d


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("/fleet", "kiosk-01"),
        ("/fleet", "device_offline"),
        ("/documents", "data-doc-id"),
        ("/aggregates", "Unsigned contracts"),
        ("/clients", "Durand &amp; Fils SARL"),
    ],
)
def test_given_a_viewer_when_opening_a_read_page_then_it_renders_the_data(as_role, url, needle):
    client, _ = as_role("viewer")
    r = client.get(url)
    assert r.status_code == 200
    assert needle in r.data.decode()


def test_given_no_login_when_opening_the_dashboard_then_it_redirects_to_login(app):
    r = app.test_client().get("/documents")
    assert r.status_code in (302, 303)
    assert "/login" in r.headers["Location"]


@pytest.mark.parametrize(
    ("role", "url", "code"),
    [
        ("viewer", "/review", 403),
        ("viewer", "/upload", 403),
        ("reviewer", "/upload", 403),
        ("reviewer", "/review", 200),
        ("admin", "/upload", 200),
    ],
)
def test_given_a_role_when_opening_a_restricted_page_then_access_follows_the_matrix(as_role, role, url, code):
    client, _ = as_role(role)
    assert client.get(url).status_code == code


def test_given_documents_when_filtering_by_type_then_only_that_type_is_listed(app, as_role):
    client, _ = as_role("viewer")
    page = client.get("/documents?type=contract").data.decode()
    ids = [int(x) for x in re.findall(r'data-doc-id="(\d+)"', page)]
    assert ids
    with session_scope(app.extensions["signet"].engine) as s:
        types = set(s.scalars(select(Document.doc_type).where(Document.id.in_(ids))))
    assert types == {"contract"}


def test_given_documents_when_searching_text_then_the_matching_document_is_found(app, as_role):
    inv = _doc(app, doc_type="invoice")
    client, _ = as_role("viewer")
    with session_scope(app.extensions["signet"].engine) as s:
        number = s.scalar(
            select(FieldRow.value)
            .join(Page, Page.id == FieldRow.page_id)
            .where(Page.document_id == inv.id, FieldRow.name == "number")
        )
    page = client.get(f"/documents?q={number}").data.decode()
    assert re.findall(r'data-doc-id="(\d+)"', page) == [str(inv.id)]


def test_given_a_document_when_opened_then_its_image_and_one_box_per_signature_are_drawn(app, as_role):
    doc = _doc(app, signature_count=2)
    client, _ = as_role("viewer")
    page = client.get(f"/documents/{doc.id}").data.decode()
    assert page.count('class="sig"') == 2
    assert "none looked at this page" in page  # provenance: no handwriting model named
    img = re.search(r'<img src="([^"]+)"', page)
    assert img, "page image missing"
    r = client.get(img.group(1))
    assert r.status_code == 200 and r.data.startswith(b"\x89PNG")


def test_given_ocr_text_with_script_when_rendered_then_it_is_escaped(app, as_role):
    client, _ = as_role("viewer")
    with session_scope(app.extensions["signet"].engine) as s:
        doc_id = s.scalar(select(Page.document_id).where(Page.text.like("%__xss%")))
    page = client.get(f"/documents/{doc_id}").data.decode()
    assert "&lt;script&gt;window.__xss" in page
    assert "<script>window.__xss" not in page
    assert 'onerror="window' not in page


def test_given_a_review_form_without_csrf_when_posted_then_it_is_refused(app, as_role):
    doc = _doc(app)
    client, _ = as_role("reviewer")
    r = client.post(f"/review/{doc.id}", data={"doc_type": "letter"})
    assert r.status_code == 400
    assert _doc(app, id=doc.id).doc_type == doc.doc_type


def test_given_a_reviewer_when_correcting_type_boxes_and_a_field_then_labels_and_audit_are_stored(
    app, as_role
):
    doc = _doc(app, doc_type="invoice", signature_count=1)
    client, csrf = as_role("reviewer")
    form = client.get(f"/review/{doc.id}").data.decode()
    assert "review-form" in form
    new_box = [0.5, 0.1, 0.7, 0.15]
    r = client.post(
        f"/review/{doc.id}",
        data={
            "csrf_token": csrf,
            "doc_type": "receipt",
            "boxes": f"[{new_box}]".replace("'", ""),
            "field:total": "999.99",
            "action": "save",
        },
    )
    assert r.status_code in (302, 303)
    engine = app.extensions["signet"].engine
    with session_scope(engine) as s:
        d = s.get(Document, doc.id)
        assert d is not None and d.doc_type == "receipt" and d.reviewed_at is not None
        assert d.signature_count == 1
        boxes = s.scalars(select(SignatureBox).join(Page).where(Page.document_id == doc.id)).all()
        assert sorted((b.source, b.removed) for b in boxes) == [("model", True), ("reviewer", False)]
        kinds = sorted(
            c.kind for c in s.scalars(select(Correction).join(Page).where(Page.document_id == doc.id))
        )
        assert kinds == ["doc_type", "field", "signature"]
        assert (
            s.scalar(
                select(FieldRow.value).join(Page).where(Page.document_id == doc.id, FieldRow.name == "total")
            )
            == "999.99"
        )
        assert (
            s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "review.save")) == 1
        )
    queue = client.get("/review").data.decode()
    assert f'data-doc-id="{doc.id}"' not in queue


def test_given_boxes_outside_the_page_when_posted_then_nothing_changes(app, as_role):
    doc = _doc(app, doc_type="invoice")
    client, csrf = as_role("reviewer")
    r = client.post(
        f"/review/{doc.id}",
        data={"csrf_token": csrf, "doc_type": "letter", "boxes": "[[0.5, 0.5, 1.5, 0.6]]"},
        follow_redirects=True,
    )
    assert "outside the page" in r.data.decode()
    assert _doc(app, id=doc.id).doc_type == "invoice"


def test_given_script_and_sql_in_field_values_when_pages_render_then_they_are_shown_escaped(app, as_role):
    # Field values come from OCR of a page anyone can print: they are untrusted input on every page.
    from cloud.db.write import upsert_results
    from tests.cloud.factories import make_result

    evil = '<script>window.__fx=1</script><img src=x onerror="window.__fx=2">'
    sql = "'; DROP TABLE documents; --"
    r = make_result(
        9901,
        doc_type="invoice",
        text="Invoice evilfields",
        fields={
            "number": {"value": evil, "confidence": 0.9, "raw": evil},
            "buyer": {"value": evil + sql, "confidence": 0.9, "raw": sql},
            "total": {"value": "12.00", "confidence": 0.9, "raw": "12.00"},
        },
    )
    engine = app.extensions["signet"].engine
    with session_scope(engine) as s:
        upsert_results(s, [r])
    with session_scope(engine) as s:
        doc_id = s.scalar(select(Page.document_id).where(Page.result_id == r.result_id))
    client, _ = as_role("admin")
    for url in (f"/documents/{doc_id}", f"/review/{doc_id}", "/documents?q=evilfields", "/clients"):
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.data.decode()
        assert "<script>window.__fx" not in html and 'onerror="window.__fx' not in html, url
    detail = client.get(f"/documents/{doc_id}").data.decode()
    assert "&lt;script&gt;window.__fx=1&lt;/script&gt;" in detail  # shown, as text
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Document)) > 1  # the table is still there


def test_given_a_queued_document_with_a_failed_check_when_the_queue_is_opened_then_its_row_names_the_check(
    app, as_role
):
    from cloud.db.models import CheckRow

    doc = _doc(app, needs_review=True)
    with session_scope(app.extensions["signet"].engine) as s:
        page_id = s.scalar(select(Page.id).where(Page.document_id == doc.id))
        s.add(
            CheckRow(
                page_id=page_id,
                name="total_from_cash",
                ok=False,
                detail="no total read; cash 30.00 - change 5.60",
            )
        )
    client, _ = as_role("reviewer")
    html = client.get("/review").data.decode()
    row = re.search(rf'<tr data-doc-id="{doc.id}">.*?</tr>', html, re.S)
    assert row, "the document is not in the queue"
    assert 'data-testid="failed-check">total_from_cash<' in row.group(0)
