"""A read command's store: one held connection for its reads, given back when it ends, on
SQLite and PostgreSQL; the schema check on that connection still refuses what it refused."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
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
        assert store.engine.pool.checkedout() == 1
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
    assert store.engine.pool.checkedout() == 0


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
    assert store.engine.pool.checkedout() == 1
    context.close()
    assert store.engine.pool.checkedout() == 0
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
