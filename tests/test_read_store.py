"""A read command's store: one held connection for its reads, given back when it ends, on
SQLite and PostgreSQL; the schema check on that connection still refuses what it refused."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tracker.commands.context import Context
from tracker.core import Observation
from tracker.errors import StoreError
from tracker.store import Database

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _seeded(url: str) -> None:
    store = Database.open(url)
    try:
        store.upgrade()
        store.write(
            "bluesky",
            [
                Observation("followers", "did:plc:kit", 100 + i, T0 + timedelta(hours=i), "Kit")
                for i in range(3)
            ],
        )
    finally:
        store.close()


def _checkouts(store: Database) -> list[int]:
    seen: list[int] = []

    @event.listens_for(store.engine, "checkout")
    def _count(*_args: Any) -> None:
        seen.append(threading.get_ident())

    return seen


def test_a_read_store_serves_its_reads_from_one_held_connection(database_url: str) -> None:
    _seeded(database_url)
    store = Database.existing(database_url, hold=True)
    try:
        seen = _checkouts(store)
        (series,) = store.find_series("KIT")
        assert [v for _, v, *_ in store.points(series.id)] == [100, 101, 102]
        assert store.latest(series.id) is not None
        assert seen == []  # the schema check's connection served them all
        assert _held(store)
        # Another thread's reads never share the held connection: they use the pool.
        found: list[int] = []
        worker = threading.Thread(
            target=lambda: found.extend(s.id for s in store.find_series("kit"))
        )
        worker.start()
        worker.join()
        assert found == [series.id]
        assert len(seen) == 1 and seen[0] != threading.get_ident()
    finally:
        store.close()
    assert store.engine.pool.checkedout() == 0 and not _held(store)


def _held(store: Database) -> bool:
    """Whether the store holds a connection: the pool's (PostgreSQL) or, for a SQLite file,
    one the driver opened outside the pool (then none is checked out)."""
    held = store._gateway._held is not None
    assert store.engine.pool.checkedout() == (held and not store.is_sqlite)
    return held


def test_a_sqlite_read_command_makes_no_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    _seeded(url)
    store = Database.existing(url, hold=True)
    try:
        (series,) = store.find_series("kit")
        assert len(store.points(series.id)) == 3
        assert store._gateway._engine is None  # check, look-up and points: the driver's
        with store._gateway.cursor() as cursor:  # opened as the pool opens its connections
            assert cursor.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert cursor.execute("PRAGMA busy_timeout").fetchone() == (10000,)
            assert cursor.execute("PRAGMA cache_size").fetchone() == (-65536,)
        held = store._gateway._held.driver_connection
        # A write makes the engine (its own pooled connection); the held one sees it.
        store.write(
            "bluesky", [Observation("followers", "did:plc:kit", 7, T0 - timedelta(1), "Kit")]
        )
        assert [v for _, v, *_ in store.points(series.id)][0] == 7
        assert store._gateway._engine is not None
    finally:
        store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        held.execute("SELECT 1")  # closed with the store
    assert store.engine.pool.checkedout() == 0


def test_a_held_sqlite_store_in_memory_or_with_options_uses_the_pool(tmp_path: Path) -> None:
    file = tmp_path / "tracker.db"
    _seeded(f"sqlite:///{file}")
    for url in (f"sqlite:///{file}?timeout=5", "sqlite://", "sqlite:///:memory:"):
        store = Database.existing(url, hold=True)
        try:
            assert store._gateway._engine is not None, url
            assert hasattr(store._gateway._held, "dbapi_connection"), url  # the pool's
        finally:
            store.close()


def test_without_hold_each_read_goes_to_the_pool(database_url: str) -> None:
    _seeded(database_url)
    store = Database.existing(database_url)
    try:
        seen = _checkouts(store)
        (series,) = store.find_series("kit")
        store.points(series.id)
        assert len(seen) == 2
        assert store.engine.pool.checkedout() == 0
    finally:
        store.close()


def test_a_command_s_stores_are_closed_when_it_ends(database_url: str) -> None:
    _seeded(database_url)
    context = Context(None, database_url)
    store = context.query_store()
    assert isinstance(store, Database)
    assert store.find_series("kit")
    assert _held(store)
    context.close()
    assert not _held(store)
    assert context.opened == []


def test_a_held_connection_still_refuses_a_newer_schema(database_url: str) -> None:
    _seeded(database_url)
    store = Database.open(database_url)
    try:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'from_the_future'")
    finally:
        store.close()
    with pytest.raises(StoreError, match="newer tracker"):
        Database.existing(database_url, hold=True)


def test_an_empty_revision_table_is_no_tracker_revision(database_url: str) -> None:
    """The one-statement check finds no row: the listing decides, as before."""
    _seeded(database_url)
    store = Database.open(database_url)
    try:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM alembic_version")
    finally:
        store.close()
    Database.existing(database_url, hold=True).close()
