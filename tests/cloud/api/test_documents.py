"""GET /api/v1/documents: filters, sorting, cursor pagination; one document with everything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from cloud.db.engine import session_scope
from cloud.db.models import Page, Review, User
from cloud.db.write import upsert_results
from tests.cloud.appsupport import api_token
from tests.cloud.factories import T0, make_result


def seed(engine: Engine) -> None:
    rs = []
    for i in range(30):
        rs.append(
            make_result(
                i,
                device="kiosk-01" if i % 2 == 0 else "scan-02",
                site="paris-01" if i % 3 else "lyon-01",
                doc_type=["invoice", "contract", "letter"][i % 3],
                signatures=i % 4,
                needs_review=(i % 5 == 0),
                captured_at=T0 + timedelta(hours=i),
                text=f"page {i} " + ("bail commercial" if i % 7 == 0 else "facture"),
                status="partial" if i == 29 else "ok",
                handwriting=(i % 4 == 3),  # the scans a handwriting model looked at
            )
        )
    with session_scope(engine) as s:
        upsert_results(s, rs)


@pytest.fixture
def client(app: Flask, engine: Engine) -> FlaskClient:
    seed(engine)
    token = api_token(engine, "viewer")
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return c


def ids(resp: object) -> list[int]:
    return [d["id"] for d in resp.get_json()["items"]]  # type: ignore[attr-defined]


def test_given_no_filter_then_newest_first_with_a_cursor_to_the_rest(client: FlaskClient) -> None:
    r = client.get("/api/v1/documents?limit=10")
    assert r.status_code == 200
    body = r.get_json()
    captured = [d["captured_at"] for d in body["items"]]
    assert captured == sorted(captured, reverse=True) and len(captured) == 10
    assert body["next_cursor"]


def test_given_a_cursor_walk_then_every_document_comes_once_in_order(client: FlaskClient) -> None:
    for sort in ("captured_at", "signature_count", "type_confidence", "page_count"):
        for order in ("asc", "desc"):
            seen: list[dict[str, object]] = []
            url = f"/api/v1/documents?limit=7&sort={sort}&order={order}"
            cursor = None
            for _ in range(10):
                r = client.get(url + (f"&cursor={cursor}" if cursor else ""))
                assert r.status_code == 200, r.get_json()
                body = r.get_json()
                seen.extend(body["items"])
                cursor = body["next_cursor"]
                if not cursor:
                    break
            assert len(seen) == 30 and len({d["id"] for d in seen}) == 30, (sort, order)
            keys = [(d[sort], d["id"]) for d in seen]
            assert keys == sorted(keys, reverse=(order == "desc")), (sort, order)


def test_given_filters_then_only_matching_documents_come_back(client: FlaskClient) -> None:
    all_docs = client.get("/api/v1/documents?limit=100").get_json()["items"]

    def expect(query: str, pred: object) -> None:
        got = set(ids(client.get(f"/api/v1/documents?limit=100&{query}")))
        want = {d["id"] for d in all_docs if pred(d)}  # type: ignore[operator]
        assert got == want and want, query

    expect("site=lyon-01", lambda d: d["site"] == "lyon-01")
    expect("device=scan-02", lambda d: d["device"] == "scan-02")
    expect("type=contract", lambda d: d["doc_type"] == "contract")
    expect("type=contract,letter", lambda d: d["doc_type"] in ("contract", "letter"))
    expect("signed=false", lambda d: d["signature_count"] == 0)
    expect("signed=true", lambda d: d["signature_count"] > 0)
    expect("min_signatures=2&max_signatures=2", lambda d: d["signature_count"] == 2)
    expect("needs_review=true", lambda d: d["needs_review"])
    expect("status=partial", lambda d: d["status"] == "partial")
    expect("from=2026-11-02&to=2026-11-02", lambda d: d["captured_at"].startswith("2026-11-02"))
    expect(
        "q=bail+commercial",
        lambda d: d["source"]["uri"] in {f"folder:///srv/in/{i}.pdf" for i in (0, 7, 14, 21, 28)},
    )
    expect(
        "site=lyon-01&type=invoice&signed=true",
        lambda d: d["site"] == "lyon-01" and d["doc_type"] == "invoice" and d["signature_count"] > 0,
    )


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=abc",
        "sort=evil",
        "order=sideways",
        "signed=maybe",
        "from=yesterday",
        "type=poem",
        "device=BAD!",
        "cursor=%%%",
        "min_signatures=-1",
        "status=fine",
    ],
)
def test_given_a_malformed_parameter_then_400_names_it(client: FlaskClient, query: str) -> None:
    r = client.get(f"/api/v1/documents?{query}")
    assert r.status_code == 400
    name = query.split("=")[0]
    assert name in r.get_json()["message"]


def test_given_a_cursor_from_another_sort_then_it_is_refused(client: FlaskClient) -> None:
    cursor = client.get("/api/v1/documents?limit=5").get_json()["next_cursor"]
    r = client.get(f"/api/v1/documents?limit=5&sort=signature_count&cursor={cursor}")
    assert r.status_code == 400


def test_given_a_document_then_pages_signatures_fields_and_history_come_with_it(
    client: FlaskClient, engine: Engine
) -> None:
    doc_id = ids(client.get("/api/v1/documents?limit=1&min_signatures=3"))[0]
    with session_scope(engine) as s:
        page = s.query(Page).filter(Page.document_id == doc_id).one()
        user = s.query(User).filter(User.username == "reviewer").one()
        s.add(
            Review(
                page_id=page.id,
                user_id=user.id,
                at=T0,
                action="doc_type",
                before={"label": "letter"},
                after={"label": "invoice"},
            )
        )
    r = client.get(f"/api/v1/documents/{doc_id}")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["signature_count"] == 3
    (p,) = doc["pages"]
    assert len(p["signatures"]) == 3 and p["signatures"][0]["source"] == "model"
    assert {f["name"] for f in p["fields"]} == {"number", "total"}
    assert p["image"]["url"] == f"/api/v1/images/{p['image']['sha256']}"
    assert p["models"]["detector"] == "sigdet:1.0.0"
    assert p["models"]["handwriting"] == "signet-handwriting:1.0.0"
    assert doc["history"][0]["user"] == "reviewer" and doc["history"][0]["after"] == {"label": "invoice"}
    assert client.get("/api/v1/documents/999999").status_code == 404
    # An id past a 64-bit integer names no row: 404, not an overflow in the driver.
    assert client.get(f"/api/v1/documents/{2**64 + 5}").status_code == 404


def test_given_devices_sites_aggregates_and_models_then_they_describe_the_data(client: FlaskClient) -> None:
    devices = client.get("/api/v1/devices").get_json()["items"]
    assert {d["id"] for d in devices} == {"kiosk-01", "scan-02"}
    assert client.get("/api/v1/devices/kiosk-01").get_json()["id"] == "kiosk-01"
    assert client.get("/api/v1/devices/nope").status_code == 404
    sites = {s["id"]: s for s in client.get("/api/v1/sites").get_json()["items"]}
    assert set(sites) == {"paris-01", "lyon-01"}
    agg = client.get("/api/v1/aggregates?from=2026-10-30&to=2026-11-05").get_json()
    assert agg["pages"] == 30
    assert sum(d["pages"] for d in agg["per_day"]) == 30
    assert {t["doc_type"]: t["pages"] for t in agg["per_type"]} == {
        "invoice": 10,
        "contract": 10,
        "letter": 10,
    }
    assert agg["signature_presence_rate"] == pytest.approx(22 / 30)
    assert agg["error_rate"] == pytest.approx(1 / 30)
    # contracts expect a signature: i % 3 == 1 and i % 4 == 0 -> i in {4, 16, 28}
    assert agg["unsigned_expected_documents"] == 3
    assert agg["stage_latency"]["ocr"]["median_ms"] == 420.5
    models = client.get("/api/v1/models?from=2026-10-30&to=2026-11-05").get_json()
    assert {"kind": "detector", "version": "sigdet:1.0.0", "pages": 30} in models["in_use"]
    # pages no handwriting model looked at are not counted as a version of it
    assert [m for m in models["in_use"] if m["kind"] == "handwriting"] == [
        {"kind": "handwriting", "version": "signet-handwriting:1.0.0", "pages": 7}
    ]
    assert client.get("/api/v1/aggregates?from=2026-12-01&to=2026-11-01").status_code == 400
