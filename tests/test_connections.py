"""Pooled PostgreSQL connections the server dropped: replaced, never a lasting failure.

The pool pings a connection only when it sat idle (`PING_IDLE`), not before every query (a
round trip each); these tests drop the pooled connections from the server's side, as a
restart or an idle timeout would, and check what the store then does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.conftest import PG_ENV, _pg_schema_url
from tracker.core import Observation
from tracker.errors import StoreError
from tracker.store import Database
from tracker.store import engine as engine_module

OBS = Observation("followers", "did:plc:a", 5, datetime(2026, 1, 1, tzinfo=UTC), "A")


@pytest.fixture
def pg_store() -> Iterator[Database]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL connection tests skipped")
    for url in _pg_schema_url(base):
        store = Database.open(url)
        store.upgrade()
        store.write("bluesky", [OBS])
        yield store
        store.close()


def _drop_pooled(store: Database) -> None:
    """End every server process of the store's pool from another connection."""
    import psycopg

    with store.engine.connect() as conn:
        pids = {conn.connection.dbapi_connection.info.backend_pid}  # type: ignore[union-attr]
    plain = os.environ[PG_ENV].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_an_idle_connection_the_server_dropped_is_replaced_unseen(
    pg_store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pg_store.count() == 1
    _drop_pooled(pg_store)
    monkeypatch.setattr(engine_module, "PING_IDLE", 0.0)  # as if it sat idle: pinged first

    assert pg_store.count() == 1
    assert [s.key for s in pg_store.find_series(source="bluesky")] == ["did:plc:a"]
    assert pg_store.write("bluesky", [OBS]) == 0


def test_a_connection_dropped_while_in_use_fails_one_read_then_is_replaced(
    pg_store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Used a moment ago, so not pinged: the read says the database failed (a StoreError,
    never a traceback), and the dead connection is not handed out again."""
    monkeypatch.setattr(engine_module, "PING_IDLE", 3600.0)
    assert pg_store.count() == 1
    _drop_pooled(pg_store)

    with pytest.raises(StoreError):
        pg_store.count()
    assert pg_store.count() == 1
    assert pg_store.history(pg_store.find_series(source="bluesky")[0].id) == [
        (int(OBS.at.timestamp()), 5)
    ]
