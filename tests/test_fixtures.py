"""The shared fixtures' shortcuts give what the long way gives.

`store` is migrated once per test process (a copied SQLite file, a replayed PostgreSQL
script): its schema must be the one `Database.upgrade()` makes on an empty database.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from tests.conftest import PG_ENV, _pg_schema_url
from tracker.store import Database


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
