"""Alembic, configured in code so migrations ship inside the package.

Before upgrading, the database is checked to be tracker's: a database stamped with a revision
this tracker does not know was migrated by a newer one (upgrading tracker is the fix, never
touching its schema), and a SQLite file holding other tables and no tracker schema is someone
else's file.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from tracker.errors import StoreError

SCRIPTS = Path(__file__).parent / "store" / "migrations"
VERSION_TABLE = "alembic_version"


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    check(engine)
    command.upgrade(alembic_config(engine), revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _scripts() -> ScriptDirectory:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPTS))
    return ScriptDirectory.from_config(cfg)


def known() -> set[str]:
    """Every revision this tracker ships."""
    return {rev.revision for rev in _scripts().walk_revisions()}


def head() -> str:
    return _scripts().get_current_head() or ""


def check(engine: Engine) -> None:
    """StoreError when the database is not one this tracker may migrate (see the docstring)."""
    tables = set(inspect(engine).get_table_names())
    if VERSION_TABLE not in tables:
        if engine.dialect.name == "sqlite" and tables:
            some = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise StoreError(
                f"not a tracker database: {engine.url.database} holds other tables ({some}) "
                "and no tracker schema; give tracker a new file (sqlite:///tracker.db)"
            )
        return
    revision = current(engine)
    if revision is not None and revision not in known():
        raise StoreError(
            f"database made by a newer tracker (schema revision {revision!r}; this tracker "
            f"knows up to {head()!r}): upgrade tracker (pip install -U tracker) to use it"
        )
