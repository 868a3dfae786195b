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
from sqlalchemy import Engine

from tracker.store import schema

SCRIPTS = Path(__file__).parent / "store" / "migrations"


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


def check(engine: Engine) -> None:
    """StoreError when the database is not one this tracker may migrate (see the docstring)."""
    schema.check(engine)
