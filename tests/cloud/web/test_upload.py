"""Upload refusals (each bad file gets its own message) and, where the models exist, a real read."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from cloud.web.jobs import UploadRefused, check_file


def pdf_bytes(pages: int) -> bytes:
    imgs = [Image.new("RGB", (300, 400), "white") for _ in range(pages)]
    buf = io.BytesIO()
    imgs[0].save(buf, "PDF", save_all=True, append_images=imgs[1:])
    return buf.getvalue()


def encrypted_pdf() -> bytes:
    pypdf = pytest.importorskip("pypdf", reason="pypdf (dev extra) builds the encrypted PDF")
    w = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf_bytes(1))))
    w.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def png_bytes() -> bytes:
    ok, buf = cv2.imencode(".png", np.full((200, 150, 3), 255, np.uint8))
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("notes.pdf", lambda: b"just some text, not a document\n" * 10, "Not a PDF or an image"),
        ("locked.pdf", encrypted_pdf, "encrypted"),
        ("broken.pdf", lambda: b"%PDF-1.7\n" + b"\x00garbage" * 200, "corrupt"),
        ("broken.png", lambda: png_bytes()[:60], "corrupt"),
        ("long.pdf", lambda: pdf_bytes(4), "Too many pages"),
        ("empty.pdf", lambda: b"", "empty"),
    ],
)
def test_given_a_bad_file_when_checked_then_it_is_refused_with_its_own_reason(
    tmp_path: Path, name, make, message
):
    p = tmp_path / name
    p.write_bytes(make())
    with pytest.raises(UploadRefused, match=message):
        check_file(p, max_mb=5, max_pages=3)


def test_given_a_file_over_the_size_limit_when_checked_then_it_is_refused_as_too_large(tmp_path: Path):
    p = tmp_path / "big.png"
    p.write_bytes(png_bytes() + b"\x00" * 1_200_000)
    with pytest.raises(UploadRefused, match="too large"):
        check_file(p, max_mb=1, max_pages=3)


def test_given_a_good_pdf_when_checked_then_its_pages_are_counted(tmp_path: Path):
    p = tmp_path / "ok.pdf"
    p.write_bytes(pdf_bytes(2))
    assert check_file(p, max_mb=5, max_pages=3) == ("pdf", 2)


def test_given_an_admin_when_uploading_an_encrypted_pdf_then_the_page_says_so_and_nothing_is_queued(
    app, as_role
):
    client, csrf = as_role("admin")
    r = client.post(
        "/upload",
        data={"csrf_token": csrf, "file": (io.BytesIO(encrypted_pdf()), "locked.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    body = r.data.decode()
    assert r.status_code == 200
    assert "locked.pdf: The PDF is encrypted" in body
    assert 'id="job"' not in body


def test_given_the_models_when_an_admin_uploads_a_pdf_then_its_pages_become_documents(app, as_role):
    from cloud.web.upload import uploads

    with app.app_context():
        reason = uploads(app).unavailable()
    if reason:
        pytest.skip(f"upload pipeline unavailable: {reason}")
    client, csrf = as_role("admin")
    r = client.post(
        "/upload",
        data={"csrf_token": csrf, "file": (io.BytesIO(pdf_bytes(2)), "two.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code in (302, 303)
    job = re.search(r"job=([0-9a-f]+)", r.headers["Location"])
    assert job
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status = client.get(f"/upload/{job.group(1)}/status").get_json()
        if status["state"] in ("done", "failed"):
            break
        time.sleep(0.5)
    assert status["state"] == "done", status
    assert status["documents"]
    page = client.get(status["documents"][0]["url"]).data.decode()
    assert "page 2" in page


def test_given_a_body_over_the_request_limit_when_uploaded_then_the_page_says_too_large(app, as_role):
    client, csrf = as_role("admin")
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    try:
        r = client.post(
            "/upload",
            data={"csrf_token": csrf, "file": (io.BytesIO(b"%PDF-1.7\n" + b"0" * 80_000), "huge.pdf")},
            content_type="multipart/form-data",
            follow_redirects=True,
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert r.status_code == 200
    assert "too large" in r.data.decode()
