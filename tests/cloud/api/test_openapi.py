"""The served OpenAPI description, checked by schemathesis against the running app.

For every operation schemathesis generates requests from the description (valid and edge-case
parameters) and checks: no 5xx, status codes and content types the description lists, and bodies
that match the response schemas. A modest example count keeps it well under a minute.
"""

from __future__ import annotations

import hashlib

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from cloud.db.engine import session_scope
from cloud.db.write import upsert_results
from tests.cloud.appsupport import api_token, device_token
from tests.cloud.factories import make_result

EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_given_the_openapi_description_then_generated_requests_get_documented_answers(
    app: Flask, engine: Engine
) -> None:
    with session_scope(engine) as s:
        upsert_results(
            s,
            [
                make_result(i, signatures=i % 3, doc_type="contract" if i % 2 else "invoice")
                for i in range(20)
            ],
        )
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32
    sha = hashlib.sha256(png).hexdigest()
    assert (
        app.test_client()
        .put(f"/api/v1/images/{sha}", data=png, headers={"Authorization": "Bearer " + device_token(engine)})
        .status_code
        == 201
    )
    headers = {"Authorization": "Bearer " + api_token(engine, "admin")}

    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 12

    for op in operations:

        @given(case=op.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
