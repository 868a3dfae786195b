"""Names without a unique index on their text, and a casefolded copy only where SQL's
`lower()` would not give it.

Of the 52.4 B per sample of the real Netflix import, `name` was 2.7 B, its unique `text`
index 1.5 and its `fold` index 1.5. Nearly every name is ASCII, whose casefolded text is its
lowered ASCII letters: its `fold` is now NULL, and `ix_name_fold` indexes
`coalesce(fold, lower(text))` (PostgreSQL: `lower(text COLLATE "C")`, ASCII alone there too).
A text is found through that index; writers add a text only where none is, so the unique
index on `text` goes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_name = sa.table("name", sa.column("text", sa.String), sa.column("fold", sa.String))

# Frozen here (`tracker.store.models.FOLDED` may change later): the index on a name's
# casefolded text, and what a fold is where SQL's lower() gives it.
_INDEX = {
    "sqlite": "CREATE INDEX ix_name_fold ON name (coalesce(fold, lower(text)))",
    "postgresql": 'CREATE INDEX ix_name_fold ON name (coalesce(fold, lower(text COLLATE "C")))',
}
_PLAIN = {"sqlite": "fold = lower(text)", "postgresql": 'fold = lower(text COLLATE "C")'}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("ix_name_fold", "name")
    with op.batch_alter_table("name") as batch:
        batch.drop_constraint("uq_name_text", type_="unique")
        batch.alter_column("fold", existing_type=sa.String, nullable=True)
    # A text whose fold SQL's lower() gives keeps none: every ASCII text (and a non-ASCII one
    # whose casefolding changes only ASCII letters), as `tracker.store.interned.stored_fold`.
    op.execute(sa.update(_name).where(sa.text(_PLAIN[dialect])).values(fold=None))
    op.execute(_INDEX[dialect])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("ix_name_fold", "name")
    lowered = sa.func.lower(_name.c.text)
    if dialect == "postgresql":
        lowered = sa.func.lower(_name.c.text.collate("C"))
    op.execute(sa.update(_name).where(_name.c.fold.is_(None)).values(fold=lowered))
    with op.batch_alter_table("name") as batch:
        batch.alter_column("fold", existing_type=sa.String, nullable=False)
        batch.create_unique_constraint("uq_name_text", ["text"])
    op.create_index("ix_name_fold", "name", ["fold"])
