"""What a round costs besides the requests: ledger takes, thread hops, series look-ups.

Counted, never timed (the timings are `python -m benchmarks.batching`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.bluesky import FakeBluesky
from tests.fakes.x import TOKEN, FakeX
from tracker import config as config_module
from tracker import harvest as harvest_module
from tracker import secrets as secrets_module
from tracker.collectors.base import Observation
from tracker.collectors.x import XCollector
from tracker.config import Config
from tracker.http import make_client, retry_policy
from tracker.quota import Budget, Quota
from tracker.round import Runner, SourceReport
from tracker.store import Database

AT = datetime(2026, 11, 2, 12, tzinfo=UTC)


async def _no_sleep(_seconds: float) -> None:
    return None


def _config(tmp_path: Path, source: str, url: str, handles: list[str], extra: str = "") -> Config:
    accounts = "".join(
        f'[[accounts]]\nplatform = "{source}"\nhandle = "{h}"\nsubject = "S {h}"\n' for h in handles
    )
    path = tmp_path / "tracker.toml"
    path.write_text(f'[sources.{source}]\nbase_url = "{url}"\n{extra}{accounts}', encoding="utf-8")
    return config_module.load(path)


def _round(config: Config, store: Database, source: str) -> SourceReport:
    async def go() -> SourceReport:
        async with make_client(config.http) as client:
            policy = retry_policy(config.http, sleep=_no_sleep)
            runner = Runner(config, store, client, clock=lambda: AT, policy=policy)
            return await runner.run_source(source)

    return asyncio.run(go())


@pytest.fixture
def x(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeX]:
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    fake = FakeX()
    fake.limits = {"users": 10**6, "counts": 10**6}
    fake.start()
    yield fake
    fake.stop()


def _spy_takes(store: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The cost of every `quota_take` the store is asked for."""
    costs: list[int] = []
    take = store.quota_take

    def spy(key: str, quota: Quota, cost: int, at: datetime) -> Budget | None:
        costs.append(cost)
        return take(key, quota, cost, at)

    monkeypatch.setattr(store, "quota_take", spy)
    return costs


def _users_used(store: Database) -> int:
    (budget,) = [b for b in store.quotas() if b.key.startswith("x:users:")]
    return budget.used


