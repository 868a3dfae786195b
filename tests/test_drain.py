"""The round writes its values in batches as answers come (tracker/drain.py).

Partial writes are all-or-counted: every value is either committed by a batch, spooled, or
named in the round's note as not stored, and `stored` counts exactly what batches committed.
Counted, never timed (the round's wall time is `python -m benchmarks.batching`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.x import TOKEN, FakeX
from tracker import config as config_module
from tracker import drain as drain_module
from tracker.config import Config
from tracker.core import Observation, Sudden
from tracker.drain import Drain
from tracker.errors import Clashed, StoreError, StoreRefused
from tracker.http import make_client, retry_policy
from tracker.round import Runner, SourceReport
from tracker.spool import Spool
from tracker.store import Database

AT = datetime(2026, 11, 2, 12, tzinfo=UTC)
USERS = 250  # three requests of 100, 100 and 50 names


async def _no_sleep(_seconds: float) -> None:
    return None


class _PacedX(FakeX):
    """Answers one at a time (the source's concurrency is 1), each after the store has written
    something since the answer before it, or after `delay` seconds, whichever comes first: so
    each answer of 100 names is a batch of its own, without waiting 0.5 s per answer. A drain
    that did not write while the round still asks gets its answers `delay` apart, as before,
    and fails the same assertions."""

    def __init__(self) -> None:
        super().__init__()
        self.paced = True
        self._writes = 0
        self._writes_at_last_answer = 0
        self._written = threading.Condition()

    def wrote(self) -> None:
        with self._written:
            self._writes += 1
            self._written.notify_all()

    def pause(self, arrived: float) -> None:
        if not self.paced:
            return super().pause(arrived)
        with self._written:
            first = len(self.requests) == 1
            if not first:
                since = self._writes_at_last_answer
                self._written.wait_for(lambda: self._writes > since, timeout=self.delay)
            self._writes_at_last_answer = self._writes
        return None


@pytest.fixture
def x(monkeypatch: pytest.MonkeyPatch) -> Iterator[_PacedX]:
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    fake = _PacedX()
    write = Database.write

    def written(self: Database, *args: Any, **kwargs: Any) -> int:
        try:
            return write(self, *args, **kwargs)
        finally:
            fake.wrote()

    monkeypatch.setattr(Database, "write", written)
    # At most 0.5 s between answers (one request in flight): a batch's write is done long
    # before the next answer, even on a loaded machine.
    fake.delay = 0.5
    fake.limits = {"users": 10**6, "counts": 10**6}
    for i in range(USERS):
        fake.add(f"user{i}", 1000 + i)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # One batch per answer of 100 names: the round's three answers make three writes.
    monkeypatch.setattr(drain_module, "BATCH", 100)


def _config(tmp_path: Path, url: str, users: int = USERS) -> Config:
    accounts = "".join(
        f'[[accounts]]\nplatform = "x"\nhandle = "user{i}"\nsubject = "S {i}"\n'
        for i in range(users)
    )
    path = tmp_path / "tracker.toml"
    path.write_text(
        f'spool_dir = "{tmp_path / "spool"}"\n'
        f'[sources.x]\nbase_url = "{url}"\nconcurrency = 1\n{accounts}',
        encoding="utf-8",
    )
    return config_module.load(path)


class _Batches(Database):
    """The store, keeping each write's size and how many requests the fake had seen then;
    the write numbered `fail_at` (1-based) raises `error`."""

    def __init__(
        self, inner: Database, fake: FakeX, fail_at: int = 0, error: Exception | None = None
    ) -> None:
        super().__init__(inner.engine)
        self.fake = fake
        self.fail_at = fail_at
        self.error = error
        self.sizes: list[int] = []
        self.seen: list[int] = []

    def write(
        self,
        source: str,
        observations: Iterable[Observation],
        flags: int | None = None,
        *,
        sudden: Sudden | None = None,
    ) -> int:
        values = list(observations)
        self.sizes.append(len(values))
        self.seen.append(len(self.fake.requests))
        if len(self.sizes) == self.fail_at and self.error is not None:
            raise self.error
        return super().write(source, values, flags, sudden=sudden)


def _round(config: Config, store: Database, at: datetime = AT) -> SourceReport:
    async def go() -> SourceReport:
        async with make_client(config.http) as client:
            policy = retry_policy(config.http, sleep=_no_sleep)
            runner = Runner(config, store, client, clock=lambda: at, policy=policy)
            return await runner.run_source("x")

    return asyncio.run(go())


def _stored(store: Database) -> int:
    return sum(len(store.history(s.id)) for s in store.find_series(source="x"))


def test_values_are_written_while_the_round_still_asks(
    x: FakeX, store: Database, tmp_path: Path
) -> None:
    batches = _Batches(store, x)
    report = _round(_config(tmp_path, x.url), batches)
    assert (report.outcome, report.collected, report.stored) == ("ok", USERS, USERS)
    assert batches.sizes == [100, 100, 50]
    # The first two batches went to the store before the last request had been answered.
    assert batches.seen[0] < 3 and batches.seen[1] <= 3
    assert len(x.requests) == 3
    assert _stored(store) == USERS
    (attempt,) = store.attempts("x")
    assert (attempt.outcome, attempt.stored) == ("ok", USERS)


def test_a_second_round_stores_nothing_new_and_counts_it(
    x: FakeX, store: Database, tmp_path: Path
) -> None:
    config = _config(tmp_path, x.url)
    _round(config, store)
    report = _round(config, _Batches(store, x))  # the same time: every (series, ts) is there
    assert (report.outcome, report.collected, report.stored) == ("ok", USERS, 0)
    assert _stored(store) == USERS


def test_a_database_lost_midway_spools_only_what_no_batch_committed(
    x: FakeX, store: Database, tmp_path: Path
) -> None:
    config = _config(tmp_path, x.url)
    down = _Batches(store, x, fail_at=2, error=StoreError("database error: connection lost"))
    report = _round(config, down)

    assert (report.outcome, report.kind, report.stored) == ("spooled", "store", 100)
    assert "150 value(s) spooled" in report.note
    assert "100 new value(s) written before" in report.note
    assert _stored(store) == 100
    (file,) = Spool.for_store(config.spool_dir, store).files()
    spooled = Spool.for_store(config.spool_dir, store).read(file)
    assert len(spooled.observations) == 150  # the failed batch and the one after it
    (attempt,) = store.attempts("x")  # the ledger was still there: recorded at once
    assert (attempt.outcome, attempt.stored) == ("spooled", 100)

    # The database is back: the next round replays the spool first; nothing twice.
    later = _round(config, store, AT.replace(hour=13))
    assert later.outcome == "ok"
    assert _stored(store) == 2 * USERS
    assert Spool.for_store(config.spool_dir, store).files() == []
    assert [a.stored for a in store.attempts("x")] == [USERS, 100]


def test_an_attempt_spooled_midway_is_replayed_with_every_new_value_counted(
    x: FakeX, store: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, x.url)
    down = _Batches(store, x, fail_at=3, error=StoreError("database error: connection lost"))

    def no_ledger(attempt: Any) -> None:
        raise StoreError("database error: connection lost")

    monkeypatch.setattr(down, "record_attempt", no_ledger)
    report = _round(config, down)
    assert (report.outcome, report.stored) == ("spooled", 200)
    assert store.attempts("x") == []

    done = Spool.for_store(config.spool_dir, store).replay(store)
    assert (done.files, done.values, done.stored) == (1, 50, 50)
    (attempt,) = store.attempts("x")
    # The round's two batches and the replay's one: all 250 new values, counted once.
    assert (attempt.outcome, attempt.stored) == ("spooled", USERS)
    assert _stored(store) == USERS


def test_a_store_refusing_midway_keeps_what_was_written_and_names_the_rest(
    x: FakeX, store: Database, tmp_path: Path
) -> None:
    config = _config(tmp_path, x.url)
    refusing = _Batches(store, x, fail_at=2, error=StoreRefused("value out of range (test)"))
    report = _round(config, refusing)

    assert (report.outcome, report.kind, report.stored) == ("failed", "store", 100)
    assert "150 value(s) not stored (100 written before, 100 of them new)" in report.note
    assert refusing.sizes[:2] == [100, 100]  # the drain stopped at the refused batch
    assert len(refusing.sizes) == 2
    assert Spool.for_store(config.spool_dir, store).files() == []
    assert _stored(store) == 100
    (attempt,) = store.attempts("x")
    assert (attempt.outcome, attempt.stored) == ("failed", 100)
    assert "150 value(s) not stored" in attempt.cause


class _Clashing(_Batches):
    """The first batch holds one value the store refuses as a repeat: the rest of it is stored."""

    def write(
        self,
        source: str,
        observations: Iterable[Observation],
        flags: int | None = None,
        *,
        sudden: Sudden | None = None,
    ) -> int:
        values = list(observations)
        if self.sizes:
            return super().write(source, values, flags, sudden=sudden)
        self.sizes.append(len(values))
        new = Database.write(self, source, values[1:], flags, sudden=sudden)
        raise Clashed("1 value(s) refused: one series and time twice (test)", new, 1)


def test_a_batch_with_a_repeat_refused_does_not_stop_the_others(
    x: FakeX, store: Database, tmp_path: Path
) -> None:
    clashing = _Clashing(store, x)
    report = _round(_config(tmp_path, x.url), clashing)
    assert clashing.sizes == [100, 100, 50]  # the drain went on after the refusal
    assert (report.outcome, report.kind, report.stored) == ("partial", "store", USERS - 1)
    assert "1 value(s) refused: one series and time twice (test)" in report.note
    assert _stored(store) == USERS - 1
    (attempt,) = store.attempts("x")
    assert (attempt.outcome, attempt.stored) == ("partial", USERS - 1)


def test_a_round_stopped_midway_spools_what_no_batch_committed(
    x: _PacedX, store: Database, tmp_path: Path
) -> None:
    config = _config(tmp_path, x.url)
    x.paced = False
    x.delay = 1.0  # the second answer is a second away when the first batch is committed
    batches = _Batches(store, x)

    async def go() -> None:
        async with make_client(config.http) as client:
            policy = retry_policy(config.http, sleep=_no_sleep)
            runner = Runner(config, batches, client, clock=lambda: AT, policy=policy)
            task = asyncio.create_task(runner.run_source("x"))
            for _ in range(500):  # the first batch is committed; the second request waits
                if await asyncio.to_thread(_stored, store) == 100:
                    break
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(go())
    assert _stored(store) == 100
    spool = Spool.for_store(config.spool_dir, store)
    (file,) = spool.files()
    assert len(spool.read(file).observations) == 0  # the others were never answered
    done = spool.replay(store)
    (attempt,) = store.attempts("x")
    assert (attempt.outcome, attempt.kind, attempt.stored) == ("spooled", "stopped", 100)
    assert done.files == 1 and _stored(store) == 100


def test_the_drain_writes_nothing_below_a_batch_until_it_finishes(store: Database) -> None:
    values: list[Observation] = []
    drain = Drain(store, "x", values, batch=3)

    async def go() -> list[int]:
        seen = []
        values.extend(Observation("followers", f"k{i}", i, AT, f"S{i}") for i in range(2))
        drain.poke()
        await asyncio.sleep(0.05)
        seen.append(drain.written)
        values.append(Observation("followers", "k2", 2, AT, "S2"))
        drain.poke()
        for _ in range(100):
            if drain.written:
                break
            await asyncio.sleep(0.01)
        seen.append(drain.written)
        values.append(Observation("followers", "k3", 3, AT, "S3"))
        await drain.finish()
        seen.append(drain.written)
        return seen

    assert asyncio.run(go()) == [0, 3, 4]
    assert (drain.stored, list(drain.unwritten)) == (4, [])


def test_a_drain_with_nothing_to_write_asks_nothing(store: Database) -> None:
    drain = Drain(store, "x", [])
    asyncio.run(drain.finish())
    assert (drain.written, drain.stored, drain.error) == (0, 0, None)


def test_a_series_and_time_an_earlier_batch_wrote_is_a_repeat_or_refused_and_said(
    store: Database,
) -> None:
    def value(key: str, number: int) -> Observation:
        return Observation("followers", key, number, AT, f"S {key}")

    values: list[Observation] = []
    drain = Drain(store, "x", values, batch=2)

    async def go() -> None:
        values.extend([value("k1", 1), value("k2", 2)])
        drain.poke()
        for _ in range(200):
            if drain.written:
                break
            await asyncio.sleep(0.01)
        # Later answers: k1 again with the same value (a repeat), and with another one.
        values.extend([value("k1", 1), value("k1", 9), value("k3", 3)])
        await drain.finish()

    with pytest.raises(Clashed) as caught:
        asyncio.run(go())
    assert (caught.value.stored, caught.value.refused) == (3, 1)
    assert "k1 followers at 2026-11-02 12:00: 1 kept, 9 refused" in str(caught.value)
    assert (drain.written, drain.stored, list(drain.unwritten)) == (5, 3, [])
    stored = {s.key: [v for _, v in store.history(s.id)] for s in store.find_series(source="x")}
    assert stored == {"k1": [1], "k2": [2], "k3": [3]}


def test_once_every_request_is_sent_each_answer_is_written_as_it_comes(
    x: FakeX, store: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 300 names, one request in flight: three answers of 100, 0.5 s apart. The third request
    # takes the slot the second answer frees; from then on a batch needs EAGER (100) values,
    # not 250: the first two answers are written while the third is awaited, and after it
    # only its own 100 values are left (waiting for 250 would write all 300 after it).
    monkeypatch.setattr(drain_module, "BATCH", 250)
    for i in range(USERS, 300):
        x.add(f"user{i}", 1000 + i)
    batches = _Batches(store, x)
    report = _round(_config(tmp_path, x.url, users=300), batches)
    assert (report.outcome, report.collected, report.stored) == ("ok", 300, 300)
    assert len(x.requests) == 3
    assert batches.sizes == [200, 100]
    assert _stored(store) == 300
