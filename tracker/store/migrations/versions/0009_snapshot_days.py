"""Snapshot rows one to four bytes smaller: the period in days, the figures in `flags`.

A weekly chart's row held `period` = 604800 (three bytes in SQLite, and its header byte) and
`sig`, NULL for most values (a header byte). Now `days` holds the period in whole days (7: one
byte) and `flags` the significant figures above its two flag bits (`flags >> 2`, 0: exact):
`snapshot` went from 20.8 to 17.8 B per sample of the real Netflix import (after 0008, the
whole file from 47.7 to 44.7 B).

Every value keeps what it said: the store reads the period as `days * 86400` and the figures
and flags from the bits of `flags`, NULL where the old columns held NULL (a flags of 0 reads
as NULL: no flag either way). A row the new columns cannot hold exactly (a period that is not
whole days, significant figures outside 1 .. 8191, flag bits beyond the two) stops the upgrade
before anything is changed, saying how many and which: tracker's own collectors and
importers never wrote one.
`downgrade` writes the three columns back.

SQLite rebuilds the table (WITHOUT ROWID, as before) with one INSERT .. SELECT; PostgreSQL
adds the column, updates the rows that change (periods, figures) in one statement and drops
the old columns. Set-based, both: no row passes through Python (the Netflix import's 162,214
rows, on a loaded machine: 0.1 s on SQLite, 0.8 s on PostgreSQL, either way).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tracker.errors import StoreError

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Frozen here, as the store's models say today: periods in days of 86400 s, the figures from
# bit 2 (SIG_SHIFT) up, at most 8191 of them (MAX_SIG), two flag bits (FLAG_BITS = 3).
_MAX_SIG = 8191
# Rows the new columns cannot hold exactly (`%` would need escaping for psycopg).
_UNFIT = "period <> period / 86400 * 86400 OR sig < 1 OR sig > 8191 OR flags < 0 OR flags > 3"
# (days, flags) of a row of the old columns, and (period, sig, flags) of a row of the new.
_UP = "period / 86400, nullif((coalesce(sig, 0) << 2) | coalesce(flags, 0), 0)"
_DOWN = "days * 86400, nullif(flags >> 2, 0), nullif(flags & 3, 0)"


def upgrade() -> None:
    _refuse_unfit()
    if op.get_bind().dialect.name == "sqlite":
        _rebuild([("days", sa.SmallInteger), ("flags", sa.SmallInteger)], _UP)
        return
    op.add_column("snapshot", sa.Column("days", sa.SmallInteger, nullable=True))
    # Only the rows that change: most are instants of exact values, left as they are.
    op.execute(
        "UPDATE snapshot SET (days, flags) = (" + _UP + ") "
        "WHERE period IS NOT NULL OR sig IS NOT NULL OR flags = 0"
    )
    op.drop_column("snapshot", "period")
    op.drop_column("snapshot", "sig")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(
            [("period", sa.Integer), ("sig", sa.SmallInteger), ("flags", sa.SmallInteger)],
            _DOWN,
        )
        return
    op.add_column("snapshot", sa.Column("period", sa.Integer, nullable=True))
    op.add_column("snapshot", sa.Column("sig", sa.SmallInteger, nullable=True))
    op.execute(
        "UPDATE snapshot SET (period, sig, flags) = (" + _DOWN + ") "
        "WHERE days IS NOT NULL OR flags > 3"
    )
    op.drop_column("snapshot", "days")


def _refuse_unfit() -> None:
    """StoreError, before anything changes, when some row cannot be held exactly."""
    bind = op.get_bind()
    count, example = bind.execute(
        sa.text("SELECT count(*), min(series_id) FROM snapshot WHERE " + _UNFIT)
    ).one()
    if not count:
        return
    sid, ts, period, sig, flags = bind.execute(
        sa.text(
            "SELECT series_id, ts, period, sig, flags FROM snapshot "
            "WHERE series_id = :sid AND (" + _UNFIT + ") ORDER BY ts LIMIT 1"
        ),
        {"sid": example},
    ).one()
    raise StoreError(
        f"cannot upgrade the database: {count} stored value(s) have a period that is not "
        f"whole days, significant figures outside 1 .. {_MAX_SIG} or flags beyond 3, which "
        f"tracker now stores in days and beside two flag bits (the first: series {sid} at "
        f"{ts}, period {period} s, sig {sig}, flags {flags}); nothing was changed: correct or "
        "delete them in the table snapshot, then run tracker again"
    )


def _rebuild(columns: list[tuple[str, type[sa.SmallInteger | sa.Integer]]], select: str) -> None:
    """SQLite: the table built anew (WITHOUT ROWID) with `columns` after `value`, from the old
    table's rows through `select`, in one INSERT .. SELECT."""
    op.drop_index("ix_snapshot_sudden", table_name="snapshot")
    op.rename_table("snapshot", "snapshot_old")
    op.create_table(
        "snapshot",
        sa.Column("series_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        *(sa.Column(name, kind, nullable=True) for name, kind in columns),
        sqlite_with_rowid=False,
    )
    names = ", ".join(name for name, _ in columns)
    # In the key's order: each page of the new table written once.
    op.execute(
        "INSERT INTO snapshot (series_id, ts, value, " + names + ") "
        "SELECT series_id, ts, value, " + select + " FROM snapshot_old ORDER BY series_id, ts"
    )
    op.drop_table("snapshot_old")
    op.create_index(
        "ix_snapshot_sudden",
        "snapshot",
        ["ts"],
        sqlite_where=sa.text("(flags & 2) != 0"),
        postgresql_where=sa.text("(flags & 2) <> 0"),
    )
