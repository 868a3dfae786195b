"""The distributed mode: slots, dispatched messages, workers seen; TimescaleDB when present.

The snapshot table becomes a compressed hypertable only when the server offers the
`timescaledb` extension; elsewhere (SQLite, plain PostgreSQL) that step is skipped.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slot",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("every", sa.Integer, nullable=False),
        sa.Column("next_slot", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "dispatch",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("slot", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("part", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("targets", sa.Integer, nullable=False),
        sa.Column("sent", sa.BigInteger, nullable=False),
        sa.Column("done", sa.BigInteger, nullable=True),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False),
    )
    op.create_table(
        "worker",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("started", sa.BigInteger, nullable=False),
        sa.Column("seen", sa.BigInteger, nullable=False),
        sa.Column("messages", sa.Integer, nullable=False),
    )
    if timescale_available():
        _hypertable()


def timescale_available() -> bool:
    """Whether this server offers the timescaledb extension (never on SQLite)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    found = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).first()
    return found is not None


def _hypertable() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    # Chunks of a week of `ts` (integer seconds: 604800), compressed per series after 30 days.
    op.execute(
        "SELECT create_hypertable('snapshot', 'ts', "
        "chunk_time_interval => 604800, migrate_data => true, if_not_exists => true)"
    )
    op.execute(
        "ALTER TABLE snapshot SET (timescaledb.compress, "
        "timescaledb.compress_segmentby = 'series_id', timescaledb.compress_orderby = 'ts')"
    )
    # `ts` is integer seconds: the policy needs to know what "now" is in that unit.
    op.execute(
        "CREATE OR REPLACE FUNCTION tracker_epoch_now() RETURNS bigint LANGUAGE SQL STABLE AS "
        "$$ SELECT extract(epoch FROM now())::bigint $$"
    )
    op.execute("SELECT set_integer_now_func('snapshot', 'tracker_epoch_now', true)")
    op.execute(
        "SELECT add_compression_policy('snapshot', "
        "compress_after => 2592000::bigint, if_not_exists => true)"
    )


def downgrade() -> None:
    op.drop_table("worker")
    op.drop_table("dispatch")
    op.drop_table("slot")
