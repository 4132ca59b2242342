"""The dashboard in headless Chromium: log in, filter, open a document and see its boxes, review
with the box editor, export, upload, and role refusals. Screenshots of the main pages are saved
(to docs/screenshots with SIGNET_SCREENSHOTS=docs/screenshots)."""

# ruff: noqa: F811  (pytest fixtures imported from browser_env are parameters here)
from __future__ import annotations

import csv
import io
import re
import time

import pypdfium2
import pytest
from sqlalchemy import select

from cloud.db.engine import session_scope
from cloud.db.models import Correction, Document, Page, SignatureBox
from tests.cloud.web.test_upload import encrypted_pdf, pdf_bytes
from tests.e2e.browser_env import REPO, Session, browser, served  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def admin(browser, served):
    s = Session(browser, served, "admin")
    yield s
    s.close()


def _first(served, **where):
    with session_scope(served.engine) as s:
        stmt = select(Document).order_by(Document.captured_at.desc())
        for k, v in where.items():
            stmt = stmt.where(getattr(Document, k) == v)
        return s.scalars(stmt).first()


def test_given_an_admin_when_opening_fleet_aggregates_and_clients_then_tables_and_charts_render(admin):
    admin.goto("/fleet")
    assert admin.page.locator("[data-testid=fleet] tbody tr").count() == 5
    assert admin.page.locator("svg.spark polyline").count() >= 4
    admin.shot("fleet")
    admin.goto("/aggregates")
    drawn = admin.page.locator("div.chart[data-drawn='1']")
    assert drawn.count() == 6, "every aggregate chart is drawn by uPlot"
    assert admin.page.locator(".uplot canvas").count() >= 6
    admin.shot("aggregates")
    admin.goto("/clients")
    assert admin.page.locator("[data-testid=clients] tbody tr").count() >= 5
    assert admin.page.locator("[data-testid=kmeans] circle").count() >= 5
    admin.shot("clients")
    assert admin.js_errors() == []


def test_given_documents_when_filtering_by_type_and_signed_then_only_matches_are_listed(admin):
    admin.goto("/documents")
    admin.page.select_option("select[name=type]", "contract")
    admin.page.select_option("select[name=signed]", "yes")
    admin.page.click("[data-testid=filters] button[type=submit]")
    admin.page.wait_for_load_state("networkidle")
    rows = admin.page.locator("[data-testid=documents] tbody tr[data-doc-id]")
    assert rows.count() > 0
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        assert cells.nth(1).inner_text() == "contract"
        assert int(cells.nth(3).inner_text()) > 0
    admin.shot("documents")


def test_given_a_filtered_list_when_exporting_csv_then_the_download_holds_those_documents(admin):
    admin.goto("/documents?type=invoice")
    shown = admin.page.locator("[data-testid=documents] tbody tr[data-doc-id]").count()
    with admin.page.expect_download() as dl:
        admin.page.click("[data-testid=export-csv]")
    with open(dl.value.path(), encoding="utf-8") as fh:
        rows = list(csv.DictReader(io.StringIO(fh.read())))
    assert len(rows) >= shown > 0
    assert {r["doc_type"] for r in rows} == {"invoice"}


def test_given_a_signed_document_when_opened_then_the_page_image_and_its_boxes_show(admin, served):
    with session_scope(served.engine) as s:
        # A scanned sample page with two signatures when the corpus samples exist.
        doc = s.scalars(
            select(Document)
            .where(Document.signature_count == 2)
            .order_by(Document.source_uri.like("%mandate-1.%").desc(), Document.captured_at.desc())
        ).first()
    with session_scope(served.engine) as s:
        expected = sorted(
            (b.x1, b.y1, b.x2, b.y2)
            for b in s.scalars(select(SignatureBox).join(Page).where(Page.document_id == doc.id))
        )
    admin.goto(f"/documents/{doc.id}")
    img = admin.page.locator("#page-view img")
    assert img.evaluate("i => i.complete && i.naturalWidth") > 0, "page image loaded from the image store"
    rects = admin.page.locator("#page-view svg rect.sig")
    assert rects.count() == 2
    frame = img.bounding_box()
    drawn = sorted(
        (
            (b["x"] - frame["x"]) / frame["width"],
            (b["y"] - frame["y"]) / frame["height"],
            (b["x"] + b["width"] - frame["x"]) / frame["width"],
            (b["y"] + b["height"] - frame["y"]) / frame["height"],
        )
        for b in (rects.nth(i).bounding_box() for i in range(2))
    )
    # Each box is drawn where the detector put it on the page (within a few screen pixels).
    for d, e in zip(drawn, expected, strict=True):
        assert all(abs(a - b) < 0.01 for a, b in zip(d, e, strict=True)), (d, e)
    assert admin.page.locator("[data-testid=fields]").is_visible()
    admin.shot("document")


def test_given_ocr_text_with_script_when_viewed_then_it_shows_as_text_and_never_runs(admin, served):
    with session_scope(served.engine) as s:
        doc_id = s.scalar(select(Page.document_id).where(Page.text.like("%__xss%")))
    admin.goto(f"/documents/{doc_id}")
    assert "<script>window.__xss = 1</script>" in admin.page.locator("[data-testid=ocr]").inner_text()
    assert admin.page.evaluate("window.__xss") is None


