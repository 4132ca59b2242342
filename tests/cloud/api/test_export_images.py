"""Export as CSV/JSON (streamed, filtered) and page images by content address."""

from __future__ import annotations

import csv
import hashlib
import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from cloud.db.engine import session_scope
from cloud.db.write import upsert_results
from tests.cloud.appsupport import api_token, device_token
from tests.cloud.factories import make_result

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def viewer(app: Flask, engine: Engine) -> FlaskClient:
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = "Bearer " + api_token(engine, "viewer")
    return c


def test_given_a_filter_then_csv_and_json_exports_hold_exactly_the_matching_rows(
    app: Flask, engine: Engine
) -> None:
    with session_scope(engine) as s:
        upsert_results(s, [make_result(i, doc_type="contract" if i % 2 else "invoice") for i in range(1201)])
    c = viewer(app, engine)
    r = c.get("/api/v1/documents/export?format=csv&type=contract")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    assert r.is_streamed
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert len(rows) == 600 and {x["doc_type"] for x in rows} == {"contract"}
    assert rows[0]["captured_at"] > rows[-1]["captured_at"]
    j = c.get("/api/v1/documents/export?format=json&type=invoice").get_json()
    assert (
        len(j) == 601
        and j[0]["doc_type"] == "invoice"
        and set(j[0]) >= {"id", "site", "device", "signature_count"}
    )
    assert c.get("/api/v1/documents/export?format=xml").status_code == 400
    empty = c.get("/api/v1/documents/export?format=json&site=nowhere").get_json()
    assert empty == []


def test_given_a_device_upload_then_it_is_verified_stored_once_and_served(app: Flask, engine: Engine) -> None:
    dev = {"Authorization": "Bearer " + device_token(engine)}
    c = app.test_client()
    sha = hashlib.sha256(PNG).hexdigest()
    assert c.put(f"/api/v1/images/{sha}", data=PNG, headers=dev).status_code == 201
    again = c.put(f"/api/v1/images/{sha}", data=PNG, headers=dev)
    assert again.status_code == 200 and again.get_json()["stored"] is False
    # Wrong hash, not an image, bad address, empty.
    assert c.put(f"/api/v1/images/{'0' * 64}", data=PNG, headers=dev).status_code == 422
    text = b"hello, not an image"
    assert (
        c.put(f"/api/v1/images/{hashlib.sha256(text).hexdigest()}", data=text, headers=dev).status_code == 415
    )
    assert c.put("/api/v1/images/NOTHEX", data=PNG, headers=dev).status_code == 400
    assert (
        c.put(f"/api/v1/images/{hashlib.sha256(b'').hexdigest()}", data=b"", headers=dev).status_code == 400
    )
    v = viewer(app, engine)
    got = v.get(f"/api/v1/images/{sha}")
    assert got.status_code == 200 and got.data == PNG and got.mimetype == "image/png"
    assert v.get(f"/api/v1/images/{'1' * 64}").status_code == 404


def test_given_an_image_over_the_limit_then_413_and_nothing_stored(
    engine: Engine, db_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from tests.cloud.appsupport import make_app

    app = make_app(engine, db_url, tmp_path, max_image_mb=0.001)
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * 5000
    sha = hashlib.sha256(big).hexdigest()
    r = app.test_client().put(
        f"/api/v1/images/{sha}", data=big, headers={"Authorization": "Bearer " + device_token(engine)}
    )
    assert r.status_code == 413
    assert not list((tmp_path / "images").rglob(sha))


def test_given_a_thumbnail_then_it_is_served_until_the_full_image_arrives(app: Flask, engine: Engine) -> None:
    import cv2
    import numpy as np

    dev = {"Authorization": "Bearer " + device_token(engine)}
    thumb_hdr = {**dev, "X-Signet-Variant": "thumbnail"}
    c, v = app.test_client(), viewer(app, engine)
    sha = hashlib.sha256(PNG).hexdigest()  # the full page's address
    ok, jpeg = cv2.imencode(".jpg", np.full((40, 30, 3), 200, np.uint8))
    assert ok
    r = c.put(f"/api/v1/images/{sha}", data=jpeg.tobytes(), headers=thumb_hdr)
    assert r.status_code == 201 and r.get_json()["variant"] == "thumbnail"
    got = v.get(f"/api/v1/images/{sha}")
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert got.headers["X-Signet-Variant"] == "thumbnail" and "immutable" not in got.headers["Cache-Control"]
    # Still checked: an image, a known variant.
    other = "ab" * 32
    assert c.put(f"/api/v1/images/{other}", data=b"not an image", headers=thumb_hdr).status_code == 415
    bad = {**dev, "X-Signet-Variant": "poster"}
    assert c.put(f"/api/v1/images/{sha}", data=PNG, headers=bad).status_code == 400
    # The full image supersedes the thumbnail; a late thumbnail does not replace it.
    assert c.put(f"/api/v1/images/{sha}", data=PNG, headers=dev).status_code == 201
    assert c.put(f"/api/v1/images/{sha}", data=jpeg.tobytes(), headers=thumb_hdr).status_code == 200
    got = v.get(f"/api/v1/images/{sha}")
    assert got.data == PNG and got.headers["X-Signet-Variant"] == "full"
