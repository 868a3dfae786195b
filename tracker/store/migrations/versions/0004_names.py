"""Series found by name through an index: casefolded subject and handle columns.

`tracker history "kit connor"` used to scan every series (`lower(subject) = ?`: 14 ms at
52,747 series); `subject_key` and `label_key` hold the casefolded subject and handle, each
indexed, so a name is one index look-up on SQLite and PostgreSQL alike. Casefolding happens in
Python (`str.casefold`), so "Ü" and "ü" match where SQLite's ASCII-only `lower()` did not.
The plain `subject` index is dropped: nothing looks a subject up by its exact case any more.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tracker.bounds import MAX_LABEL, MAX_SUBJECT

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_CHUNK = 5_000


def upgrade() -> None:
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("subject_key", sa.String(MAX_SUBJECT), nullable=True))
        batch.add_column(sa.Column("label_key", sa.String(MAX_LABEL), nullable=True))
    _fill()
    with op.batch_alter_table("series") as batch:
        batch.alter_column("subject_key", existing_type=sa.String(MAX_SUBJECT), nullable=False)
        batch.alter_column("label_key", existing_type=sa.String(MAX_LABEL), nullable=False)
        batch.drop_index("ix_series_subject")
        batch.create_index("ix_series_subject_key", ["subject_key"])
        batch.create_index("ix_series_label_key", ["label_key"])


def _fill() -> None:
    """The keys of the series already stored, computed in Python (casefold) in chunks."""
    bind = op.get_bind()
    series = sa.table(
        "series",
        sa.column("id", sa.Integer),
        sa.column("subject", sa.String),
        sa.column("label", sa.String),
        sa.column("subject_key", sa.String),
        sa.column("label_key", sa.String),
    )
    update = (
        series.update()
        .where(series.c.id == sa.bindparam("sid"))
        .values(subject_key=sa.bindparam("sk"), label_key=sa.bindparam("lk"))
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(series.c.id, series.c.subject, series.c.label)
            .where(series.c.id > last)
            .order_by(series.c.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        bind.execute(
            update,
            [
                {"sid": sid, "sk": subject.casefold(), "lk": label.casefold()}
                for sid, subject, label in rows
            ],
        )
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("series") as batch:
        batch.drop_index("ix_series_label_key")
        batch.drop_index("ix_series_subject_key")
        batch.create_index("ix_series_subject", ["subject"])
        batch.drop_column("label_key")
        batch.drop_column("subject_key")
