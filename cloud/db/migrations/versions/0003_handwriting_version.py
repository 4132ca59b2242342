"""pages name the handwriting word model that filtered their text

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null for the pages stored before: their results did not say, and for camera pages, which
    # the model does not look at.
    op.add_column("pages", sa.Column("handwriting_version", sa.String(length=320), nullable=True))


def downgrade() -> None:
    op.drop_column("pages", "handwriting_version")
