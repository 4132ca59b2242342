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

# (endpoint, label, lowest role that may open it); entries whose blueprint is not installed are
# left out, so the Models page (registry) and the admin pages (auth) appear when present.
NAV = [
    ("web.fleet", "Fleet", "viewer"),
    ("web.documents", "Documents", "viewer"),
    ("web.review", "Review", "reviewer"),
    ("web.aggregates", "Aggregates", "viewer"),
    ("web.clients", "Clients", "viewer"),
    ("models.page", "Models", "viewer"),
    ("web.upload", "Upload", "admin"),
    ("auth.users", "Users", "admin"),
    ("auth.audit_log", "Audit", "admin"),
]

# Routes register themselves on ``bp`` when their modules are imported.
from cloud.web import pages, review, upload  # noqa: E402, F401
