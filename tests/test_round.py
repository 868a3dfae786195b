"""The Runner against the platform fakes, on SQLite and PostgreSQL: what is stored and recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fakes.bluesky import did_for
from tests.fakes.server import Reply
from tracker import config as config_module
from tracker.config import Config
from tracker.http import make_client, retry_policy
from tracker.round import Runner, SourceReport
from tracker.store import Store
from tracker.store.models import Attempt
from tracker.timeutil import day_start, to_epoch

if TYPE_CHECKING:
    from tests.conftest import Seeded

SOURCES = ("bluesky", "mastodon", "netflix", "wikipedia")
HS_GLOBAL = "Heartstopper|Heartstopper: Season 1|global|TV (English)"


async def _no_sleep(_seconds: float) -> None:
    return None


def load(seeded: Seeded, tmp_path: Path, extra: str = "") -> Config:
    return config_module.load(seeded.write_config(tmp_path / "tracker.toml", extra=extra))


def noon(today: date, hours: int = 0) -> datetime:
    """A fixed round time: today at noon UTC (+hours), so no test depends on the wall clock."""
    return datetime(today.year, today.month, today.day, 12, tzinfo=UTC) + timedelta(hours=hours)


def run_round(
    config: Config, store: Store, at: datetime, names: Sequence[str] | None = None
) -> dict[str, SourceReport]:
    async def go() -> list[SourceReport]:
        async with make_client(config.http, config.contact) as client:
            policy = retry_policy(config.http, sleep=_no_sleep)
            runner = Runner(config, store, client, clock=lambda: at, policy=policy)
            return await runner.run_round(names)

    return {report.source: report for report in asyncio.run(go())}


def series(store: Store, subject: str, source: str, metric: str) -> list[tuple[int, int]]:
    """The (ts, value) history of the one series of subject/source/metric."""
    (found,) = store.find_series(subject, source, metric)
    return [(int(ts), int(value)) for ts, value in store.history(found.id)]


def last_attempt(store: Store, source: str) -> Attempt:
    return store.attempts(source, limit=1)[0]


def _account(handle: str, subject: str = "Nick Nelson") -> str:
    return f'\n[[accounts]]\nplatform = "bluesky"\nhandle = "{handle}"\nsubject = "{subject}"\n'


def days_ago(today: date, k: int) -> int:
    return to_epoch(day_start(today - timedelta(days=k)))


def test_one_round_stores_the_right_numbers(seeded: Seeded, store: Store, tmp_path: Path) -> None:
    config = load(seeded, tmp_path)
    at = noon(seeded.today)
    reports = run_round(config, store, at)

    assert {name: r.outcome for name, r in reports.items()} == dict.fromkeys(SOURCES, "ok")
    assert {name: (r.targets, r.collected, r.stored) for name, r in reports.items()} == {
        "bluesky": (2, 2, 2),
        "mastodon": (2, 7, 7),
        "netflix": (1, 6, 6),
        "wikipedia": (2, 12, 12),
    }
    assert store.count() == 27
    ts = to_epoch(at)
    today = seeded.today

    assert series(store, "Kit Connor", "bluesky", "followers") == [(ts, 1800)]
    assert series(store, "Joe Locke", "bluesky", "followers") == [(ts, 950)]
    (kit,) = store.find_series("Kit Connor", "bluesky", "followers")
    assert (kit.key, kit.label) == (did_for("kit.bsky.social"), "kit.bsky.social")

    assert series(store, "Alice Oseman", "mastodon", "followers") == [(ts, 420)]
    # Today's tag count is still growing: only whole days, oldest first.
    assert series(store, "#heartstopper", "mastodon", "hashtag_uses") == [
        (days_ago(today, 3), 5),
        (days_ago(today, 2), 12),
        (days_ago(today, 1), 30),
    ]
    assert series(store, "#heartstopper", "mastodon", "hashtag_accounts") == [
        (days_ago(today, 3), 4),
        (days_ago(today, 2), 9),
        (days_ago(today, 1), 20),
    ]

    # The 10 days asked for, not the 11th the fake also knows; days without views are absent.
    assert series(store, "Heartstopper", "wikipedia", "pageviews") == [
        (days_ago(today, k), 100 * k + 7) for k in range(10, 0, -1)
    ]
    assert series(store, "Kit Connor", "wikipedia", "pageviews") == [
        (days_ago(today, 2), 40),
        (days_ago(today, 1), 50),
    ]

    monday_18 = to_epoch(datetime(2022, 4, 18, tzinfo=UTC))
    monday_25 = to_epoch(datetime(2022, 4, 25, tzinfo=UTC))
    rank = store.find_series("Heartstopper", "netflix", "chart_rank", {"list": "global"})
    assert [s.key for s in rank] == [HS_GLOBAL]
    assert [tuple(p) for p in store.points(rank[0].id)] == [
        (monday_18, 7, 7 * 86400, None, None),
        (monday_25, 5, 7 * 86400, None, None),
    ]
    hours = store.find_series("Heartstopper", "netflix", "hours_viewed")
    assert [(int(t), int(v)) for t, v in store.history(hours[0].id)] == [
        (monday_18, 14550000),
        (monday_25, 23940000),
    ]
    by_country = {
        s.labels["list"]: store.history(s.id)
        for s in store.find_series("Heartstopper", "netflix", "chart_rank")
        if s.labels["list"] != "global"
    }
    assert by_country == {"GB": [(monday_25, 1)], "BR": [(monday_25, 3)]}
    assert store.find_series("Senior Year") == []
    assert store.find_series("Another Show") == []

    attempts = {a.source: a for a in store.attempts()}
    assert {
        name: (a.outcome, a.targets, a.stored, a.failed, a.cause) for name, a in attempts.items()
    } == {  # fmt: skip
        "bluesky": ("ok", 2, 2, 0, ""),
        "mastodon": ("ok", 2, 7, 0, ""),
        "netflix": ("ok", 1, 6, 0, ""),
        "wikipedia": ("ok", 2, 12, 0, ""),
    }
    assert all(a.started == a.finished == ts for a in attempts.values())


def test_a_second_round_adds_no_duplicate_periods(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    config = load(seeded, tmp_path)
    run_round(config, store, noon(seeded.today))
    periods = {
        (s.source, s.metric, s.key): len(store.history(s.id))
        for s in store.find_series()
        if s.source != "bluesky" and s.metric != "followers"
    }
    assert len(periods) == 8 and sum(periods.values()) == 24
    before = store.count()

    reports = run_round(config, store, noon(seeded.today, hours=1))

    # Only the two Bluesky accounts and the Mastodon account get a point for the new hour.
    assert {name: (r.outcome, r.stored) for name, r in reports.items()} == {
        "bluesky": ("ok", 2),
        "mastodon": ("ok", 1),
        "netflix": ("ok", 0),
        "wikipedia": ("ok", 0),
    }
    assert store.count() == before + 3
    assert periods == {
        (s.source, s.metric, s.key): len(store.history(s.id))
        for s in store.find_series()
        if s.source != "bluesky" and s.metric != "followers"
    }
    assert [a.stored for a in store.attempts("netflix")] == [0, 6]
    assert series(store, "Kit Connor", "bluesky", "followers") == [
        (to_epoch(noon(seeded.today)), 1800),
        (to_epoch(noon(seeded.today, hours=1)), 1800),
    ]


@pytest.mark.parametrize("how", ["http-500", "stopped"])
def test_a_failing_source_is_recorded_and_the_others_collect(
    seeded: Seeded, store: Store, tmp_path: Path, how: str
) -> None:
    config = load(seeded, tmp_path)
    if how == "http-500":
        # Two files, two attempts each (max_attempts = 2): every request answers 500.
        seeded.netflix.fail_next(*[Reply(500, {}, b"upstream down")] * 4)
        failing, cause = "netflix", "Heartstopper: HTTP 500: upstream down"
    else:
        seeded.bluesky.stop()
        failing, cause = "bluesky", "127.0.0.1: ConnectError"

    reports = run_round(config, store, noon(seeded.today))

    report = reports[failing]
    assert (report.outcome, report.collected, report.stored, report.kind) == (
        "failed",
        0,
        0,
        "temporary",
    )
    attempt = last_attempt(store, failing)
    assert (attempt.outcome, attempt.stored, attempt.failed, attempt.kind) == (
        "failed",
        0,
        report.targets,
        "temporary",
    )
    assert cause in attempt.cause
    assert all(store.history(s.id) == [] for s in store.find_series(source=failing))
    others = {name: r for name, r in reports.items() if name != failing}
    assert {r.outcome for r in others.values()} == {"ok"}
    assert store.count() == sum(r.stored for r in others.values()) > 0
    assert series(store, "Heartstopper", "wikipedia", "pageviews")[-1] == (
        days_ago(seeded.today, 1),
        107,
    )
    if how == "http-500":
        assert len(seeded.netflix.requests) == 4


def test_an_unknown_bluesky_actor_is_partial_and_the_others_are_stored(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    ghost = (
        '\n[[accounts]]\nplatform = "bluesky"\nhandle = "ghost.bsky.social"\nsubject = "Ghost"\n'
    )
    config = load(seeded, tmp_path, extra=ghost)

    report = run_round(config, store, noon(seeded.today), ["bluesky"])["bluesky"]

    assert (report.outcome, report.targets, report.collected, report.stored) == (
        "partial",
        3,
        2,
        2,
    )
    assert series(store, "Kit Connor", "bluesky", "followers")[0][1] == 1800
    assert series(store, "Joe Locke", "bluesky", "followers")[0][1] == 950
    assert store.find_series("Ghost") == []
    attempt = last_attempt(store, "bluesky")
    assert (attempt.outcome, attempt.failed, attempt.kind) == ("partial", 1, "not_found")
    assert attempt.cause == "ghost.bsky.social: not found: Bluesky left the actor out"
    (status,) = [s for s in store.status() if s.source == "bluesky"]
    assert status.last_success is not None and status.last_failure is not None
    assert status.failures_in_a_row == 0


JSON = {"Content-Type": "application/json"}
HTML = b"<html><head><title>Just a moment...</title></head><body>checking</body></html>"


@pytest.mark.parametrize(
    ("source", "body", "cause"),
    [
        ("bluesky", b"", "empty body"),
        ("bluesky", HTML, "HTML where JSON was expected"),
        ("bluesky", b"null", "body is JSON null"),
        ("netflix", b"", "empty body"),
        ("netflix", HTML, "HTML where a TSV was expected"),
        ("netflix", b"null", "body is JSON null"),
    ],
)
def test_nothing_is_stored_from_an_empty_html_or_null_body(
    seeded: Seeded, store: Store, tmp_path: Path, source: str, body: bytes, cause: str
) -> None:
    config = load(seeded, tmp_path)
    fake = seeded.bluesky if source == "bluesky" else seeded.netflix
    assert run_round(config, store, noon(seeded.today), [source])[source].outcome == "ok"
    before = {s.id: store.history(s.id) for s in store.find_series(source=source)}
    stored = store.count()
    assert stored == (2 if source == "bluesky" else 6)
    requests = len(fake.requests)
    # Netflix asks for two files: both get the bad body.
    fake.fail_next(*[Reply(200, JSON, body)] * (1 if source == "bluesky" else 2))

    report = run_round(config, store, noon(seeded.today, hours=1), [source])[source]

    assert store.count() == stored
    assert {s.id: store.history(s.id) for s in store.find_series(source=source)} == before
    assert (report.outcome, report.collected, report.kind) == ("failed", 0, "bad_payload")
    attempt = last_attempt(store, source)
    assert (attempt.outcome, attempt.stored, attempt.kind) == ("failed", 0, "bad_payload")
    assert cause in attempt.cause
    # Not retried: a bad body is not temporary.
    assert len(fake.requests) - requests == (1 if source == "bluesky" else 2)


@pytest.mark.parametrize("tracked_as", ["did", "new-handle"])
def test_a_renamed_handle_continues_the_same_series(
    seeded: Seeded, store: Store, tmp_path: Path, tracked_as: str
) -> None:
    did = seeded.bluesky.add("nick.bsky.social", 5000)
    first = _account(did if tracked_as == "did" else "nick.bsky.social")
    run_round(load(seeded, tmp_path, extra=first), store, noon(seeded.today), ["bluesky"])
    (before,) = store.find_series("Nick Nelson", "bluesky", "followers")
    assert (before.key, before.label) == (did, "nick.bsky.social")

    seeded.bluesky.rename("nick.bsky.social", "nicholas.bsky.social")
    seeded.bluesky.set_followers(did, 5100)
    second = _account(did if tracked_as == "did" else "nicholas.bsky.social")
    later = noon(seeded.today, hours=1)
    report = run_round(load(seeded, tmp_path, extra=second), store, later, ["bluesky"])

    assert report["bluesky"].outcome == "ok"
    (after,) = store.find_series("Nick Nelson", "bluesky", "followers")
    assert (after.id, after.key, after.label) == (before.id, did, "nicholas.bsky.social")
    assert series(store, "Nick Nelson", "bluesky", "followers") == [
        (to_epoch(noon(seeded.today)), 5000),
        (to_epoch(later), 5100),
    ]


def test_a_renamed_handle_still_configured_by_its_old_name_fails_without_a_zero(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    config = load(seeded, tmp_path, extra=_account("nick.bsky.social"))
    did = seeded.bluesky.add("nick.bsky.social", 5000)
    run_round(config, store, noon(seeded.today), ["bluesky"])
    seeded.bluesky.rename("nick.bsky.social", "nicholas.bsky.social")

    report = run_round(config, store, noon(seeded.today, hours=1), ["bluesky"])["bluesky"]

    assert (report.outcome, report.stored) == ("partial", 2)
    assert report.failures == {"nick.bsky.social": "not found: Bluesky left the actor out"}
    assert series(store, "Nick Nelson", "bluesky", "followers") == [
        (to_epoch(noon(seeded.today)), 5000)
    ]
    (nick,) = store.find_series("Nick Nelson")
    assert (nick.key, nick.label) == (did, "nick.bsky.social")


def test_status_tracks_success_failure_cause_and_failures_in_a_row(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    config = load(seeded, tmp_path)
    t = [noon(seeded.today, hours=h) for h in range(4)]

    run_round(config, store, t[0], ["bluesky"])
    for moment in t[1:3]:  # two rounds in which every attempt answers 503
        seeded.bluesky.fail_next(Reply(503, {}, b"busy"), Reply(503, {}, b"busy"))
        assert run_round(config, store, moment, ["bluesky"])["bluesky"].outcome == "failed"

    (down,) = store.status()
    assert (down.source, down.last_outcome, down.failures_in_a_row) == ("bluesky", "failed", 2)
    assert (down.last_success, down.last_failure) == (t[0], t[2])
    assert down.last_cause == ("kit.bsky.social: HTTP 503: busy; joe.bsky.social: HTTP 503: busy")
    assert down.next_run is None
    assert store.count() == 2

    run_round(config, store, t[3], ["bluesky"])

    (up,) = store.status()
    assert (up.last_outcome, up.failures_in_a_row) == ("ok", 0)
    assert (up.last_success, up.last_failure) == (t[3], t[2])
    assert store.count() == 4
    assert [a.outcome for a in store.attempts("bluesky")] == ["ok", "failed", "failed", "ok"]


def test_an_undecodable_body_fails_its_source_only(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    """httpx raises DecodingError, not a transport error: it must not end the whole round.

    (A redirect loop, httpx's TooManyRedirects, takes the same path: see test_http.)
    """
    gzip = {"Content-Type": "text/tab-separated-values", "Content-Encoding": "gzip"}
    seeded.netflix.fail_next(Reply(200, gzip, b"not gzip"), Reply(200, gzip, b"not gzip"))
    config = load(seeded, tmp_path)

    reports = run_round(config, store, noon(seeded.today))

    assert (reports["netflix"].outcome, reports["netflix"].kind) == ("failed", "bad_payload")
    assert "body cannot be decoded" in last_attempt(store, "netflix").cause
    assert store.find_series(source="netflix") == []
    assert {reports[n].outcome for n in ("bluesky", "mastodon", "wikipedia")} == {"ok"}
    assert store.count() == 2 + 7 + 12
    assert len(seeded.netflix.requests) == 2  # not retried


def test_a_collector_crash_on_a_payload_fails_its_target_only(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    """A day no clock can hold makes the Mastodon parser raise OverflowError, not BadPayload."""
    seeded.mastodon.tags["heartstopper"]["history"][1]["day"] = str(10**20)
    config = load(seeded, tmp_path)

    reports = run_round(config, store, noon(seeded.today))

    mastodon = reports["mastodon"]
    assert (mastodon.outcome, mastodon.stored) == ("partial", 1)
    assert set(mastodon.failures) == {"heartstopper"}
    assert "OverflowError" in last_attempt(store, "mastodon").cause
    assert series(store, "Alice Oseman", "mastodon", "followers")[0][1] == 420
    assert store.find_series("#heartstopper") == []
    assert {reports[n].outcome for n in ("bluesky", "netflix", "wikipedia")} == {"ok"}
