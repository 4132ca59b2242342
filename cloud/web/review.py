"""Review queue and the review editor; corrections are kept as labels for retraining.

Each change a reviewer makes is one ``reviews`` row (the history on the document page) and one
``corrections`` row (the label the model should have produced). For signature boxes the
correction stores the page's complete box set after the review, which is what a detector
training set needs; removed model boxes are kept with ``removed=True`` so nothing is lost.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime, timezone
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from cloud.db.models import Correction, Document, DocumentType, FieldRow, Page, Review, SignatureBox
from cloud.web import bp, deps, queries
from cloud.web.pages import load_document

log = logging.getLogger(__name__)

MAX_BOXES = 200
MAX_VALUE = 2000


class BadReview(ValueError):
    """A review form that cannot be applied; the message is shown to the reviewer."""


@bp.route("/review")
@deps.require("reviewer")
def review() -> str:
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    s = deps.session()
    docs, has_next, total = queries.review_queue(s, page)
    expecting = set(s.scalars(select(DocumentType.label).where(DocumentType.expects_signature)))
    failed = queries.failed_checks(s, [d.id for d in docs])
    return render_template(
        "web/review.html",
        docs=docs,
        has_next=has_next,
        total=total,
        page=page,
        expecting=expecting,
        failed=failed,
    )


@bp.route("/review/<int:doc_id>", methods=["GET", "POST"])
@deps.require("reviewer")
def review_item(doc_id: int) -> str | Response:
    doc, pages, current = load_document(doc_id)
    s = deps.session()
    if request.method == "POST":
        page = s.get(Page, current.id)
        if page is None:
            abort(404)
        try:
            changes = apply_review(s, doc, page, request.form, deps.current_user_id())
        except BadReview as exc:
            s.rollback()
            flash(str(exc), "error")
            return redirect(url_for("web.review_item", doc_id=doc_id, page=current.index))
        deps.audit("review.save", f"document:{doc.id}", {"page": page.page_index, "changes": changes})
        s.commit()
        flash(f"Review of document {doc.id} saved ({', '.join(changes) or 'approved as read'}).", "ok")
        nxt = s.scalar(
            select(Document.id)
            .where(queries.review_condition(s), Document.id != doc.id)
            .order_by(Document.captured_at, Document.id)
            .limit(1)
        )
        return redirect(url_for("web.review_item", doc_id=nxt) if nxt else url_for("web.review"))
    types = list(s.scalars(select(DocumentType.label).order_by(DocumentType.label)))
    return render_template("web/review_item.html", doc=doc, pages=pages, current=current, types=types)


def parse_boxes(raw: str) -> list[tuple[float, float, float, float]]:
    """Boxes from the editor's JSON, checked: four numbers in [0, 1], x2 > x1, y2 > y1."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadReview("The signature boxes could not be read; reload the page and try again.") from exc
    if not isinstance(data, list) or len(data) > MAX_BOXES:
        raise BadReview(f"Expected a list of at most {MAX_BOXES} boxes.")
    out = []
    for b in data:
        if not (isinstance(b, list) and len(b) == 4 and all(isinstance(v, int | float) for v in b)):
            raise BadReview("Each box must be four numbers.")
        x1, y1, x2, y2 = (float(v) for v in b)
        if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in (x1, y1, x2, y2)) or x2 <= x1 or y2 <= y1:
            raise BadReview("A box lies outside the page or has no area.")
        out.append((round(x1, 4), round(y1, 4), round(x2, 4), round(y2, 4)))
    return out


def _key(s: SignatureBox) -> tuple[float, float, float, float]:
    return (round(s.x1, 4), round(s.y1, 4), round(s.x2, 4), round(s.y2, 4))


