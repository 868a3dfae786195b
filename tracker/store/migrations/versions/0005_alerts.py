"""Alerts: each (rule, series) episode, the outbox of due alerts, the delivery log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_state",
        sa.Column("rule", sa.String(100), primary_key=True),
        sa.Column("series", sa.String(400), primary_key=True),
        sa.Column("active", sa.Integer, nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("mark", sa.String(100), nullable=False),
        sa.Column("changed", sa.BigInteger, nullable=False),
        sa.Column("fired", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("series", sa.String(400), nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("destination", sa.String(200), nullable=False),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("message", sa.String, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_try", sa.BigInteger, nullable=False),
        sa.Column("claimed", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("rule", "series", "episode", "destination", name="uq_alert_once"),
    )
    op.create_index("ix_alert_outbox_due", "alert_outbox", ["status", "next_try"])
    op.create_table(
        "alert_delivery",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("outbox_id", sa.Integer, nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("series", sa.String(400), nullable=False),
        sa.Column("destination", sa.String(200), nullable=False),
        sa.Column("message", sa.String, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("detail", sa.String, nullable=False),
    )
    op.create_index("ix_alert_delivery_at", "alert_delivery", ["at"])


def downgrade() -> None:
    for table in ("alert_delivery", "alert_outbox", "alert_state"):
        op.drop_table(table)
