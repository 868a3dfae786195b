"""Shared fixtures: a store on each database, the platform fakes, a config pointing at them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.netflix import FakeNetflix
from tests.fakes.wikipedia import FakeWikimedia
from tracker.store import Store

PG_ENV = "TRACKER_TEST_DATABASE_URL"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _pg_schema_url(base: str) -> Iterator[str]:
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite, and PostgreSQL when TRACKER_TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL store tests skipped")
    yield from _pg_schema_url(base)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store.open(database_url)
    s.upgrade()
    yield s
    s.close()


@pytest.fixture
def fakes() -> Iterator[dict[str, object]]:
    """Every platform fake, started, keyed by source name."""
    running = {
        "bluesky": FakeBluesky().start(),
        "mastodon": FakeMastodon().start(),
        "wikipedia": FakeWikimedia().start(),
        "netflix": FakeNetflix().start(),
    }
    yield running
    for fake in running.values():
        fake.stop()
