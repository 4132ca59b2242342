"""Storing results: idempotent by result_id, children kept, documents aggregate their pages."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import Engine, func, select

from cloud.db import session_scope
from cloud.db.models import DeadLetter, Device, Document, FieldRow, Page, SignatureBox, Site
from cloud.db.search import search_pages
from cloud.db.write import add_dead_letter, record_health, record_status, upsert_results
from edge import contract as c
from tests.cloud.factories import T0, make_result


def test_given_a_batch_when_upserted_twice_then_each_result_is_stored_once(engine: Engine) -> None:
    batch = [make_result(i) for i in range(5)]
    with session_scope(engine) as s:
        assert upsert_results(s, batch) == 5
    with session_scope(engine) as s:
        assert upsert_results(s, [*batch, make_result(5)]) == 1
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Page)) == 6
        assert s.scalar(select(func.count()).select_from(Document)) == 6
        assert s.scalar(select(func.count()).select_from(SignatureBox)) == 6
        assert {d.id for d in s.scalars(select(Device))} == {"kiosk-01"}
        assert {x.id for x in s.scalars(select(Site))} == {"paris-01"}


def test_given_a_duplicate_inside_one_batch_then_it_is_stored_once(engine: Engine) -> None:
    r = make_result(1)
    with session_scope(engine) as s:
        assert upsert_results(s, [r, r]) == 1


def test_given_two_batches_in_one_transaction_then_both_are_stored_and_a_retry_adds_nothing(
    engine: Engine,
) -> None:
    # PostgreSQL stages rows in a session's temporary table: a second batch in the same
    # transaction must not see the first one's staged rows.
    first, second = [make_result(i) for i in range(3)], [make_result(i) for i in range(3, 7)]
    with session_scope(engine) as s:
        assert upsert_results(s, first) == 3
        assert upsert_results(s, second) == 4
        assert upsert_results(s, [*first, *second]) == 0
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Page)) == 7
        assert s.scalar(select(func.count()).select_from(SignatureBox)) == 7
        assert s.scalar(select(func.count()).select_from(FieldRow)) == 14


def test_given_a_rolled_back_batch_then_the_same_batch_is_stored_by_the_next_transaction(
    engine: Engine,
) -> None:
    batch = [make_result(i) for i in range(4)]
    try:
        with session_scope(engine) as s:
            assert upsert_results(s, batch) == 4
            raise RuntimeError("the commit never happens")
    except RuntimeError:
        pass
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Page)) == 0
        assert upsert_results(s, batch) == 4
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Page)) == 4


def test_given_a_stored_result_then_its_fields_signatures_and_times_read_back(engine: Engine) -> None:
    r = make_result(7, signatures=2)
    with session_scope(engine) as s:
        upsert_results(s, [r])
    with session_scope(engine) as s:
        page = s.scalars(select(Page).where(Page.result_id == r.result_id)).one()
        assert page.captured_at == r.captured_at
        assert page.captured_at.tzinfo is not None
        assert [round(b.x1, 3) for b in page.signatures] == [0.1, 0.11]
        assert {f.name: f.value for f in page.fields} == {"number": "F-00007", "total": "1234.50"}
        assert page.line_items[0].amount == 10.0
        assert page.checks[0].ok is True
        assert page.detector_version == "sigdet:1.0.0"
        assert page.timings_ms == {"detect": 31.0, "ocr": 420.5}


def test_given_pages_of_one_pdf_then_they_form_one_document_with_summed_counts(engine: Engine) -> None:
    pages = [
        make_result(
            i,
            uri="folder:///in/contract.pdf",
            page_index=i,
            page_count=3,
            signatures=i % 2,
            needs_review=(i == 2),
            doc_type="contract",
        )
        for i in range(3)
    ]
    with session_scope(engine) as s:
        upsert_results(s, pages[:2])
    with session_scope(engine) as s:
        upsert_results(s, pages)  # the third arrives later, the first two again
    with session_scope(engine) as s:
        doc = s.scalars(select(Document)).one()
        assert doc.page_count == 3
        assert doc.signature_count == 1
        assert doc.needs_review is True
        assert doc.doc_type == "contract"
        assert [p.page_index for p in doc.pages] == [0, 1, 2]


def test_given_text_with_words_when_searched_then_every_word_must_match(engine: Engine) -> None:
    with session_scope(engine) as s:
        upsert_results(
            s,
            [
                make_result(1, text="Contrat de bail signé à Paris"),
                make_result(2, text="Invoice for widgets, Paris office"),
                make_result(3, text="Facture électricité Lyon"),
            ],
        )
    with session_scope(engine) as s:
        assert {p.text for p in search_pages(s, "paris")} == {
            "Contrat de bail signé à Paris",
            "Invoice for widgets, Paris office",
        }
        assert [p.text for p in search_pages(s, "Paris widgets")] == ["Invoice for widgets, Paris office"]
        # Hostile queries are just words (or nothing): no FTS syntax error, no SQL.
        assert search_pages(s, "\"'; DROP TABLE pages; --") == []
        assert search_pages(s, "NEAR(( *") == []
        assert s.scalar(select(func.count()).select_from(Page)) == 3


def test_given_status_and_health_then_device_shows_latest_and_ignores_older(engine: Engine) -> None:
    with session_scope(engine) as s:
        record_status(
            s,
            c.Status(
                device_id="kiosk-02", state="online", at=T0, site="lyon", versions={"software": "0.1.0"}
            ),
        )
        record_health(
            s, c.Health(device_id="kiosk-02", at=T0 + timedelta(seconds=30), fps=12.5, outbox_backlog=4)
        )
        record_status(s, c.Status(device_id="kiosk-02", state="offline", at=T0 - timedelta(minutes=5)))
    with session_scope(engine) as s:
        dev = s.get(Device, "kiosk-02")
        assert dev is not None
        assert dev.online is True
        assert dev.site_id == "lyon"
        assert dev.versions == {"software": "0.1.0"}
        assert dev.outbox_backlog == 4
        assert dev.last_health is not None and dev.last_health["fps"] == 12.5
        assert dev.last_seen == T0 + timedelta(seconds=30)
    with session_scope(engine) as s:
        record_status(s, c.Status(device_id="kiosk-02", state="offline", at=T0 + timedelta(minutes=1)))
    with session_scope(engine) as s:
        dev = s.get(Device, "kiosk-02")
        assert dev is not None and dev.online is False


def test_given_a_bad_message_then_the_dead_letter_keeps_payload_and_reason(engine: Engine) -> None:
    with session_scope(engine) as s:
        add_dead_letter(s, "signet/v1/kiosk-01/result", b"\xff not json", "not JSON: invalid start byte")
    with session_scope(engine) as s:
        dl = s.scalars(select(DeadLetter)).one()
        assert dl.payload == b"\xff not json"
        assert "not JSON" in dl.reason


def test_given_result_ids_then_fields_rows_are_per_page(engine: Engine) -> None:
    rs = [make_result(-1) for _ in range(3)]
    assert len({r.result_id for r in rs}) == 3
    with session_scope(engine) as s:
        upsert_results(s, rs)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(FieldRow)) == 6
        assert all(isinstance(p.result_id, uuid.UUID) for p in s.scalars(select(Page)))
