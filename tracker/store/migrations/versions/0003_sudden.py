"""An index of the snapshots flagged SUDDEN, so `tracker status` lists them without a scan.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Partial: only the few flagged rows are indexed (SQLite and PostgreSQL both take it).
    op.create_index(
        "ix_snapshot_sudden",
        "snapshot",
        ["ts"],
        sqlite_where=sa.text("(flags & 2) != 0"),
        postgresql_where=sa.text("(flags & 2) <> 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_snapshot_sudden", table_name="snapshot")
