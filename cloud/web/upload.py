"""Upload page: an admin uploads a PDF or image; the cloud reads it with the edge pipeline.

The POST checks the file and queues it (``jobs.Uploads``), then shows a progress bar that polls
``/upload/<job>/status`` (JSON). Every refusal is a message on the page, never a 500.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask, current_app, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from cloud.web import bp, deps
from cloud.web.jobs import Job, UploadRefused, Uploads

log = logging.getLogger(__name__)


def uploads(app: Flask | None = None) -> Uploads:
    """The app's upload runner, made on first use (it loads the models only when a job runs)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    ext = app.extensions.setdefault("signet_web", {})
    if "uploads" not in ext:
        web = deps.web_config()
        work = Path(web.images_dir).parent / "uploads"
        ext["uploads"] = Uploads(work, deps.edge_config(), store=_store_for(app))
    return ext["uploads"]  # type: ignore[no-any-return]


def _store_for(app: Flask) -> Any:
    def store(results: list[Any], images: list[bytes], job: Job) -> list[dict[str, str]]:
        from cloud.db.engine import session_scope
        from cloud.db.models import Page
        from cloud.db.write import upsert_results

        with app.app_context():
            for data in images:
                if data:
                    deps.put_image(data)
            with session_scope(app.extensions["signet"].engine) as s:
                upsert_results(s, results)
                s.flush()
                ids = sorted(
                    {
                        d
                        for (d,) in s.query(Page.document_id).filter(
                            Page.result_id.in_([r.result_id for r in results])
                        )
                    }
                )
            with app.test_request_context():
                return [{"url": url_for("web.document", doc_id=d), "label": f"document {d}"} for d in ids]

    return store


@bp.route("/upload", methods=["GET", "POST"])
@deps.require("admin")
def upload() -> str | Response:
    runner = uploads()
    web = deps.web_config()
    if request.method == "POST":
        f = request.files.get("file")
        if f is None or not f.filename:
            flash("Choose a file to upload.", "error")
            return redirect(url_for("web.upload"))
        site = (request.form.get("site") or "upload").strip()[:200] or "upload"
        runner.work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=runner.work_dir, delete=False, suffix=".part") as tmp:
            # Copy at most one byte past the limit: enough to know the file is too large.
            limit = web.max_upload_mb * 1_048_576
            n = 0
            while chunk := f.stream.read(1 << 20):
                n += len(chunk)
                tmp.write(chunk)
                if n > limit:
                    break
            tmp_path = Path(tmp.name)
        try:
            if n > limit:
                raise UploadRefused(f"The file is too large: more than {web.max_upload_mb} MB.")
            job = runner.submit(tmp_path, f.filename, web.max_upload_mb, web.max_upload_pages, site)
        except UploadRefused as exc:
            tmp_path.unlink(missing_ok=True)
            flash(f"{f.filename}: {exc}", "error")
            return redirect(url_for("web.upload"))
        deps.audit("upload", f"upload:{job.id}", {"filename": job.filename, "pages": job.pages})
        return redirect(url_for("web.upload", job=job.id))
    job_id = request.args.get("job")
    return render_template(
        "web/upload.html",
        job=runner.get(job_id) if job_id else None,
        recent=runner.recent(),
        unavailable=runner.unavailable(),
        max_mb=web.max_upload_mb,
        max_pages=web.max_upload_pages,
    )


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> Any:
    """Werkzeug stops reading a body past MAX_CONTENT_LENGTH (even before the CSRF check reads the
    form); on the upload page that becomes the same message as any other refusal."""
    if request.endpoint != "web.upload":
        return exc
    flash(f"The file is too large: the limit is {deps.web_config().max_upload_mb} MB.", "error")
    return redirect(url_for("web.upload"))


@bp.route("/upload/<job_id>/status")
@deps.require("admin")
def upload_status(job_id: str) -> Response:
    job = uploads().get(job_id)
    if job is None:
        return Response('{"error": "no such upload"}', status=404, mimetype="application/json")
    return jsonify(job.public())
