"""Whether a database is tracker's, told without Alembic (the read commands start fast).

Not tracker's: a SQLite file holding other tables and no tracker schema (someone else's
file), or a database stamped with a schema revision this tracker does not ship (migrated by
a newer tracker: upgrading tracker is the fix, never touching its schema). Both are refused
before anything is read or written, with what to do.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import Engine

from tracker.errors import StoreError
from tracker.store.engine import Gateway

VERSIONS = Path(__file__).parent / "migrations" / "versions"
VERSION_TABLE = "alembic_version"
_REVISION = re.compile(r"""^(down_)?revision\s*=\s*["']([^"']+)["']""", re.MULTILINE)


@cache
def revisions() -> tuple[set[str], str]:
    """Every revision this tracker ships, and the newest (the one nothing revises)."""
    known: set[str] = set()
    revised: set[str] = set()
    for script in VERSIONS.glob("*.py"):
        for down, name in _REVISION.findall(script.read_text(encoding="utf-8")):
            (revised if down else known).add(name)
    newest = sorted(known - revised)
    return known, ", ".join(newest)


def check(through: Gateway | Engine) -> str | None:
    """StoreError unless the database is empty or one this tracker knows; else its schema
    revision (None: not migrated yet). Plain statements on a read cursor: a read command's
    held connection (`Gateway.hold`), else the pool's."""
    gateway = through if isinstance(through, Gateway) else Gateway(through)
    dialect = gateway.dialect[0]
    with gateway.cursor() as cursor:
        # One statement for a tracker database: its revision, and whether that table is the
        # current schema's (PostgreSQL resolves the name along the search path).
        try:
            cursor.execute(_REVISION_HERE[dialect])
            rows = cursor.fetchall()
        except gateway.driver_error:  # no such table (or not a database: listed below)
            rows = []
        if rows and all(here for _, here in rows):
            tables = {VERSION_TABLE}
            revision = rows[0][0]
        else:
            cursor.execute(_TABLES[dialect])
            tables = {str(name) for (name,) in cursor.fetchall()}
            revision = None
            if VERSION_TABLE in tables:
                cursor.execute("SELECT version_num FROM alembic_version")
                row = cursor.fetchone()
                revision = row[0] if row else None
    if VERSION_TABLE not in tables:
        if gateway.is_sqlite and tables:
            some = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise StoreError(
                f"not a tracker database: {gateway.url.database} holds other tables ({some}) "
                "and no tracker schema; give tracker a new file (sqlite:///tracker.db)"
            )
        return None
    known, newest = revisions()
    if revision is not None and revision not in known:
        raise StoreError(
            f"database made by a newer tracker (schema revision {revision!r}; this tracker "
            f"knows up to {newest!r}): upgrade tracker (pip install -U tracker) to use it"
        )
    return revision


# The tables of the database (SQLite) or of the current schema (PostgreSQL), as SQLAlchemy's
# inspector lists them, in one statement: the inspector's reflection took ~3 ms of every read
# command's start. (The store runs on these two dialects only: `Gateway.sql`.)
_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite~_%' "
    "ESCAPE '~'",
    "postgresql": "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()",
}
_REVISION_HERE = {
    "sqlite": "SELECT version_num, 1 FROM alembic_version",
    "postgresql": "SELECT version_num, EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN "
    "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'alembic_version' "
    "AND c.relkind IN ('r', 'p') AND n.nspname = current_schema()) FROM alembic_version",
}
