"""The OpenAPI 3 description of /api/v1, written by hand next to the routes it describes.

schemathesis checks it against the running app in tests/cloud/api/test_openapi.py: no 5xx for any
generated request, and every response matches the schema below.
"""

from __future__ import annotations

from typing import Any

from cloud.api import bp
from cloud.api.query import MAX_LIMIT, SORTS
from cloud.auth import public
from edge.contract import DOC_TYPES

NULLABLE_STR = {"type": ["string", "null"]}
DT = {"type": "string", "format": "date-time"}
NULLABLE_DT = {"type": ["string", "null"], "format": "date-time"}
SHA = {"type": "string", "pattern": "^[0-9a-f]{64}$"}

ERROR = {
    "type": "object",
    "required": ["error", "message", "status"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "status": {"type": "integer"}},
}

DOCUMENT = {
    "type": "object",
    "required": [
        "id",
        "site",
        "device",
        "source",
        "captured_at",
        "page_count",
        "doc_type",
        "type_confidence",
        "needs_review",
        "signature_count",
        "status",
    ],
    "properties": {
        "id": {"type": "integer"},
        "site": {"type": "string"},
        "device": {"type": "string"},
        "source": {"type": "object", "properties": {"kind": {"type": "string"}, "uri": {"type": "string"}}},
        "captured_at": DT,
        "received_at": NULLABLE_DT,
        "page_count": {"type": "integer", "minimum": 0},
        "expected_pages": {"type": ["integer", "null"]},
        "doc_type": {"type": "string", "enum": list(DOC_TYPES)},
        "type_confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "needs_review": {"type": "boolean"},
        "signature_count": {"type": "integer", "minimum": 0},
        "status": {"type": "string", "enum": ["ok", "partial", "failed"]},
    },
}

PAGE = {
    "type": "object",
    "required": [
        "id",
        "result_id",
        "page_index",
        "image",
        "text",
        "doc_type",
        "signatures",
        "fields",
        "models",
    ],
    "properties": {
        "id": {"type": "integer"},
        "result_id": {"type": "string", "format": "uuid"},
        "page_index": {"type": "integer"},
        "image": {
            "type": "object",
            "required": ["sha256", "width", "height", "url"],
            "properties": {
                "sha256": SHA,
                "width": {"type": "integer"},
                "height": {"type": "integer"},
                "url": {"type": "string"},
            },
        },
        "text": {"type": "string"},
        "doc_type": {"type": "object", "required": ["label", "confidence", "needs_review"]},
        "signatures": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "box", "source"],
                "properties": {
                    "box": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
                    "score": {"type": ["number", "null"]},
                    "source": {"type": "string", "enum": ["model", "reviewer"]},
                    "removed": {"type": "boolean"},
                },
            },
        },
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "value", "confidence"],
                "properties": {"name": {"type": "string"}, "confidence": {"type": "number"}},
            },
        },
        "line_items": {"type": "array"},
        "checks": {"type": "array"},
        "models": {"type": "object", "required": ["detector", "classifier", "ocr"]},
        "timings_ms": {"type": "object"},
    },
}

DEVICE = {
    "type": "object",
    "required": ["id", "online", "versions", "outbox_backlog"],
    "properties": {
        "id": {"type": "string"},
        "site": NULLABLE_STR,
        "online": {"type": "boolean"},
        "last_seen": NULLABLE_DT,
        "versions": {"type": "object"},
        "outbox_backlog": {"type": "integer"},
        "health": {"type": ["object", "null"]},
    },
}


