"""The distributed mode on real PostgreSQL and RabbitMQ: slots claimed once, parts written once,
late parts dropped, dead letters recorded, the CLI's refusals, `tracker status`."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests import entry
from tests.conftest import Seeded, closed_port, tracker_env
from tests.rabbit import broker_url, pg_url, queue, queue_counts, wait_for  # noqa: F401
from tracker import config as config_module
from tracker.distributed import worker as working
from tracker.distributed.dispatch import Dispatcher
from tracker.distributed.messages import Part, make_broker, mask
from tracker.errors import StoreError
from tracker.store import Database
from tracker.timeutil import from_epoch, to_epoch

SLOT = 1_800_000_000  # a slot start: a multiple of every interval used here


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Database]:  # noqa: F811
    store = Database.open(pg_url)
    store.upgrade()
    yield store
    store.close()


def _config(seeded: Seeded, tmp_path: Path, interval: str = "60s") -> config_module.Config:
    path = seeded.write_config(tmp_path / "tracker.toml", interval=interval)
    return config_module.load(str(path))


def _dispatch_rows(store: Database) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT source, slot, part, targets, done IS NOT NULL, outcome, deliveries "
                    "FROM dispatch ORDER BY source, slot, part"
                )
            )
        )


# -- slots ---------------------------------------------------------------------------------
def test_concurrent_dispatchers_send_each_slot_once(pg_url: str) -> None:  # noqa: F811
    """Four dispatchers, each with its own connection, claim the same due slots at once."""
    every = {"alpha": 60, "beta": 30, "gamma": 10}
    sent: list[tuple[str, int]] = []
    lock = threading.Lock()

    def send(source: str, slot: int) -> list[int]:
        with lock:
            sent.append((source, slot))
        time.sleep(0.2)  # hold the row lock while the others try
        return [2, 1]

    stores = [Database.open(pg_url) for _ in range(4)]
    stores[0].upgrade()
    claims: list[Any] = []
    barrier = threading.Barrier(len(stores))

    def dispatcher(store: Database) -> None:
        barrier.wait()
        found = store.dispatch_due(every, SLOT + 5, send)
        with lock:
            claims.extend(found)

    threads = [threading.Thread(target=dispatcher, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert sorted(sent) == [("alpha", SLOT), ("beta", SLOT), ("gamma", SLOT)]
        assert sorted((c.source, c.slot, c.parts, c.missed) for c in claims) == [
            ("alpha", SLOT, 2, 0),
            ("beta", SLOT, 2, 0),
            ("gamma", SLOT, 2, 0),
        ]
        # The same moment again: nothing is due; the next slot of gamma is, 10 s later.
        assert stores[1].dispatch_due(every, SLOT + 9, send) == []
        later = stores[2].dispatch_due(every, SLOT + 12, send)
        assert [(c.source, c.slot) for c in later] == [("gamma", SLOT + 10)]
        rows = _dispatch_rows(stores[0])
        assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
            ("alpha", SLOT, 0, 2), ("alpha", SLOT, 1, 1),
            ("beta", SLOT, 0, 2), ("beta", SLOT, 1, 1),
            ("gamma", SLOT, 0, 2), ("gamma", SLOT, 1, 1),
            ("gamma", SLOT + 10, 0, 2), ("gamma", SLOT + 10, 1, 1),
        ]  # fmt: skip
    finally:
        for store in stores:
            store.close()


def test_a_slot_whose_send_failed_stays_due(pg_store: Database) -> None:
    def broken(source: str, slot: int) -> list[int]:
        raise ConnectionError("broker gone")

    with pytest.raises(ConnectionError):
        pg_store.dispatch_due({"alpha": 60}, SLOT + 1, broken)
    assert _dispatch_rows(pg_store) == []
    claims = pg_store.dispatch_due({"alpha": 60}, SLOT + 2, lambda s, t: [3])
    assert [(c.source, c.slot, c.parts) for c in claims] == [("alpha", SLOT, 1)]


def test_slots_nobody_dispatched_are_counted_as_missed(pg_store: Database) -> None:
    pg_store.dispatch_due({"alpha": 60}, SLOT, lambda s, t: [1])
    claims = pg_store.dispatch_due({"alpha": 60}, SLOT + 60 * 4 + 7, lambda s, t: [1])
    assert [(c.slot, c.missed) for c in claims] == [(SLOT + 240, 3)]


def test_sqlite_has_no_distributed_mode(tmp_path: Path) -> None:
    store = Database.open(f"sqlite:///{tmp_path / 'x.db'}")
    store.upgrade()
    try:
        with pytest.raises(StoreError, match="needs PostgreSQL"):
            store.dispatch_due({"alpha": 60}, SLOT, lambda s, t: [1])
        assert store.distribution(SLOT).sources == 0
    finally:
        store.close()


def test_status_of_a_database_before_migration_0006_is_quiet(pg_store: Database) -> None:
    with pg_store.engine.begin() as conn:
        conn.execute(text("DROP TABLE slot"))
    assert pg_store.distribution(SLOT).sources == 0


# -- a worker's part -----------------------------------------------------------------------
def _part(config: config_module.Config, source: str, slot: int, every: int = 60) -> Part:
    return Part(source, slot, 0, every, slot, tuple(config.targets(source)))


def test_a_redelivered_part_stores_nothing_twice(
    seeded: Seeded, tmp_path: Path, pg_store: Database
) -> None:
    config = _config(seeded, tmp_path)
    slot = to_epoch(datetime.now(UTC)) // 60 * 60
    collecting = working.Collecting(config, pg_store, "test")
    part = _part(config, "bluesky", slot)

    async def twice() -> list[str]:
        try:
            return [await collecting.part(part.payload()) for _ in range(2)]
        finally:
            await collecting.close()

    import asyncio

    assert asyncio.run(twice()) == ["ok", "ok"]
    assert len(seeded.bluesky.requests) == 2  # collected twice ...
    series = pg_store.find_series(source="bluesky", metric="followers")
    assert len(series) == 2
    for info in series:  # ... stored once, at the slot's start
        assert pg_store.history(info.id) in ([(slot, 1800)], [(slot, 950)])
    assert [(r[5], r[6]) for r in _dispatch_rows(pg_store)] == [("ok", 2)]
    attempts = pg_store.attempts("bluesky")
    assert [(a.outcome, a.stored) for a in attempts] == [("ok", 0), ("ok", 2)]


def test_a_part_older_than_its_interval_is_dropped_and_recorded(
    seeded: Seeded, tmp_path: Path, pg_store: Database
) -> None:
    import asyncio

    config = _config(seeded, tmp_path)
    slot = to_epoch(datetime.now(UTC)) // 60 * 60 - 120  # two intervals ago
    collecting = working.Collecting(config, pg_store, "test")
    assert asyncio.run(collecting.part(_part(config, "bluesky", slot).payload())) == "late"
    assert seeded.bluesky.requests == []
    assert pg_store.count() == 0
    (attempt,) = pg_store.attempts("bluesky")
    assert (attempt.outcome, attempt.kind, attempt.failed) == ("failed", "late", 2)
    assert "dropped, not run late" in attempt.cause
    assert [(r[5], r[6]) for r in _dispatch_rows(pg_store)] == [("late", 1)]


def test_a_late_copy_of_a_collected_part_is_no_failure(
    seeded: Seeded, tmp_path: Path, pg_store: Database
) -> None:
    import asyncio

    config = _config(seeded, tmp_path)
    slot = to_epoch(datetime.now(UTC)) // 60 * 60
    payload = _part(config, "bluesky", slot).payload()
    on_time = working.Collecting(config, pg_store, "test")

    async def once() -> str:
        try:
            return await on_time.part(payload)
        finally:
            await on_time.close()

    assert asyncio.run(once()) == "ok"
    later = working.Collecting(
        config, pg_store, "test", clock=lambda: from_epoch(slot) + timedelta(minutes=5)
    )
    assert asyncio.run(later.part(payload)) == "late"  # a redelivered copy, long after
    assert [(r[5], r[6]) for r in _dispatch_rows(pg_store)] == [("ok", 2)]
    assert [a.outcome for a in pg_store.attempts("bluesky")] == ["ok"]
    assert len(seeded.bluesky.requests) == 1


# -- through RabbitMQ ----------------------------------------------------------------------
class _Worker:
    """`worker.serve` in a thread of this process."""

    def __init__(self, config: config_module.Config, store: Any, url: str, name: str) -> None:
        self.stop, self.ready = threading.Event(), threading.Event()
        self.thread = threading.Thread(
            target=working.serve,
            args=(config, store, url, name),
            kwargs={"threads": 2, "stop": self.stop, "ready": self.ready},
        )
        self.thread.start()
        assert self.ready.wait(30)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive()


def test_dispatched_slots_are_collected_by_a_worker(
    seeded: Seeded,
    tmp_path: Path,
    pg_store: Database,
    broker_url: str,  # noqa: F811
    queue: str,  # noqa: F811
) -> None:
    config = _config(seeded, tmp_path)
    now = datetime.now(UTC).replace(microsecond=0)
    broker = make_broker(broker_url)
    dispatcher = Dispatcher(config, pg_store, broker, queue, clock=lambda: now)
    worker = _Worker(config, pg_store, broker_url, queue)
    try:
        claims = dispatcher.tick()
        assert dispatcher.tick() == []  # the same slot is not sent twice
        slot = to_epoch(now) // 60 * 60
        assert sorted((c.source, c.slot) for c in claims) == [
            (name, slot) for name in ("bluesky", "mastodon", "netflix", "wikipedia")
        ]
        rows = wait_for("every part done", lambda: all(r[4] for r in _dispatch_rows(pg_store)))
        assert rows
        nexts = {s.source: s.next_run for s in pg_store.status()}
        assert nexts["bluesky"] == from_epoch(slot + 60)
    finally:
        worker.close()
        broker.close()
    rows = _dispatch_rows(pg_store)
    assert [(r[0], r[2], r[3], r[5], r[6]) for r in rows] == [
        ("bluesky", 0, 2, "ok", 1), ("mastodon", 0, 2, "ok", 1),
        ("netflix", 0, 1, "ok", 1), ("wikipedia", 0, 2, "ok", 1),
    ]  # fmt: skip
    kit = pg_store.find_series(subject="Kit Connor", source="bluesky", metric="followers")
    assert pg_store.history(kit[0].id) == [(slot, 1800)]
    assert queue_counts(broker_url, queue) == (0, 0, 0)
    seen = pg_store.distribution(to_epoch(datetime.now(UTC)))
    assert (seen.sources, seen.waiting, seen.dead, seen.late) == (4, 0, 0, 0)
    assert len(seen.workers) == 1 and seen.workers[0].messages == len(rows)


def test_a_dispatcher_dying_before_its_commit_costs_a_duplicate_not_a_point(
    seeded: Seeded,
    tmp_path: Path,
    pg_store: Database,
    broker_url: str,  # noqa: F811
    queue: str,  # noqa: F811
) -> None:
    """Its messages went out, its transaction did not commit: another dispatcher sends the
    slot again, and the second copy stores nothing."""
    config = _config(seeded, tmp_path)
    now = datetime.now(UTC).replace(microsecond=0)
    broker = make_broker(broker_url)
    dispatcher = Dispatcher(config, pg_store, broker, queue, clock=lambda: now)
    dispatcher.every = {"bluesky": 60}

    def send_then_die(source: str, slot: int) -> list[int]:
        dispatcher._send(source, slot)
        raise ConnectionError("killed before the commit")

    with pytest.raises(ConnectionError):
        pg_store.dispatch_due(dispatcher.every, to_epoch(now), send_then_die)
    assert [(c.source, c.parts) for c in dispatcher.tick()] == [("bluesky", 1)]
    worker = _Worker(config, pg_store, broker_url, queue)
    try:
        wait_for("both copies done", lambda: [r for r in _dispatch_rows(pg_store) if r[6] == 2])
    finally:
        worker.close()
        broker.close()
    assert len(seeded.bluesky.requests) == 2  # collected twice
    slot = to_epoch(now) // 60 * 60
    for info in pg_store.find_series(source="bluesky", metric="followers"):
        assert [ts for ts, _ in pg_store.history(info.id)] == [slot]  # stored once
    assert [(a.outcome, a.stored) for a in pg_store.attempts("bluesky")] == [("ok", 0), ("ok", 2)]


class _RefusingStore:
    """The store, except that writes fail as if the database had gone away."""

    def __init__(self, store: Database) -> None:
        self._store = store

    def write(self, *args: Any, **kwargs: Any) -> int:
        raise StoreError("database unreachable: connection refused (test)")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_part_the_database_never_takes_is_retried_then_dead_lettered(
    seeded: Seeded,
    tmp_path: Path,
    pg_store: Database,
    broker_url: str,  # noqa: F811
    queue: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same retries through RabbitMQ's delay queue, 50 ms apart at first instead of 500:
    # the backoff's length is Dramatiq's business, the retries and the dead letter are ours.
    monkeypatch.setattr(working, "MIN_BACKOFF_MS", 50)
    config = _config(seeded, tmp_path)
    now = datetime.now(UTC).replace(microsecond=0)
    broker = make_broker(broker_url)
    dispatcher = Dispatcher(config, pg_store, broker, queue, clock=lambda: now)
    dispatcher.every = {"bluesky": 60}
    worker = _Worker(config, _RefusingStore(pg_store), broker_url, queue)
    try:
        dispatcher.tick()
        wait_for("the dead letter", lambda: all(r[4] for r in _dispatch_rows(pg_store)))
    finally:
        worker.close()
        broker.close()
    assert [(r[0], r[5]) for r in _dispatch_rows(pg_store)] == [("bluesky", "dead")]
    assert len(seeded.bluesky.requests) == 1 + working.MAX_RETRIES
    dead = [a for a in pg_store.attempts("bluesky") if a.kind == "dead_letter"]
    assert len(dead) == 1 and dead[0].outcome == "failed"
    assert f"dead letter after {working.MAX_RETRIES} retries" in dead[0].cause
    assert "connection refused (test)" in dead[0].cause
    assert pg_store.count() == 0
    assert queue_counts(broker_url, queue) == (0, 0, 1)  # RabbitMQ keeps it in the .XQ
    seen = pg_store.distribution(to_epoch(datetime.now(UTC)))
    assert (seen.waiting, seen.dead) == (0, 1)


# -- the commands --------------------------------------------------------------------------
def _tracker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracker", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["dispatch", "worker"])
def test_sqlite_is_refused_with_exit_2(seeded: Seeded, tmp_path: Path, command: str) -> None:
    config = seeded.write_config(tmp_path / "tracker.toml")
    env = tracker_env(
        config, f"sqlite:///{tmp_path / 'x.db'}", TRACKER_BROKER_URL="amqp://u:pw@127.0.0.1/"
    )
    done = _tracker(env, command)
    assert done.returncode == 2, done.stderr
    assert "the distributed mode needs PostgreSQL" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.db").exists()


def test_no_broker_or_a_bad_one_is_a_clear_message(seeded: Seeded, tmp_path: Path) -> None:
    config = seeded.write_config(tmp_path / "tracker.toml")
    env = tracker_env(config, "postgresql://postgres@127.0.0.1:5432/test")
    done = _tracker(env, "worker")
    assert done.returncode == 2 and "no broker: set TRACKER_BROKER_URL" in done.stderr
    # The first as a real child process, the others in this process (the same `main()`).
    done = entry.run("dispatch", env=env | {"TRACKER_BROKER_URL": "http://rabbit:5672"})
    assert done.returncode == 2 and "is not a RabbitMQ URL" in done.stderr
    url = f"amqp://guest:s3cret@127.0.0.1:{closed_port()}/%2F"
    done = entry.run("worker", env=env | {"TRACKER_BROKER_URL": url})
    assert done.returncode == 3, done.stderr
    assert "unreachable" in done.stderr and "s3cret" not in done.stderr
    assert "guest:***@" in done.stderr and "Traceback" not in done.stderr


def test_the_broker_password_is_masked() -> None:
    assert mask("amqp://guest:pw@host:5672/%2F") == "amqp://guest:***@host:5672/%2F"
    assert mask("amqp://host/") == "amqp://host/"


def test_status_shows_the_distributed_mode(
    seeded: Seeded,
    tmp_path: Path,
    pg_url: str,  # noqa: F811
    pg_store: Database,
    broker_url: str,  # noqa: F811
    queue: str,  # noqa: F811
) -> None:
    config_path = seeded.write_config(tmp_path / "tracker.toml")
    env = tracker_env(config_path, pg_url)
    assert "Distributed mode" not in _tracker(env, "status").stdout  # never ran here
    slot = to_epoch(datetime.now(UTC)) // 60 * 60
    pg_store.dispatch_due({"bluesky": 60}, slot, lambda s, t: [2, 2])
    pg_store.dispatch_done("bluesky", slot, 1, 2, slot, "dead", slot + 1)
    pg_store.worker_seen("host:1", slot, to_epoch(datetime.now(UTC)), 5)
    done = _tracker(env | {"TRACKER_BROKER_URL": broker_url, "TRACKER_QUEUE": queue}, "status")
    assert done.returncode == 0, done.stderr
    assert "workers seen (last minute): 1 — host:1 (5 done)" in done.stdout
    assert "messages waiting: 1 (database); 0 in RabbitMQ queue" in done.stdout
    assert "oldest waiting message: " in done.stdout
    assert "dead letters: 1; dropped as late: 0" in done.stdout


def test_timescale_is_applied_only_where_the_extension_is(pg_store: Database) -> None:
    with pg_store.engine.connect() as conn:
        offered = conn.execute(
            text("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'")
        ).scalar_one()
        installed = conn.execute(
            text("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
        ).scalar_one()
        tables = set(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).scalars()
        )
    assert {"slot", "dispatch", "worker", "snapshot"} <= tables
    # Here (plain PostgreSQL) the step is skipped; on the TimescaleDB image it ran.
    assert installed == offered


def test_a_slot_goes_out_in_parts_of_batch_targets(seeded: Seeded, tmp_path: Path) -> None:
    config = _config(seeded, tmp_path)
    one = Dispatcher(config, _NoStore(), None, "q", batch=1).parts("mastodon", SLOT, SLOT)
    assert [p.targets for p in one] == [(t,) for t in config.targets("mastodon")]
    assert [p.part for p in one] == [0, 1]
    parts = Dispatcher(config, _NoStore(), None, "q").parts("bluesky", SLOT, SLOT)
    assert [p.targets for p in parts] == [tuple(config.targets("bluesky"))]
    again = Part.from_payload(parts[0].payload())
    assert again == parts[0]
    assert from_epoch(again.slot) == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    assert timedelta(seconds=again.every) == timedelta(minutes=1)


class _NoStore:
    """A dispatcher's planning touches no store."""
