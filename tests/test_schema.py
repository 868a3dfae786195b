"""The models and the migrations describe one schema, on SQLite and PostgreSQL.

Alembic's autogenerate compares the tables the migration head builds with the SQLModel
metadata; an empty difference means a new model field cannot ship without its migration.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from tracker.store import Database
from tracker.store.models import FOLDED, metadata


def _differences(store: Database) -> list[Any]:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def test_models_match_the_migration_head(store: Database) -> None:
    assert _differences(store) == []


def test_the_name_index_is_on_the_casefolded_text(store: Database) -> None:
    """The look-ups' expression (`FOLDED`) is the one indexed, on either database (SQLite's
    is not reflected, so the comparison above leaves it out: pyproject's filterwarnings)."""
    dialect = store.engine.dialect.name
    with store.engine.connect() as conn:
        if store.is_sqlite:
            found = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'ix_name_fold'")
            ).scalar()
        else:
            found = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_name_fold'")
            ).scalar()
    expected = FOLDED[dialect]
    if not store.is_sqlite:  # as PostgreSQL prints it back
        expected = 'COALESCE(fold, (lower(((text)::text COLLATE "C")))'
    assert found is not None and expected in found, found


def test_primary_keys_match_the_models(store: Database) -> None:
    # Autogenerate does not compare primary keys; the snapshot key is what makes writes
    # idempotent, so check every table's by hand.
    inspector = inspect(store.engine)
    tables = set(inspector.get_table_names()) - {"alembic_version"}
    assert tables == set(metadata.tables)
    for name, table in metadata.tables.items():
        reflected = inspector.get_pk_constraint(name)["constrained_columns"]
        assert reflected == [c.name for c in table.primary_key.columns], name


def test_the_comparison_sees_a_schema_that_drifted(store: Database) -> None:
    """The check above is not vacuous: a missing index and an extra column are reported."""
    with store.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_series_label"))
        conn.execute(text("ALTER TABLE attempt ADD COLUMN extra integer"))
    found = {(d[0], d[2] if d[0] == "remove_column" else d[1].name) for d in _differences(store)}
    assert found == {("remove_column", "attempt"), ("add_index", "ix_series_label")}