def _q(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


FILTERS = [
    _q("site", {"type": "string", "maxLength": 200}, "Site id (comma-separated for several)."),
    _q("device", {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}, "Device id."),
    _q("type", {"type": "string", "enum": list(DOC_TYPES)}, "Document type."),
    _q("from", {"type": "string", "format": "date"}, "Captured on or after this date (UTC)."),
    _q("to", {"type": "string", "format": "date"}, "Captured on or before this date (UTC)."),
    _q(
        "min_signatures",
        {"type": "integer", "minimum": 0, "maximum": 10000},
        "At least this many signatures.",
    ),
    _q(
        "max_signatures", {"type": "integer", "minimum": 0, "maximum": 10000}, "At most this many signatures."
    ),
    _q("signed", {"type": "boolean"}, "true: at least one signature; false: none."),
    _q("needs_review", {"type": "boolean"}, "Marked for review by the classifier."),
    _q("status", {"type": "string", "enum": ["ok", "partial", "failed"]}, "Processing status."),
    _q("q", {"type": "string", "maxLength": 500}, "Words that must all appear in the OCR text."),
    _q("sort", {"type": "string", "enum": list(SORTS)}, "Sort key."),
    _q("order", {"type": "string", "enum": ["asc", "desc"]}, "Sort order."),
]
WINDOW = [
    _q("from", {"type": "string", "format": "date"}, "Window start (default 30 days before `to`)."),
    _q("to", {"type": "string", "format": "date"}, "Window end (default now)."),
]


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


COMMON_ERRORS = {"401": _err("No valid session or token."), "403": _err("Role too low.")}


def spec() -> dict[str, Any]:
    """The OpenAPI document (a fresh dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Signet cloud API",
            "version": "1.0.0",
            "description": "Documents read by the Signet fleet.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API token (sgt_...) or device token.",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "signet_session"},
            },
            "schemas": {"Error": ERROR, "Document": DOCUMENT, "Page": PAGE, "Device": DEVICE},
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/api/v1/documents": {
                "get": {
                    "summary": "List documents, filtered and sorted, with cursor pagination.",
                    "operationId": "listDocuments",
                    "parameters": [
                        *FILTERS,
                        _q("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "Page size."),
                        _q(
                            "cursor",
                            {"type": "string", "maxLength": 500},
                            "`next_cursor` of the previous page.",
                        ),
                    ],
                    "responses": {
                        "200": _ok(
                            {
                                "type": "object",
                                "required": ["items", "next_cursor", "limit"],
                                "properties": {
                                    "items": {"type": "array", "items": DOCUMENT},
                                    "next_cursor": NULLABLE_STR,
                                    "limit": {"type": "integer"},
                                },
                            }
                        ),
                        "400": _err("A malformed parameter (named in the message)."),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/api/v1/documents/{doc_id}": {
                "get": {
                    "summary": "One document with its pages, signatures, fields and review history.",
                    "operationId": "getDocument",
                    "parameters": [
                        {
                            "name": "doc_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    ],
                    "responses": {
                        "200": _ok(
                            {
                                "allOf": [
                                    DOCUMENT,
                                    {
                                        "type": "object",
                                        "required": ["pages", "history"],
                                        "properties": {
                                            "pages": {"type": "array", "items": PAGE},
                                            "history": {"type": "array"},
                                        },
                                    },
                                ]
                            }
                        ),
                        "404": _err("No such document."),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/api/v1/documents/export": {
                "get": {
                    "summary": "Export the filtered documents as CSV or JSON (streamed).",
                    "operationId": "exportDocuments",
                    "parameters": [
                        *FILTERS,
                        _q("format", {"type": "string", "enum": ["csv", "json"]}, "Output format."),
                    ],
                    "responses": {
                        "200": {
                            "description": "The rows.",
                            "content": {
                                "text/csv": {"schema": {"type": "string"}},
                                "application/json": {
                                    "schema": {"type": "array", "items": {"type": "object"}}
                                },
                            },
                        },
                        "400": _err("A malformed parameter."),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/api/v1/devices": {
                "get": {
                    "summary": "Devices with their status and last health.",
                    "operationId": "listDevices",
                    "responses": {
                        "200": _ok(
                            {
                                "type": "object",
                                "required": ["items"],
                                "properties": {"items": {"type": "array", "items": DEVICE}},
                            }
                        ),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/api/v1/devices/{device_id}": {
                "get": {
                    "summary": "One device.",
                    "operationId": "getDevice",
                    "parameters": [
                        {
                            "name": "device_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
                        }
                    ],
                    "responses": {"200": _ok(DEVICE), "404": _err("No such device."), **COMMON_ERRORS},
                }
            },
            "/api/v1/sites": {
                "get": {
                    "summary": "Sites with device counts and recent volume.",
                    "operationId": "listSites",
                    "responses": {
                        "200": _ok(
                            {
                                "type": "object",
                                "required": ["items"],
                                "properties": {"items": {"type": "array"}},
                            }
                        ),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/api/v1/aggregates": {
                "get": {
                    "summary": "Volume per day, site and type, signature presence, unsigned-where-expected, stage latency, error rate.",
                    "operationId": "aggregates",
                    "parameters": WINDOW,
                    "responses": {
                        "200": _ok(
                            {
                                "type": "object",
                                "required": ["pages", "per_day", "per_site", "per_type", "stage_latency"],
                                "properties": {
                                    "pages": {"type": "integer"},
                                    "per_day": {"type": "array"},
                                    "signature_presence_rate": {"type": ["number", "null"]},
                                    "error_rate": {"type": ["number", "null"]},
                                    "unsigned_expected_documents": {"type": "integer"},
                                },
                            }
                        ),
                        "400": _err("A malformed window."),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/api/v1/models": {
                "get": {
                    "summary": "Registered model versions and the versions that produced pages in the window.",
                    "operationId": "listModels",
                    "parameters": WINDOW,
                    "responses": {
                        "200": _ok(
                            {
                                "type": "object",
                                "required": ["registered", "in_use"],
                                "properties": {"registered": {"type": "array"}, "in_use": {"type": "array"}},
                            }
                        ),
                        "400": _err("A malformed window."),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/api/v1/alerts": {
                "get": {
                    "summary": "Open alerts (all=true: also resolved ones).",
                    "operationId": "listAlerts",
                    "parameters": [_q("all", {"type": "boolean"}, "Include resolved alerts.")],
                    "responses": {
                        "200": _ok(
                            {
                                "type": "object",
                                "required": ["items"],
                                "properties": {"items": {"type": "array"}},
                            }
                        ),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/api/v1/dead-letters": {
                "get": {
                    "summary": "Messages the ingest could not use, with the reason (admin).",
                    "operationId": "listDeadLetters",
                    "responses": {
                        "200": _ok(
                            {
                                "type": "object",
                                "required": ["items"],
                                "properties": {"items": {"type": "array"}},
                            }
                        ),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/api/v1/images/{sha256}": {
                "get": {
                    "summary": "A page image by content address.",
                    "operationId": "getImage",
                    "parameters": [{"name": "sha256", "in": "path", "required": True, "schema": SHA}],
                    "responses": {
                        "200": {
                            "description": "The image.",
                            "content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}},
                        },
                        "400": _err("Not a sha256 address."),
                        "404": _err("Not uploaded."),
                        **COMMON_ERRORS,
                    },
                },
                "put": {
                    "summary": "Upload a page image (device token); idempotent.",
                    "operationId": "putImage",
                    "security": [{"bearer": []}],
                    "parameters": [{"name": "sha256", "in": "path", "required": True, "schema": SHA}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    "responses": {
                        "200": _ok({"type": "object", "required": ["sha256", "stored"]}, "Already stored."),
                        "201": _ok({"type": "object", "required": ["sha256", "stored"]}, "Stored."),
                        "400": _err("Bad address or empty body."),
                        "413": _err("Too large."),
                        "415": _err("Not an image."),
                        "422": _err("Body does not hash to the address."),
                        **COMMON_ERRORS,
                    },
                },
            },
        },
    }


@bp.get("/openapi.json")
@public
def openapi() -> Any:
    return spec()
