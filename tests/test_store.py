"""The store on SQLite and PostgreSQL: idempotent writes, exact values, history, status, lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlmodel import Session

from tracker.collectors.base import Observation
from tracker.errors import LockHeld, StoreError
from tracker.store import Database
from tracker.store.models import BACKFILLED, Attempt, DaemonLock, SourceState
from tracker.store.timeseries import writer_for
from tracker.timeutil import to_epoch

T0 = datetime(2022, 4, 22, 12, 0, tzinfo=UTC)


def obs(value: int, at: datetime = T0, key: str = "did:plc:kit", label: str = "kit") -> Observation:
    return Observation("followers", key, value, at, "Kit Connor", label)


def test_write_is_idempotent_and_counts_new_rows(store: Database) -> None:
    points = [obs(100_000 + i, T0 + timedelta(hours=i)) for i in range(5)]
    assert store.write("bluesky", points) == 5
    assert store.write("bluesky", points) == 0
    assert store.write("bluesky", [*points, obs(7, T0 + timedelta(hours=9))]) == 1
    assert store.count() == 6


def test_values_are_exact_beyond_ten_to_the_fifteen(store: Database) -> None:
    big = 10**15 + 7
    store.write("tiktok", [obs(big), obs(2**62, T0 + timedelta(days=1))])
    (series,) = store.find_series("Kit Connor")
    assert [v for _, v in store.history(series.id)] == [big, 2**62]


def test_history_filters_by_time_and_is_ordered(store: Database) -> None:
    store.write("bluesky", [obs(i, T0 + timedelta(days=i)) for i in reversed(range(10))])
    (series,) = store.find_series("kit connor", "bluesky", "followers")
    since, until = to_epoch(T0 + timedelta(days=3)), to_epoch(T0 + timedelta(days=6))
    rows = store.history(series.id, since, until)
    assert [v for _, v in rows] == [3, 4, 5]
    assert store.latest(series.id) == (to_epoch(T0 + timedelta(days=9)), 9)
    assert store.latest(series.id, since) == (since, 3)


def test_period_sig_and_flags_are_kept(store: Database) -> None:
    week = Observation(
        "chart_rank", "Heartstopper|S1|global|TV", 7, T0, "Heartstopper", period=timedelta(days=7)
    )
    rounded = Observation("followers", "UC123", 3_400_000, T0, "Kit Connor", sig=3)
    store.write("netflix", [week], flags=BACKFILLED)
    store.write("youtube", [rounded])
    (chart,) = store.find_series(source="netflix")
    (yt,) = store.find_series(source="youtube")
    assert store.points(chart.id) == [(to_epoch(T0), 7, 7 * 86400, None, BACKFILLED)]
    assert store.points(yt.id) == [(to_epoch(T0), 3_400_000, None, 3, None)]


def test_a_renamed_handle_continues_the_series(store: Database) -> None:
    store.write("bluesky", [obs(1, T0, label="kit.bsky.social")])
    store.write("bluesky", [obs(2, T0 + timedelta(hours=1), label="kitconnor.bsky.social")])
    (series,) = store.find_series("Kit Connor")
    assert series.label == "kitconnor.bsky.social"
    assert [v for _, v in store.history(series.id)] == [1, 2]
    # A second store (another process) sees the same series, not a new one.
    other = Database.open(str(store.engine.url.render_as_string(hide_password=False)))
    try:
        other.write("bluesky", [obs(3, T0 + timedelta(hours=2), label="kitconnor.bsky.social")])
        assert len(other.find_series("Kit Connor")) == 1
    finally:
        other.close()


def test_labels_split_series_and_filter(store: Database) -> None:
    rows = [
        Observation("chart_rank", f"H|S1|{c}|TV", r, T0, "Heartstopper", "H", {"list": c})
        for c, r in (("GB", 1), ("US", 4), ("global", 7))
    ]
    store.write("netflix", rows)
    assert len(store.find_series("Heartstopper")) == 3
    (gb,) = store.find_series("Heartstopper", labels={"list": "GB"})
    assert store.history(gb.id) == [(to_epoch(T0), 1)]


def test_bulk_import_of_many_series_resolves_ids_in_one_batch(store: Database) -> None:
    rows = [
        Observation("chart_rank", f"title{i}|global", i % 10 + 1, T0, f"title{i}")
        for i in range(3000)
    ]
    assert store.write("netflix", rows) == 3000
    assert store.write("netflix", rows) == 0
    assert len(store.find_series(source="netflix")) == 3000


def test_status_reports_success_failure_streak_and_next_run(store: Database) -> None:
    start = to_epoch(T0)
    for i, (outcome, cause) in enumerate(
        [("ok", ""), ("failed", "HTTP 503"), ("failed", "timed out")]
    ):
        store.record_attempt(
            Attempt(
                source="bluesky",
                started=start + i,
                finished=start + i,
                outcome=outcome,
                cause=cause,
            )
        )
    store.set_next_run("bluesky", T0 + timedelta(hours=1))
    (row,) = store.status()
    assert row.last_success == T0
    assert row.last_failure == T0 + timedelta(seconds=2)
    assert row.last_cause == "timed out"
    assert row.failures_in_a_row == 2
    assert row.next_run == T0 + timedelta(hours=1)


def test_second_daemon_is_refused_with_the_holder_named(store: Database) -> None:
    store.acquire_lock()
    from sqlmodel import Session

    # Pretend the holder is another live process on this host: pid 1 always exists.
    with Session(store.engine) as session:
        held = session.get(DaemonLock, "daemon")
        assert held is not None
        held.pid = 1
        session.add(held)
        session.commit()
    with pytest.raises(LockHeld, match="pid 1"):
        store.acquire_lock()


def test_stale_lock_is_taken_over(store: Database) -> None:
    from sqlmodel import Session

    with Session(store.engine) as session:
        session.add(DaemonLock(name="daemon", pid=1, host="elsewhere", started=0, heartbeat=0))
        session.commit()
    store.acquire_lock()
    with Session(store.engine) as session:
        held = session.get(DaemonLock, "daemon")
        assert held is not None and held.pid == os.getpid()
    store.release_lock()
    with Session(store.engine) as session:
        assert session.get(DaemonLock, "daemon") is None


def test_upgrade_is_repeatable(store: Database) -> None:
    from tracker.migrate import current
    from tracker.store.schema import revisions

    store.upgrade()
    assert current(store.engine) == revisions()[1]  # the newest migration


def test_upgrade_of_a_database_at_the_newest_migration_leaves_alembic_unloaded(
    tmp_path: Path,
) -> None:
    # Every writing command upgrades first; a database already there is told by one
    # statement. A database a migration behind still goes through Alembic.
    db = tmp_path / "x.db"
    script = (
        "import sys\n"
        "from tracker.store import Database\n"
        f"s = Database.open('sqlite:///{db}')\n"
        "s.upgrade()\n"
        "print('alembic' in sys.modules)\n"
    )
    run = [sys.executable, "-c", script]
    first = subprocess.run(run, capture_output=True, text=True, check=True)
    again = subprocess.run(run, capture_output=True, text=True, check=True)
    assert (first.stdout.strip(), again.stdout.strip()) == ("True", "False")
    from alembic import command

    from tracker.migrate import alembic_config, current
    from tracker.store.schema import revisions

    store = Database.open(f"sqlite:///{db}")
    command.downgrade(alembic_config(store.engine), "-1")  # the next upgrade must run it
    assert current(store.engine) != revisions()[1]
    store.upgrade()
    assert current(store.engine) == revisions()[1]
    store.close()


def test_sqlite_snapshot_table_is_without_rowid(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    s = Database.open(f"sqlite:///{tmp_path / 'x.db'}")
    s.upgrade()
    s.close()
    (sql,) = (
        sqlite3.connect(tmp_path / "x.db")
        .execute("SELECT sql FROM sqlite_master WHERE name = 'snapshot'")
        .fetchone()
    )
    assert "WITHOUT ROWID" in sql


def test_quota_is_spent_shared_parked_and_renewed(store: Database) -> None:
    from tracker.quota import Quota

    daily = Quota(limit=3, zone="America/Los_Angeles")
    at = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 23:00 in Los Angeles, Nov 24
    assert store.quota_take("youtube:data:abc", daily, 2, at) is not None
    left = store.quota_take("youtube:data:abc", daily, 1, at)
    assert left is not None and left.left == 0
    assert store.quota_take("youtube:data:abc", daily, 1, at) is None  # would overspend
    assert store.quota_take("youtube:data:other", daily, 1, at) is not None  # per credential
    # Midnight Pacific is 08:00 UTC: a new window, a full budget.
    after = datetime(2026, 11, 25, 8, 0, 1, tzinfo=UTC)
    assert store.quota_take("youtube:data:abc", daily, 3, after) is not None
    # The platform said "quota exceeded": parked until the reset, whatever the count says.
    store.quota_park("youtube:data:other", daily, None, after)
    assert store.quota_take("youtube:data:other", daily, 1, after) is None
    (parked,) = [b for b in store.quotas() if b.key == "youtube:data:other"]
    assert parked.left == 0
    assert parked.parked_until == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert store.quota_take("youtube:data:other", daily, 1, parked.parked_until) is not None


def test_quota_windows_of_fixed_length_align_to_the_epoch() -> None:
    from tracker.quota import Quota

    window = Quota(limit=300, every=timedelta(minutes=15))
    begin, end = window.window(datetime(2026, 11, 25, 10, 7, 30, tzinfo=UTC))
    assert (begin, end) == (
        datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 10, 15, tzinfo=UTC),
    )


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def test_the_store_dates_what_it_records_by_the_clock_it_is_given(database_url: str) -> None:
    clock = Clock(T0)
    store = Database.open(database_url, clock=clock)
    try:
        store.upgrade()
        clock.at = T0 + timedelta(hours=1)
        store.set_next_run("bluesky", T0 + timedelta(hours=2))
        store.acquire_lock()
        clock.at = T0 + timedelta(hours=3)
        store.heartbeat()
        with Session(store.engine) as session:
            state = session.get(SourceState, "bluesky")
            lock = session.get(DaemonLock, "daemon")
        assert state is not None and state.updated == to_epoch(T0 + timedelta(hours=1))
        assert lock is not None
        assert (lock.started, lock.heartbeat) == (
            to_epoch(T0 + timedelta(hours=1)),
            to_epoch(T0 + timedelta(hours=3)),
        )
    finally:
        store.close()


def test_a_lock_goes_stale_by_the_store_clock(database_url: str) -> None:
    clock = Clock(T0)
    store = Database.open(database_url, clock=clock)
    try:
        store.upgrade()
        beat = to_epoch(T0 - timedelta(seconds=60))
        with Session(store.engine) as session:
            session.add(
                DaemonLock(name="daemon", pid=1, host="elsewhere", started=0, heartbeat=beat)
            )
            session.commit()
        # By the wall clock that heartbeat is years old; by the store's it is a minute old.
        with pytest.raises(LockHeld, match="pid 1 on elsewhere"):
            store.acquire_lock()
        clock.at = T0 + timedelta(seconds=31)  # 91 s without a heartbeat: the holder is gone
        store.acquire_lock()
        with Session(store.engine) as session:
            held = session.get(DaemonLock, "daemon")
            assert held is not None and held.pid == os.getpid()
            assert held.started == to_epoch(clock.at)
    finally:
        store.close()


def test_a_database_without_a_write_strategy_is_refused_by_name() -> None:
    gateway = SimpleNamespace(dialect=("mysql", "mysqldb"))
    with pytest.raises(StoreError, match=r"mysql\+mysqldb is not supported.*sqlite\+pysqlite"):
        writer_for(gateway)  # type: ignore[arg-type]


def test_importing_the_store_loads_no_collector() -> None:
    """Storage speaks the core's types: `import tracker.store` pulls in no plugin package."""
    code = (
        "import json, sys, tracker.store; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('tracker'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = json.loads(result.stdout)
    assert {"tracker.store.database", "tracker.store.timeseries", "tracker.core"} <= set(loaded)
    assert [
        m for m in loaded if m == "tracker.collectors" or m.startswith("tracker.collectors.")
    ] == []


def test_a_live_holder_keeps_the_lock_however_old_its_heartbeat(database_url: str) -> None:
    """The database was away for an hour: the holder could not beat, but it is alive."""
    import socket

    clock = Clock(T0)
    store = Database.open(database_url, clock=clock)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        store.upgrade()
        beat = to_epoch(T0 - timedelta(hours=1))
        with Session(store.engine) as session:
            session.add(
                DaemonLock(
                    name="daemon",
                    pid=holder.pid,
                    host=socket.gethostname(),
                    started=beat,
                    heartbeat=beat,
                )
            )
            session.commit()
        with pytest.raises(LockHeld, match=f"pid {holder.pid}"):
            store.acquire_lock()
        holder.kill()
        holder.wait()
        store.acquire_lock()  # the holder is gone: taken over at once
        with Session(store.engine) as session:
            held = session.get(DaemonLock, "daemon")
            assert held is not None and held.pid == os.getpid()
    finally:
        holder.kill()
        holder.wait()
        store.close()


def test_a_holder_whose_lock_was_taken_is_told_at_its_next_heartbeat(store: Database) -> None:
    """Another host's daemon took the lock while this one could not beat: this one must stop
    (the daemon does, on LockHeld), and its release leaves the other's lock alone."""
    store.acquire_lock()
    store.heartbeat()
    with Session(store.engine) as session:
        held = session.get(DaemonLock, "daemon")
        assert held is not None
        held.pid, held.host = 4242, "elsewhere"
        session.add(held)
        session.commit()
    with pytest.raises(LockHeld, match="pid 4242 on elsewhere.*took this database's lock"):
        store.heartbeat()
    store.release_lock()
    with Session(store.engine) as session:
        held = session.get(DaemonLock, "daemon")
        assert held is not None and (held.pid, held.host) == (4242, "elsewhere")
