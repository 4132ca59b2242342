"""The admin dashboard: server-rendered pages (Jinja, autoescaped) on one blueprint.

Pages: fleet, documents, document, review queue, aggregates, clients, upload. Charts are drawn
by uPlot, installed from the npm registry and served from ``static/vendor`` (never a CDN).
OCR text and fields are untrusted: templates never mark data safe, and chart data travels as
JSON through ``tojson``.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web"
)

NAV = [
    ("web.fleet", "Fleet"),
    ("web.documents", "Documents"),
    ("web.review", "Review"),
    ("web.aggregates", "Aggregates"),
    ("web.clients", "Clients"),
    ("web.upload", "Upload"),
]

# Routes register themselves on ``bp`` when their modules are imported.
from cloud.web import pages, review, upload  # noqa: E402, F401
