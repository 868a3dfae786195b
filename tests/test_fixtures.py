"""The shared fixtures' shortcuts give what the long way gives.

`store` is migrated once per test process (a copied SQLite file, a replayed PostgreSQL
script): its schema must be the one `Database.upgrade()` makes on an empty database.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from tests.conftest import PG_ENV, PgSchemas, Statement, _pg_schema_url
from tracker.core import Observation
from tracker.store import Database
from tracker.store.models import Attempt

AT = datetime(2026, 11, 2, 12, tzinfo=UTC)


def schema(engine: Engine) -> dict[str, Any]:
    """Tables, their columns (name, type, nullable, default), indexes, keys and the revision."""
    found = inspect(engine)
    tables: dict[str, Any] = {}
    for table in sorted(found.get_table_names()):
        tables[table] = (
            [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
             for c in found.get_columns(table)],
            sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                   for i in found.get_indexes(table)),
            found.get_pk_constraint(table)["constrained_columns"],
            sorted(str(f["referred_table"]) for f in found.get_foreign_keys(table)),
        )  # fmt: skip
    with engine.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return {"tables": tables, "revision": revision}


def test_the_store_fixture_has_the_schema_upgrade_makes(
    store: Database, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if database_url.startswith("sqlite"):
        urls = iter([f"sqlite:///{tmp_path_factory.mktemp('fresh') / 'fresh.db'}"])
    else:
        urls = _pg_schema_url(os.environ[PG_ENV])
    for url in urls:
        fresh = Database.open(url)
        try:
            fresh.upgrade()
            expected = schema(fresh.engine)
        finally:
            fresh.close()
    assert expected["tables"] and expected["revision"]
    assert schema(store.engine) == expected
    store.upgrade()  # and Alembic finds nothing left to do
    assert schema(store.engine) == expected


def _pg_schemas_or_skip() -> str:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: the PostgreSQL pool is not used")
    return base


def _exists(base: str, url: str) -> bool:
    import psycopg

    schema = url.rsplit("search_path%3D", 1)[1]
    with psycopg.connect(base) as conn:
        return bool(
            conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchall()
        )


def test_a_pooled_postgresql_schema_comes_back_empty_as_a_fresh_one(
    _pg_migration: list[Statement],
) -> None:
    base = _pg_schemas_or_skip()
    pool = PgSchemas(base, _pg_migration)
    try:
        url = pool.take()
        assert pool.reuse  # the migrations write no rows but their revision
        first = Database.open(url)
        try:
            expected = schema(first.engine)
            first.write("bluesky", [Observation("followers", "kit", 1800, AT, "Kit")])
            first.record_attempt(Attempt(source="bluesky", started=1, finished=2, outcome="ok"))
            first_ids = [s.id for s in first.find_series()]
        finally:
            first.close()
        pool.give(url)
        assert pool.take() == url  # the same schema, emptied
        again = Database.open(url)
        try:
            assert (again.count(), again.attempts("bluesky"), again.find_series()) == (0, [], [])
            with again.engine.connect() as conn:
                rows = {
                    table: conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()
                    for table in expected["tables"]
                }
            assert rows == {t: 1 if t == "alembic_version" else 0 for t in expected["tables"]}
            assert schema(again.engine) == expected
            again.write("bluesky", [Observation("followers", "kit", 1800, AT, "Kit")])
            assert [s.id for s in again.find_series()] == first_ids  # sequences restarted
        finally:
            again.close()
        pool.give(url)
        assert _exists(base, url)
    finally:
        pool.close()
    assert not _exists(base, url)  # dropped at the end of the session


def test_a_postgresql_schema_a_test_altered_is_dropped_not_reused(
    _pg_migration: list[Statement],
) -> None:
    base = _pg_schemas_or_skip()
    pool = PgSchemas(base, _pg_migration)
    try:
        url = pool.take()
        altered = Database.open(url)
        try:
            with altered.engine.begin() as conn:
                conn.execute(text("ALTER TABLE attempt ADD COLUMN extra integer"))
        finally:
            altered.close()
        pool.give(url)
        assert not _exists(base, url)
        assert pool.take() != url
    finally:
        pool.close()