def test_given_the_review_queue_when_a_reviewer_draws_removes_and_retypes_then_corrections_are_stored(
    browser, served
):
    rev = Session(browser, served, "reviewer")
    try:
        rev.goto("/review")
        assert rev.page.locator("[data-testid=queue] tbody tr[data-doc-id]").count() > 0
        rev.shot("review-queue")
        with session_scope(served.engine) as s:
            doc = s.scalars(
                select(Document)
                .where(Document.signature_count == 1, Document.reviewed_at.is_(None))
                .order_by(Document.id)
            ).first()
            assert doc is not None
        rev.goto(f"/review/{doc.id}")
        svg = rev.page.locator("#page-view svg")
        frame = svg.bounding_box()
        assert frame
        # Draw a new box in the upper right of the page.
        x0, y0 = frame["x"] + frame["width"] * 0.55, frame["y"] + frame["height"] * 0.1
        rev.page.mouse.move(x0, y0)
        rev.page.mouse.down()
        rev.page.mouse.move(x0 + frame["width"] * 0.2, y0 + frame["height"] * 0.05, steps=6)
        rev.page.mouse.up()
        assert rev.page.locator("#page-view svg rect.sig").count() == 2
        rev.page.mouse.move(5, 5)  # no hover highlight in the screenshot
        rev.shot("review")
        # Remove the model's box by clicking it.
        rev.page.locator("#page-view svg rect.sig:not(.added)").first.click()
        assert rev.page.locator("#page-view svg rect.sig").count() == 1
        assert rev.page.locator("#box-count").inner_text() == "1"
        rev.page.select_option("[data-testid=doc-type-select]", "letter")
        rev.page.click("[data-testid=save-review]")
        rev.page.wait_for_load_state("networkidle")
        assert "saved" in rev.page.locator(".flash").first.inner_text()
        with session_scope(served.engine) as s:
            d = s.get(Document, doc.id)
            assert d is not None and d.doc_type == "letter" and d.reviewed_at is not None
            boxes = s.scalars(select(SignatureBox).join(Page).where(Page.document_id == doc.id)).all()
            live = [b for b in boxes if not b.removed]
            assert len(live) == 1 and live[0].source == "reviewer" and live[0].x1 > 0.5
            kinds = sorted(
                c.kind for c in s.scalars(select(Correction).join(Page).where(Page.document_id == doc.id))
            )
            assert kinds == ["doc_type", "signature"]
        assert rev.js_errors() == []
    finally:
        rev.close()


def test_given_a_viewer_when_opening_admin_and_reviewer_pages_then_access_is_refused(browser, served):
    viewer = Session(browser, served, "viewer")
    try:
        for path in ("/upload", "/review", "/admin/users", "/admin/audit"):
            resp = viewer.goto(path)
            assert resp.status == 403, path
        resp = viewer.goto("/documents")
        assert resp.status == 200
    finally:
        viewer.close()


def test_given_an_encrypted_pdf_when_uploaded_then_the_page_says_why_it_was_refused(admin, tmp_path):
    f = tmp_path / "locked.pdf"
    f.write_bytes(encrypted_pdf())
    admin.goto("/upload")
    admin.page.set_input_files("input[type=file]", str(f))
    # The submit button is disabled where the pipeline cannot run; the server refuses the file first anyway.
    admin.page.locator("[data-testid=upload-form]").evaluate("f => f.submit()")
    admin.page.wait_for_load_state("networkidle")
    assert "encrypted" in admin.page.locator(".flash.error").first.inner_text()


def test_given_a_pdf_when_an_admin_uploads_it_then_progress_runs_and_its_pages_are_shown(
    admin, served, tmp_path
):
    admin.goto("/upload")
    unavailable = admin.page.locator("[data-testid=pipeline-unavailable]")
    if unavailable.count():
        admin.shot("upload")
        pytest.skip(f"model artifacts absent: {unavailable.inner_text()}")
    # A real scanned bundle from the corpus samples when present, else two blank pages.
    sample = REPO / "samples" / "pdf" / "contract-bundle.pdf"
    f = tmp_path / "bundle.pdf"
    f.write_bytes(sample.read_bytes() if sample.is_file() else pdf_bytes(2))
    n_pages = len(pypdfium2.PdfDocument(str(f)))
    admin.page.set_input_files("input[type=file]", str(f))
    admin.page.click("[data-testid=upload-form] button[type=submit]")
    admin.page.wait_for_selector("#job")
    deadline = time.monotonic() + 240
    while admin.page.locator("#job").get_attribute("data-state") not in ("done", "failed"):
        assert time.monotonic() < deadline, "upload did not finish in 4 minutes"
        admin.page.wait_for_timeout(500)
    assert admin.page.locator("#job").get_attribute("data-state") == "done", admin.page.locator(
        "#job-state"
    ).inner_text()
    admin.shot("upload")
    admin.page.locator("[data-testid=job-results] a").first.click()
    admin.page.wait_for_load_state("networkidle")
    assert admin.page.locator("a.button", has_text=re.compile(r"^page \d+$")).count() == n_pages
    assert admin.page.locator("#page-view img").evaluate("i => i.naturalWidth") > 0
    admin.shot("upload-document")