def apply_review(session: Session, doc: Document, page: Page, form: Any, user_id: int | None) -> list[str]:
    """Apply one review form to a page; returns short descriptions of what changed."""
    at = datetime.now(timezone.utc)
    changes: list[str] = []

    def record(
        action: str, kind: str, name: str | None, before: Any, after: Any, label: dict[str, Any]
    ) -> None:
        r = Review(page_id=page.id, user_id=user_id, at=at, action=action, before=before, after=after)
        session.add(r)
        session.flush()
        session.add(
            Correction(page_id=page.id, review_id=r.id, kind=kind, name=name, value=label, created_at=at)
        )

    new_type = (form.get("doc_type") or "").strip()
    if new_type and new_type != doc.doc_type:
        if session.get(DocumentType, new_type) is None:
            raise BadReview(f"Unknown document type {new_type!r}.")
        record(
            "doc_type", "doc_type", None, {"label": doc.doc_type}, {"label": new_type}, {"label": new_type}
        )
        doc.doc_type = new_type
        page.doc_type = new_type
        changes.append(f"type → {new_type}")

    if form.get("boxes"):
        wanted = parse_boxes(form["boxes"])
        standing = [b for b in page.signatures if not b.removed]
        have = {_key(b): b for b in standing}
        removed = [b for k, b in have.items() if k not in set(wanted)]
        added = [w for w in dict.fromkeys(wanted) if w not in have]
        for b in removed:
            b.removed = True
            session.add(
                Review(
                    page_id=page.id,
                    user_id=user_id,
                    at=at,
                    action="signature_remove",
                    before={"box": list(_key(b))},
                )
            )
        for w in added:
            session.add(
                SignatureBox(
                    page_id=page.id, x1=w[0], y1=w[1], x2=w[2], y2=w[3], score=None, source="reviewer"
                )
            )
            session.add(
                Review(
                    page_id=page.id, user_id=user_id, at=at, action="signature_add", after={"box": list(w)}
                )
            )
        if removed or added:
            final = [list(k) for k in have if k in set(wanted)] + [list(w) for w in added]
            session.add(
                Correction(
                    page_id=page.id,
                    kind="signature",
                    name="page_boxes",
                    value={"boxes": final},
                    created_at=at,
                )
            )
            page.signature_count = len(final)
            session.flush()
            doc.signature_count = int(
                session.scalar(
                    select(func.count())
                    .select_from(SignatureBox)
                    .join(Page, Page.id == SignatureBox.page_id)
                    .where(Page.document_id == doc.id, ~SignatureBox.removed)
                )
                or 0
            )
            changes.append(f"+{len(added)}/-{len(removed)} signature boxes")

    fields = {f.name: f for f in page.fields}
    for key in form:
        if not key.startswith("field:"):
            continue
        name = key[len("field:") :]
        row = fields.get(name)
        value = form[key].strip()[:MAX_VALUE]
        if row is None or (row.value or "") == value:
            continue
        record("field", "field", name, {"value": row.value}, {"value": value}, {"value": value})
        row.value, row.source, row.confidence = value, "reviewer", 1.0
        changes.append(f"field {name}")
    new_name = (form.get("new_field_name") or "").strip()[:100]
    new_value = (form.get("new_field_value") or "").strip()[:MAX_VALUE]
    if new_name and new_value:
        if new_name in fields:
            raise BadReview(f"Field {new_name!r} already exists; edit it in its row.")
        session.add(
            FieldRow(
                page_id=page.id,
                name=new_name,
                value=new_value,
                value_type="str",
                confidence=1.0,
                source="reviewer",
            )
        )
        record("field", "field", new_name, None, {"value": new_value}, {"value": new_value})
        changes.append(f"field {new_name} added")

    note = (form.get("note") or "").strip()[:MAX_VALUE] or None
    if not changes:
        session.add(Review(page_id=page.id, user_id=user_id, at=at, action="approve", note=note))
    elif note:
        session.add(Review(page_id=page.id, user_id=user_id, at=at, action="note", note=note))
    doc.reviewed_at = at
    return changes
