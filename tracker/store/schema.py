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

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from tracker.errors import StoreError
from tracker.store.engine import database_error

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


def check(engine: Engine) -> None:
    """StoreError unless the database at `engine` is empty or one this tracker knows."""
    try:
        tables = set(inspect(engine).get_table_names())
        revision = None
        if VERSION_TABLE in tables:
            with engine.connect() as conn:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        raise database_error(exc, engine.url) from None
    if VERSION_TABLE not in tables:
        if engine.dialect.name == "sqlite" and tables:
            some = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise StoreError(
                f"not a tracker database: {engine.url.database} holds other tables ({some}) "
                "and no tracker schema; give tracker a new file (sqlite:///tracker.db)"
            )
        return
    known, newest = revisions()
    if revision is not None and revision not in known:
        raise StoreError(
            f"database made by a newer tracker (schema revision {revision!r}; this tracker "
            f"knows up to {newest!r}): upgrade tracker (pip install -U tracker) to use it"
        )
