"""Alembic environment: runs against the engine tracker hands over, never a URL in a file."""

from __future__ import annotations

from alembic import context

from tracker.store.models import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
