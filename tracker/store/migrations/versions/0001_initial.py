"""The initial schema: series, snapshot, attempt, baseline, source_state, daemon_lock.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("label", sa.String(300), nullable=False),
        sa.Column("labels", sa.String, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("source", "metric", "key", name="uq_series_identity"),
    )
    op.create_index("ix_series_subject", "series", ["subject"])
    # WITHOUT ROWID on SQLite: the (series_id, ts) key is the table's only b-tree, so one
    # series' history is one contiguous range, and no rowid is stored per row.
    op.create_table(
        "snapshot",
        sa.Column("series_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("period", sa.Integer, nullable=True),
        sa.Column("sig", sa.SmallInteger, nullable=True),
        sa.Column("flags", sa.SmallInteger, nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "attempt",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("started", sa.BigInteger, nullable=False),
        sa.Column("finished", sa.BigInteger, nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("targets", sa.Integer, nullable=False),
        sa.Column("stored", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("cause", sa.String, nullable=False),
    )
    op.create_index("ix_attempt_source_started", "attempt", ["source", "started"])
    op.create_table(
        "baseline",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("campaign", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("sig", sa.SmallInteger, nullable=True),
        sa.Column("citation", sa.String, nullable=False),
        sa.UniqueConstraint("campaign", "name", name="uq_baseline_name"),
    )
    op.create_table(
        "sourcestate",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("next_run", sa.BigInteger, nullable=True),
        sa.Column("updated", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "daemonlock",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("started", sa.BigInteger, nullable=False),
        sa.Column("heartbeat", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("daemonlock", "sourcestate", "baseline", "attempt", "snapshot", "series"):
        op.drop_table(table)
