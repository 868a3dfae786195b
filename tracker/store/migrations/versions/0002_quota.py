"""Quota budgets per credential.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota",
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column("quota_limit", sa.Integer, nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("window_end", sa.BigInteger, nullable=False),
        sa.Column("used", sa.Integer, nullable=False),
        sa.Column("parked_until", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("quota")
