"""The cloud's tables, as SQLAlchemy 2 typed models (one schema for SQLite and PostgreSQL).

A *page* is one Result from a device (``result_id`` is the idempotency key). A *document* groups
the pages of one source file (a multi-page PDF from a hot folder); a camera capture or a single
image is a document of one page. Document rows carry the aggregates the dashboard filters and
sorts on (type, signatures, needs review), so listing never has to scan pages.

The full-text index over OCR text is not mapped here: it is an FTS5 table on SQLite and a
generated ``tsvector`` column on PostgreSQL, both made by the migrations and used only through
``cloud.db.search``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cloud.db.types import JsonType, UTCDateTime
from edge.contract import utcnow

# Named constraints so migrations can alter them on both backends.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("admin", "reviewer", "viewer")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JsonType, list[Any]: JsonType}


# -- fleet ----------------------------------------------------------------------------------


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(200), primary_key=True, doc="Site name as devices report it.")
    title: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"), index=True)
    token_hash: Mapped[str | None] = mapped_column(
        String(128), unique=True, doc="sha256 of the device token."
    )
    description: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime | None]
    online: Mapped[bool] = mapped_column(default=False)
    status_at: Mapped[datetime | None]
    versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_health: Mapped[dict[str, Any] | None]
    health_at: Mapped[datetime | None]
    outbox_backlog: Mapped[int] = mapped_column(default=0)
    revoked_at: Mapped[datetime | None]

    site: Mapped[Site | None] = relationship()


# -- documents and what was read on them ----------------------------------------------------


class DocumentType(Base):
    __tablename__ = "document_types"

    label: Mapped[str] = mapped_column(String(50), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    expects_signature: Mapped[bool] = mapped_column(default=False, doc="Unsigned ones go to review.")


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    doc_key: Mapped[str] = mapped_column(String(400), unique=True, doc="device|source uri, or the result id.")
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    source_kind: Mapped[str] = mapped_column(String(20))
    source_uri: Mapped[str] = mapped_column(String(2048))
    captured_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    page_count: Mapped[int] = mapped_column(default=0)
    expected_pages: Mapped[int | None]
    doc_type: Mapped[str] = mapped_column(ForeignKey("document_types.label"))
    type_confidence: Mapped[float] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(default=False)
    signature_count: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default="ok")
    reviewed_at: Mapped[datetime | None]

    pages: Mapped[list[Page]] = relationship(back_populates="document", order_by="Page.page_index")

    __table_args__ = (
        Index("ix_documents_captured", "captured_at", "id"),
        Index("ix_documents_site_captured", "site_id", "captured_at", "id"),
        Index("ix_documents_device_captured", "device_id", "captured_at", "id"),
        Index("ix_documents_type_captured", "doc_type", "captured_at", "id"),
        Index("ix_documents_review_captured", "needs_review", "captured_at", "id"),
        # The other sort keys page with (key, id) cursors: indexes in the same order (migration 0002).
        Index("ix_documents_sigs_id", "signature_count", "id"),
        Index("ix_documents_conf_id", "type_confidence", "id"),
        Index("ix_documents_pages_id", "page_count", "id"),
    )


class Page(Base):
    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    result_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    source_kind: Mapped[str] = mapped_column(String(20))
    source_uri: Mapped[str] = mapped_column(String(2048))
    page_index: Mapped[int] = mapped_column(default=0)
    page_count: Mapped[int | None]
    captured_at: Mapped[datetime]
    processed_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    image_sha256: Mapped[str] = mapped_column(String(64), index=True)
    image_width: Mapped[int]
    image_height: Mapped[int]
    image_dpi: Mapped[int | None]
    text: Mapped[str] = mapped_column(Text, default="")
    doc_type: Mapped[str] = mapped_column(ForeignKey("document_types.label"))
    type_confidence: Mapped[float] = mapped_column(Float)
    type_scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    needs_review: Mapped[bool] = mapped_column(default=False)
    signature_count: Mapped[int] = mapped_column(default=0)
    detector_version: Mapped[str] = mapped_column(String(320))
    classifier_version: Mapped[str] = mapped_column(String(320))
    ocr_version: Mapped[str] = mapped_column(String(320))
    handwriting_version: Mapped[str | None] = mapped_column(String(320))  # null: no model looked
    timings_ms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default="ok")
    errors: Mapped[list[Any]] = mapped_column(default=list)

    document: Mapped[Document] = relationship(back_populates="pages")
    signatures: Mapped[list[SignatureBox]] = relationship(back_populates="page", order_by="SignatureBox.id")
    fields: Mapped[list[FieldRow]] = relationship(order_by="FieldRow.name")
    line_items: Mapped[list[LineItemRow]] = relationship(order_by="LineItemRow.position")
    checks: Mapped[list[CheckRow]] = relationship(order_by="CheckRow.id")

    __table_args__ = (Index("ix_pages_captured", "captured_at"),)


class SignatureBox(Base):
    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(10), default="model", doc="model | reviewer")
    removed: Mapped[bool] = mapped_column(default=False, doc="A reviewer said this box is not a signature.")

    page: Mapped[Page] = relationship(back_populates="signatures")


class FieldRow(Base):
    __tablename__ = "fields"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    value: Mapped[str | None] = mapped_column(
        Text, doc="Normalised value as text (ISO date, decimal string)."
    )
    value_type: Mapped[str] = mapped_column(String(10), default="str")
    confidence: Mapped[float] = mapped_column(Float)
    raw: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10), default="model")

    __table_args__ = (Index("ix_fields_name_value", "name", "value"),)


class LineItemRow(Base):
    __tablename__ = "line_items"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    description: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[float | None] = mapped_column(Float)
    unit_price: Mapped[float | None] = mapped_column(Float)
    amount: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float, default=1.0)


class CheckRow(Base):
    __tablename__ = "checks"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    ok: Mapped[bool]
    detail: Mapped[str] = mapped_column(Text, default="")


class CodeRow(Base):
    __tablename__ = "codes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    payload: Mapped[str] = mapped_column(Text)


# -- review ---------------------------------------------------------------------------------


class Review(Base):
    """One reviewer action on a page; the history shown on the document page."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(
        String(30), doc="doc_type | signature_add | signature_remove | field | approve"
    )
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    note: Mapped[str | None] = mapped_column(Text)