def test_a_budget_that_covers_the_round_is_paid_in_one_take(
    x: FakeX, store: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handles = [f"user{i}" for i in range(250)]  # three users requests of up to 100
    for i, handle in enumerate(handles):
        x.add(handle, 1000 + i)
    config = _config(tmp_path, "x", x.url, handles, "users_per_15min = 10\n")
    costs = _spy_takes(store, monkeypatch)
    report = _round(config, store, "x")
    assert (report.outcome, report.collected, report.stored) == ("ok", 250, 250)
    assert len(x.requests) == 3
    assert costs == [3]
    assert _users_used(store) == 3


def test_a_budget_short_of_the_round_is_spent_per_request_to_the_last_unit(
    x: FakeX, store: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handles = [f"user{i}" for i in range(250)]
    for i, handle in enumerate(handles):
        x.add(handle, 1000 + i)
    config = _config(tmp_path, "x", x.url, handles, "users_per_15min = 2\n")
    costs = _spy_takes(store, monkeypatch)
    report = _round(config, store, "x")
    # The round's 3 did not fit in 2: each request asked alone, two went, one waits.
    assert costs == [3, 1, 1, 1]
    assert len(x.requests) == 2
    assert report.outcome == "partial" and report.kind == "deferred"
    assert report.collected == 250 - len(report.failures)
    assert len(report.failures) in (50, 100)  # the last request holds 50 names, the others 100
    assert all(cause.startswith("deferred: x users quota") for cause in report.failures.values())
    assert _users_used(store) == 2


def _count_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    hops: list[str] = []
    to_thread = asyncio.to_thread

    async def counting(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        inner = getattr(func, "func", func)  # a functools.partial's function
        hops.append(getattr(inner, "__name__", repr(func)))
        return await to_thread(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    return hops


@pytest.mark.parametrize("batch_size", [25, 1])
def test_requests_without_a_budget_make_no_thread_hop(
    batch_size: int, store: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBluesky().start()
    try:
        handles = [f"user{i}.bsky.social" for i in range(50)]
        for i, handle in enumerate(handles):
            fake.add(handle, 1000 + i)
        config = _config(tmp_path, "bluesky", fake.url, handles, f"batch_size = {batch_size}\n")
        hops = _count_hops(monkeypatch)
        report = _round(config, store, "bluesky")
        assert len(fake.requests) == 50 // batch_size
    finally:
        fake.stop()
    assert (report.outcome, report.collected) == ("ok", 50)
    # The write alone, whether 2 requests or 50 (50 values are one batch); an empty spool is
    # a directory listing, no hop.
    assert sorted(hops) == ["write"]


def _obs(metric: str, key: str, value: int, label: str, at: datetime = AT) -> Observation:
    return Observation(metric, key, value, at, f"S {key}", label)


def test_series_ids_with_metrics_interleaved_new_series_among_known_and_a_rename(
    store: Database,
) -> None:
    first = [
        _obs("followers", "a", 1, "a.one"),
        _obs("posts", "b", 2, "b.one"),
        _obs("posts", "a", 3, "a.one"),
        _obs("followers", "b", 4, "b.one"),
    ]
    ids = store.series_ids("bluesky", first)
    assert len(set(ids)) == 4
    later = AT + timedelta(hours=1)
    second = [
        _obs("posts", "a", 5, "a.one", later),
        _obs("followers", "c", 6, "c.one", later),  # new, between known ones
        _obs("followers", "a", 7, "a.one", later),
        _obs("posts", "b", 8, "b.two", later),  # renamed
        _obs("likes", "a", 9, "a.one", later),  # a metric never seen
    ]
    assert store.write("bluesky", second) == 5
    again = store.series_ids("bluesky", second)
    assert again[0] == ids[2] and again[2] == ids[0] and again[3] == ids[1]
    assert len(set(again)) == 5
    by_id = {s.id: s for s in store.find_series(source="bluesky")}
    assert len(by_id) == 6
    assert by_id[ids[1]].label == "b.two"
    assert by_id[ids[3]].label == "b.one"  # the same key under another metric keeps its label
    assert (by_id[again[1]].key, by_id[again[4]].metric) == ("c", "likes")
    # A second store (another process) resolves the same ids from the database.
    other = Database.open(str(store.engine.url.render_as_string(hide_password=False)))
    try:
        assert other.series_ids("bluesky", second) == again
    finally:
        other.close()


def test_a_waves_next_requests_are_written_before_its_answers_are_parsed(
    x: FakeX, store: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 4 requests of 25 names, 2 in flight: two waves. Answers of a wave come together; each
    # is parsed only once the requests that took the freed slots are written to their
    # connections (a loaded machine may take long to write: no cap on the wait here).
    monkeypatch.setattr(harvest_module, "PARSE_WAIT", 30.0)
    x.delay = 0.2
    handles = [f"user{i}" for i in range(100)]
    for i, handle in enumerate(handles):
        x.add(handle, 1000 + i)
    config = _config(tmp_path, "x", x.url, handles, "batch_size = 25\nconcurrency = 2\n")
    events: list[str] = []

    async def trace(event: str, info: Any) -> None:
        if event.endswith("send_request_body.complete"):
            events.append("written")

    async def traced(request: httpx.Request) -> None:  # a caller's own trace is kept
        request.extensions = {**request.extensions, "trace": trace}

    parse = XCollector.parse

    def parsing(self: XCollector, *args: Any) -> Any:
        events.append("parsed")
        return parse(self, *args)

    monkeypatch.setattr(XCollector, "parse", parsing)

    async def go() -> SourceReport:
        async with make_client(config.http) as client:
            client.event_hooks["request"] = [traced]
            policy = retry_policy(config.http, sleep=_no_sleep)
            runner = Runner(config, store, client, clock=lambda: AT, policy=policy)
            return await runner.run_source("x")

    report = asyncio.run(go())
    assert (report.outcome, report.collected) == ("ok", 100)
    assert events.count("written") == 4 and events.count("parsed") == 4
    parsed = 0
    for at, event in enumerate(events):
        if event == "parsed":
            parsed += 1
            # The k-th answer freed k slots: 2 + k requests (of 4) are out before its parse.
            assert events[:at].count("written") >= min(4, 2 + parsed), events


def test_a_credential_read_for_every_request_is_shaped_for_redaction_once(
    store: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = f"round{uuid.uuid4().hex}{uuid.uuid4().hex}"  # new to this process
    monkeypatch.setenv("X_BEARER_TOKEN", token)
    shaped: list[str] = []
    shapes = secrets_module._shapes

    def counting(value: str) -> Any:
        shaped.append(value)
        return shapes(value)

    monkeypatch.setattr(secrets_module, "_shapes", counting)
    fake = FakeX(token=token)
    fake.limits = {"users": 10**6, "counts": 10**6}
    handles = [f"user{i}" for i in range(250)]  # three requests, each reads the token
    for i, handle in enumerate(handles):
        fake.add(handle, 1000 + i)
    with fake:
        report = _round(_config(tmp_path, "x", fake.url, handles), store, "x")
        assert len(fake.requests) == 3
    assert (report.outcome, report.collected) == ("ok", 250)
    assert shaped == [token]
    assert secrets_module.redact(f"Bearer {token}") == "Bearer ***"
