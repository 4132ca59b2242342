"""indexes matching the (sort key, id) cursors of the documents list

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (signature_count, captured_at, id) could not serve ORDER BY signature_count, id.
    op.drop_index("ix_documents_sigs_captured", table_name="documents")
    op.create_index("ix_documents_sigs_id", "documents", ["signature_count", "id"])
    op.create_index("ix_documents_conf_id", "documents", ["type_confidence", "id"])
    op.create_index("ix_documents_pages_id", "documents", ["page_count", "id"])


def downgrade() -> None:
    op.drop_index("ix_documents_pages_id", table_name="documents")
    op.drop_index("ix_documents_conf_id", table_name="documents")
    op.drop_index("ix_documents_sigs_id", table_name="documents")
    op.create_index("ix_documents_sigs_captured", "documents", ["signature_count", "captured_at", "id"])