class Correction(Base):
    """A corrected label kept for retraining (what the model should have said)."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))
    kind: Mapped[str] = mapped_column(String(20), doc="doc_type | signature | field")
    name: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[dict[str, Any]] = mapped_column(
        doc="The correct label, e.g. {'label': 'invoice'} or a box."
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    exported_at: Mapped[datetime | None]


# -- models ---------------------------------------------------------------------------------


class ModelVersion(Base):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), doc="detector | classifier | ocr")
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    stage: Mapped[str | None] = mapped_column(String(30), doc="candidate | canary | production | archived")
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("name", "version", name="uq_model_versions_name_version"),)


# -- users and access -----------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), doc="admin | reviewer | viewer")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login: Mapped[datetime | None]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(
        String(64), unique=True, doc="sha256 of the token; never the token."
    )
    prefix: Mapped[str] = mapped_column(String(12), doc="First characters, to recognise a token in lists.")
    role: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(100), doc="username, token name or 'cli'.")
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


# -- operations -----------------------------------------------------------------------------


class DeadLetter(Base):
    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    topic: Mapped[str] = mapped_column(String(500))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(
        String(40), doc="device_offline | error_rate | backlog | unsigned_contract"
    )
    key: Mapped[str] = mapped_column(String(300), doc="What it is about; one open alert per (kind, key).")
    severity: Mapped[str] = mapped_column(String(10), default="warning")
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]
    notify_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_alerts_kind_key", "kind", "key"),)
