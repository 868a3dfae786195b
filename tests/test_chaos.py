"""Chaos: 2 dispatchers and 3 workers (real subprocesses, real RabbitMQ and PostgreSQL) against
the platform fakes; each process is kill -9'd in turn mid-round and restarted. Afterwards:
exactly one snapshot per (series, slot), no slot missing, every message's fate recorded."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import Seeded, tracker_env
from tests.rabbit import Process, broker_url, pg_url, queue, queue_counts, wait_for  # noqa: F401
from tracker.store import Database

# Five processes on a two-core machine: alone on its xdist worker.
pytestmark = pytest.mark.xdist_group("chaos")

INTERVAL = 5  # seconds: every source's slots
DELAY = 0.5  # seconds each fake takes to answer, so a worker is mid-request when killed


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Database]:  # noqa: F811
    store = Database.open(pg_url)
    store.upgrade()
    yield store
    store.close()


def _rows(store: Database, sql: str) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(text(sql)))


def _mid_round() -> None:
    """Sleep until just after the next slot starts: its parts are being sent and collected."""
    time.sleep(INTERVAL - time.time() % INTERVAL + 0.2)


@pytest.mark.slow
def test_kill_9_each_process_in_turn(
    seeded: Seeded,
    tmp_path: Path,
    pg_url: str,  # noqa: F811
    pg_store: Database,
    broker_url: str,  # noqa: F811
    queue: str,  # noqa: F811
) -> None:
    for fake in (seeded.bluesky, seeded.mastodon, seeded.wikipedia, seeded.netflix):
        fake.delay = DELAY
    config = seeded.write_config(tmp_path / "tracker.toml", interval=f"{INTERVAL}s")
    env = tracker_env(config, pg_url, TRACKER_BROKER_URL=broker_url, TRACKER_QUEUE=queue)
    dispatchers = [
        Process(env, tmp_path / f"dispatch-{i}.log", "dispatch", "--tick", "0.5") for i in range(2)
    ]
    workers = [
        Process(env, tmp_path / f"worker-{i}.log", "worker", "--threads", "4") for i in range(3)
    ]
    everyone = [*dispatchers, *workers]
    try:
        for process in everyone:
            process.wait_started()
        wait_for(
            "a first slot collected",
            lambda: _rows(pg_store, "SELECT 1 FROM dispatch WHERE outcome = 'ok'"),
        )
        # Each in turn, two at a time: a dispatcher and a worker in one round, then the next.
        # A dispatcher is always up: the next kill waits until the restarted one runs again.
        for group in ((dispatchers[0], workers[0]), (dispatchers[1], workers[1]), (workers[2],)):
            _mid_round()
            for process in group:
                process.kill()
                process.restart()
            for process in group:
                process.wait_started()
        _mid_round()
        time.sleep(INTERVAL)  # one more whole slot with everyone back
        for process in dispatchers:
            assert process.stop() == 0, process.output()[-3000:]
        wait_for(
            "every message done",
            lambda: not _rows(pg_store, "SELECT 1 FROM dispatch WHERE done IS NULL") or None,
        )
        for process in workers:
            assert process.stop() == 0, process.output()[-3000:]
    finally:
        for process in everyone:
            if process.proc.poll() is None:
                process.proc.kill()
                process.proc.wait(timeout=30)
    output = "".join(process.output() for process in everyone)
    assert "Traceback" not in output, output[-5000:]

    sent = _rows(pg_store, "SELECT source, slot, part, outcome, deliveries FROM dispatch")
    slots: dict[str, set[int]] = defaultdict(set)
    collected: dict[str, set[int]] = defaultdict(set)
    late: dict[str, int] = defaultdict(int)
    for source, slot, _part, outcome, deliveries in sent:
        slots[source].add(int(slot))
        assert deliveries >= 1 and outcome in ("ok", "late"), (source, slot, outcome)
        if outcome == "ok":
            collected[source].add(int(slot))
        else:  # the machine was too busy to take it in its interval: dropped, recorded
            late[source] += 1
    assert set(slots) == {"bluesky", "mastodon", "netflix", "wikipedia"}
    for source, starts in slots.items():
        ordered = sorted(starts)
        # No slot missing from the first to the last, each a multiple of the interval.
        assert ordered == list(range(ordered[0], ordered[-1] + INTERVAL, INTERVAL)), source
        assert len(ordered) >= 4, source
    # Every failure recorded: a failed attempt with its cause per late part; no slot skipped
    # by the dispatchers ('missed'), nothing dead-lettered.
    failed = _rows(pg_store, "SELECT source, kind, cause FROM attempt WHERE outcome <> 'ok'")
    assert sorted((source, kind) for source, kind, _ in failed) == sorted(
        (source, "late") for source, count in late.items() for _ in range(count)
    )
    assert all("dropped, not run late" in cause for *_, cause in failed)

    # Exactly one snapshot per (series, slot) for every instantaneous value.
    instantaneous = _rows(
        pg_store,
        "SELECT k.source, s.id, k.metric, array_agg(p.ts ORDER BY p.ts) FROM snapshot p "
        "JOIN series s ON s.id = p.series_id JOIN kind k ON k.id = s.kind WHERE p.days IS NULL "
        "GROUP BY k.source, s.id, k.metric",
    )
    # Followers of two Bluesky accounts and one Mastodon account, at least.
    assert len([row for row in instantaneous if row[0] in ("bluesky", "mastodon")]) >= 3
    for source, key, metric, stamps in instantaneous:
        assert sorted(stamps) == sorted(collected[source]), (source, key, metric)
    # The processes were killed mid-round: some messages went out or came in twice, and
    # stored nothing twice (the snapshot key is (series, ts), ts the slot's start).
    assert queue_counts(broker_url, queue) == (0, 0, 0)
