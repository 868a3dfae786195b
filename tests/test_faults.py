"""The fault table: every known way a platform answers badly, over real sockets, one row each.

Each case runs a full round of six sources (Bluesky, Mastodon, Wikipedia, Netflix, YouTube,
X) against the fakes with one fault injected into one source, then checks, for EVERY case:

    the round completes            a report for every source, the others "ok"
    nothing wrong is stored        the exact stored rows of every source
    the attempt says why           Store.attempts: outcome, kind, cause
    `tracker status` shows it      Store.status and the status table it prints
    retries stay within the bound  the fake's request count and the waits asked for

No test sleeps for a retry: the policy's sleep records the waits instead.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.conftest import (
    NETFLIX_GLOBAL_COLUMNS,
    NETFLIX_GLOBAL_ROWS,
    NETFLIX_SEASON,
    Seeded,
    Sleeps,
    StoredRow,
    netflix_tsv,
    stored_rows,
)
from tests.fakes.bluesky import did_for
from tests.fakes.netflix import PREFIX
from tests.fakes.server import FakePlatform, Fault, Reply
from tests.fakes.x import TOKEN, FakeX
from tests.fakes.youtube import KEY, FakeYouTube, quota_exceeded
from tracker import config as config_module
from tracker import views
from tracker.http import make_client, retry_policy
from tracker.round import Runner, SourceReport
from tracker.store import Store
from tracker.timeutil import day_start, to_epoch

SOURCES = ("bluesky", "mastodon", "netflix", "wikipedia", "x", "youtube")
JSON = {"Content-Type": "application/json"}
HTML_TYPE = {"Content-Type": "text/html"}
HTML = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>wait</body></html>"
MAX_ATTEMPTS = 2  # the seeded config's http.max_attempts
YT_HEARTSTOPPER = "UC" + "H" * 22
YT_ALICE = "UC" + "A" * 22
GLOBAL_HS = f"Heartstopper|{NETFLIX_SEASON}|global|TV (English)"
MONDAY_18 = to_epoch(datetime(2022, 4, 18, tzinfo=UTC))
MONDAY_25 = to_epoch(datetime(2022, 4, 25, tzinfo=UTC))


@dataclass
class World:
    """The seeded fakes plus YouTube and X, and the round's fixed time."""

    seeded: Seeded
    youtube: FakeYouTube
    x: FakeX
    at: datetime
    x_ids: dict[str, str]
    alice_id: str  # Alice's Mastodon account id
    urls: dict[str, str] = field(default_factory=dict)  # base URL overrides for one case

    def fake(self, source: str) -> FakePlatform:
        s = self.seeded
        return {
            "bluesky": s.bluesky,
            "mastodon": s.mastodon,
            "wikipedia": s.wikipedia,
            "netflix": s.netflix,
            "youtube": self.youtube,
            "x": self.x,
        }[source]

    @property
    def today(self) -> date:
        return self.seeded.today

    def days_ago(self, k: int) -> int:
        return to_epoch(day_start(self.today - timedelta(days=k)))

    def clean(self, source: str) -> set[StoredRow]:
        """The exact rows a fault-free round stores for `source`."""
        ts = to_epoch(self.at)
        alice = f"mastodon.social:{self.alice_id}"
        tag = "mastodon.social:heartstopper"
        hs, kit = "en.wikipedia:Heartstopper_(TV_series)", "en.wikipedia:Kit_Connor"
        country = f"Heartstopper|{NETFLIX_SEASON}|%s|TV"
        rows: dict[str, list[tuple[str, str, int, int]]] = {
            "bluesky": [
                ("followers", did_for("kit.bsky.social"), ts, 1800),
                ("followers", did_for("joe.bsky.social"), ts, 950),
            ],
            "mastodon": [
                ("followers", alice, ts, 420),
                *[
                    ("hashtag_uses", tag, self.days_ago(k), n)
                    for k, n in ((1, 30), (2, 12), (3, 5))
                ],
                *[
                    ("hashtag_accounts", tag, self.days_ago(k), n)
                    for k, n in ((1, 20), (2, 9), (3, 4))
                ],
            ],
            "wikipedia": [
                *[("pageviews", hs, self.days_ago(k), 100 * k + 7) for k in range(1, 11)],
                ("pageviews", kit, self.days_ago(1), 50),
                ("pageviews", kit, self.days_ago(2), 40),
            ],
            "netflix": [
                ("chart_rank", GLOBAL_HS, MONDAY_18, 7),
                ("chart_rank", GLOBAL_HS, MONDAY_25, 5),
                ("hours_viewed", GLOBAL_HS, MONDAY_18, 14_550_000),
                ("hours_viewed", GLOBAL_HS, MONDAY_25, 23_940_000),
                ("chart_rank", country % "GB", MONDAY_25, 1),
                ("chart_rank", country % "BR", MONDAY_25, 3),
            ],
            "youtube": [
                ("followers", YT_HEARTSTOPPER, ts, 1_230_000),  # 1,234,567 to 3 figures
                ("videos", YT_HEARTSTOPPER, ts, 120),
                ("views", YT_HEARTSTOPPER, ts, 1_000_000),
                ("followers", YT_ALICE, ts, 45_600),
                ("videos", YT_ALICE, ts, 120),
                ("views", YT_ALICE, ts, 1_000_000),
            ],
            "x": [
                ("followers", self.x_ids["kitconnor"], ts, 2_000_000),
                ("followers", self.x_ids["joelocke"], ts, 500_000),
            ],
        }
        return {(source, *row) for row in rows[source]}


def _extra(youtube_url: str, x_url: str) -> str:
    return f"""
[sources.youtube]
base_url = "{youtube_url}"
jitter = 0

[sources.x]
base_url = "{x_url}"
jitter = 0

[[accounts]]
platform = "youtube"
handle = "@heartstopper"
id = "{YT_HEARTSTOPPER}"
subject = "Heartstopper"

[[accounts]]
platform = "youtube"
handle = "@aliceoseman"
id = "{YT_ALICE}"
subject = "Alice Oseman"

[[accounts]]
platform = "x"
handle = "kitconnor"
subject = "Kit Connor"

[[accounts]]
platform = "x"
handle = "joelocke"
subject = "Joe Locke"
"""


@pytest.fixture
def world(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    youtube, x = FakeYouTube(), FakeX()
    youtube.start()
    x.start()
    try:
        youtube.add("heartstopper", 1_234_567, channel_id=YT_HEARTSTOPPER)
        youtube.add("aliceoseman", 45_678, channel_id=YT_ALICE)
        ids = {
            name: x.add(name, n) for name, n in (("kitconnor", 2_000_000), ("joelocke", 500_000))
        }
        today = seeded.today
        at = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
        alice = seeded.mastodon.accounts["alice@mastodon.social"]["id"]
        yield World(seeded, youtube, x, at, ids, alice)
    finally:
        # All six at once (the `fakes` fixture's own stop is then a no-op): each stop waits
        # for its server loop to notice, and one after the other that adds up.
        every = [youtube, x, seeded.bluesky, seeded.mastodon, seeded.wikipedia, seeded.netflix]
        stoppers = [threading.Thread(target=fake.stop) for fake in every]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join(timeout=10)


# -- the injections ---------------------------------------------------------------------
Inject = Callable[[World], None]


def replies(source: str, *answers: Reply | Fault) -> Inject:
    return lambda w: w.fake(source).fail_next(*answers)


def too_many(headers: dict[str, str], error: str = "Too many requests") -> Reply:
    return Reply.json({"error": error}, 429, headers)


def http_date(seconds: int) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


def mastodon_iso_429(w: World) -> None:
    w.seeded.mastodon.fail_next(*[w.seeded.mastodon.too_many(reset_in=3)] * 4)


def x_epoch_429(w: World) -> None:
    w.x.fail_next(*[w.x.too_many(reset_in=3)] * MAX_ATTEMPTS)


def refused(w: World) -> None:
    w.urls["x"] = w.x.url
    w.x.stop()


def read_timeout(w: World) -> None:
    w.seeded.bluesky.slow_seconds = 1.0
    w.seeded.bluesky.fail_next(Fault.TIMEOUT, Fault.TIMEOUT)


def drop_field(w: World) -> None:
    del w.seeded.bluesky.profiles[did_for("kit.bsky.social")]["followersCount"]


def x_string_count(w: World) -> None:
    w.x.users[w.x_ids["joelocke"]]["public_metrics"]["followers_count"] = "500K"


def wiki_string_count(w: World) -> None:
    views = w.seeded.wikipedia.views[("en.wikipedia", "Kit_Connor")]
    views[w.today - timedelta(days=1)] = "lots"  # type: ignore[assignment]  # drift on purpose


def netflix_files(
    global_columns: tuple[str, ...], global_rows: tuple[tuple[str, ...], ...]
) -> Inject:
    def inject(w: World) -> None:
        w.seeded.netflix.files["all-weeks-global.tsv"] = netflix_tsv(
            global_columns, global_rows
        ).encode()

    return inject


def _reorder(columns: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> Inject:
    """Columns reversed and an extra one added: read by name, so nothing changes."""
    wide = (*reversed(columns), "runtime")
    moved = tuple((*reversed(row), "0:45") for row in rows)
    return netflix_files(wide, moved)


def _without(column: str) -> Inject:
    keep = [i for i, name in enumerate(NETFLIX_GLOBAL_COLUMNS) if name != column]
    columns = tuple(NETFLIX_GLOBAL_COLUMNS[i] for i in keep)
    return netflix_files(columns, tuple(tuple(row[i] for i in keep) for row in NETFLIX_GLOBAL_ROWS))


def _rank_as_word(w: World) -> None:
    rows = list(NETFLIX_GLOBAL_ROWS)
    rows[0] = tuple("five" if i == 2 else cell for i, cell in enumerate(rows[0]))
    netflix_files(NETFLIX_GLOBAL_COLUMNS, tuple(rows))(w)


def _delete(source: str, name: str) -> Inject:
    def inject(w: World) -> None:
        if source == "bluesky":
            del w.seeded.bluesky.profiles[did_for(name)]
        elif source == "mastodon":
            del w.seeded.mastodon.accounts[name]
        elif source == "youtube":
            del w.youtube.channels[name]
        else:
            del w.x.users[w.x_ids[name]]

    return inject


def renamed_bluesky(w: World) -> None:
    w.seeded.bluesky.rename("joe.bsky.social", "joelocke.bsky.social")


def suspended_mastodon(w: World) -> None:
    w.seeded.mastodon.accounts["alice@mastodon.social"]["suspended"] = True


def suspended_x(w: World) -> None:
    w.x.suspended.add("joelocke")


def moved_netflix(w: World) -> None:
    w.seeded.netflix.moved["/top10/data"] = PREFIX
    w.urls["netflix"] = w.seeded.netflix.url + "/top10/data"


def redirect_loop(w: World) -> None:
    w.seeded.netflix.moved[PREFIX] = PREFIX


# -- the table --------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    source: str
    inject: Inject
    outcome: str  # ok | partial | failed
    kind: str = ""
    cause: str = ""  # in the recorded cause
    requests: int = 1  # what the source's fake receives: the retry bound, exactly
    waits: int = 0  # retry waits the policy asks for
    least_wait: float = 0.0  # the shortest of them, when a platform named one
    lost: frozenset[str] = frozenset()  # series keys of the source with nothing stored
    dropped: frozenset[tuple[str, str, int]] = frozenset()  # (metric, key, ts) not stored
    timeout: float | None = None  # http.timeout for this case


def all_lost(source: str) -> frozenset[str]:
    return frozenset({"*"})


PAGES = 2  # Wikipedia: one request per article
FILES = 2  # Netflix: two TSV files
TEMP = "temporary"

CASES: dict[str, Case] = {
    # -- 429 with every reset shape: waits as asked, then gives up after max_attempts --
    "429-retry-after-seconds": Case(
        "bluesky",
        replies("bluesky", *[too_many({"Retry-After": "3"}, "RateLimitExceeded")] * 2),
        "failed", "rate_limited", "kit.bsky.social: HTTP 429 Too Many Requests", 2, 1, 3.0,
        all_lost("bluesky"),
    ),
    "429-retry-after-http-date": Case(
        "wikipedia",
        lambda w: w.seeded.wikipedia.fail_next(*[too_many({"Retry-After": http_date(4)})] * 4),
        "failed", "rate_limited", "HTTP 429 Too Many Requests", PAGES * 2, PAGES, 2.5,
        all_lost("wikipedia"),
    ),
    "429-epoch-reset-header": Case(
        "x", x_epoch_429, "failed", "rate_limited", "HTTP 429", 2, 1, 1.5, all_lost("x")
    ),
    "429-seconds-from-now-reset-header": Case(
        "mastodon",
        replies("mastodon", *[too_many({"x-ratelimit-reset": "3"})] * 4),
        "failed", "rate_limited", "HTTP 429", 4, 2, 3.0, all_lost("mastodon"),
    ),
    "429-iso-time-reset-header": Case(
        "mastodon", mastodon_iso_429, "failed", "rate_limited", "HTTP 429", 4, 2, 2.5,
        all_lost("mastodon"),
    ),
    "429-then-an-answer": Case(
        "bluesky", replies("bluesky", too_many({"Retry-After": "1"})), "ok", "", "", 2, 1, 1.0
    ),
    "429-asking-longer-than-max-wait": Case(
        "netflix",
        replies("netflix", *[too_many({"Retry-After": "120"})] * FILES),
        "failed", "rate_limited", "HTTP 429", FILES, 0, 0.0, all_lost("netflix"),
    ),
    # -- quota bodies: not retried; the budget is parked until the reset --
    "403-youtube-quota-exceeded": Case(
        "youtube", replies("youtube", quota_exceeded()), "failed", "quota",
        "YouTube daily quota exhausted (quotaExceeded)", 1, 0, 0.0, all_lost("youtube"),
    ),
    "429-x-usage-cap": Case(
        "x",
        replies("x", Reply.json(
            {"title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly product cap",
             "type": "https://api.twitter.com/2/problems/usage-capped"}, 429)),
        "failed", "quota", "X usage cap reached", 1, 0, 0.0, all_lost("x"),
    ),
    # -- server errors: temporary, retried up to max_attempts --
    "500": Case(
        "bluesky", replies("bluesky", *[Reply(500, {}, b"Internal Server Error")] * 2),
        "failed", TEMP, "HTTP 500: Internal Server Error", 2, 1, 0.5, all_lost("bluesky"),
    ),
    "502": Case(
        "wikipedia", replies("wikipedia", *[Reply(502, {}, b"Bad Gateway")] * 4),
        "failed", TEMP, "HTTP 502: Bad Gateway", 4, 2, 0.5, all_lost("wikipedia"),
    ),
    "503": Case(
        "netflix", replies("netflix", *[Reply(503, {}, b"Service Unavailable")] * 4),
        "failed", TEMP, "HTTP 503: Service Unavailable", 4, 2, 0.5, all_lost("netflix"),
    ),
    "503-then-an-answer": Case(
        "youtube", replies("youtube", Reply(503, {}, b"busy")), "ok", "", "", 2, 1, 0.5
    ),
    # -- the network --
    "connection-refused": Case(
        "x", refused, "failed", TEMP, "127.0.0.1: ConnectError", 0, 1, 0.5, all_lost("x")
    ),
    "read-timeout": Case(
        "bluesky", read_timeout, "failed", TEMP, "127.0.0.1: timed out (ReadTimeout)", 2, 1,
        0.5, all_lost("bluesky"), timeout=0.5,
    ),
    "connection-reset-mid-body": Case(
        "mastodon", replies("mastodon", *[Fault.RESET] * 4), "failed", TEMP,
        "127.0.0.1: RemoteProtocolError", 4, 2, 0.5, all_lost("mastodon"),
    ),
    "reset-then-an-answer": Case(
        "netflix", replies("netflix", Fault.RESET), "ok", "", "", FILES + 1, 1, 0.5
    ),
    # -- bodies that are not the format: never retried, nothing stored --
    "empty-body": Case(
        "bluesky", replies("bluesky", Reply(200, JSON, b"")), "failed", "bad_payload",
        "kit.bsky.social: empty body", 1, 0, 0.0, all_lost("bluesky"),
    ),
    "null-body": Case(
        "x", replies("x", Reply(200, JSON, b"null")), "failed", "bad_payload",
        "body is JSON null", 1, 0, 0.0, all_lost("x"),
    ),
    "null-body-for-a-tsv": Case(
        "netflix", replies("netflix", *[Reply(200, JSON, b"null")] * FILES), "failed",
        "bad_payload", "body is JSON null, not a TSV", FILES, 0, 0.0, all_lost("netflix"),
    ),
    "html-where-json-was-expected": Case(
        "wikipedia", replies("wikipedia", *[Reply(200, HTML_TYPE, HTML)] * PAGES),
        "failed", "bad_payload", "HTML where JSON was expected", PAGES, 0, 0.0,
        all_lost("wikipedia"),
    ),
    "html-where-a-tsv-was-expected": Case(
        "netflix", replies("netflix", *[Reply(200, HTML_TYPE, HTML)] * FILES),
        "failed", "bad_payload", "HTML where a TSV was expected", FILES, 0, 0.0,
        all_lost("netflix"),
    ),
    "not-the-youtube-format": Case(
        "youtube", replies("youtube", Reply.json({"kind": "youtube#videoListResponse"})),
        "failed", "bad_payload", "not a youtube#channelListResponse", 1, 0, 0.0,
        all_lost("youtube"),
    ),
    # -- schema drift: the drifted target fails, never a zero, the rest is stored --
    "drift-missing-field": Case(
        "bluesky", drop_field, "partial", "not_found",
        "kit.bsky.social: missing field followersCount", 1,
        lost=frozenset({did_for("kit.bsky.social")}),
    ),
    "drift-string-where-an-int-was": Case(
        "x", x_string_count, "partial", "not_found",
        "joelocke: followers_count: expected a count, got '500K'", 1, lost=frozenset({"joe"}),
    ),
    "drift-string-count-in-a-list": Case(
        "wikipedia", wiki_string_count, "partial", "bad_payload",
        "Kit_Connor: items.1.views: expected a count, got 'lots'", PAGES,
        lost=frozenset({"en.wikipedia:Kit_Connor"}),
    ),
    "drift-extra-and-reordered-columns": Case(
        "netflix", _reorder(NETFLIX_GLOBAL_COLUMNS, NETFLIX_GLOBAL_ROWS), "ok", requests=FILES
    ),
    "drift-missing-column": Case(
        "netflix", _without("weekly_hours_viewed"), "partial", "bad_payload",
        "header lacks column(s) weekly_hours_viewed", FILES, lost=frozenset({GLOBAL_HS}),
    ),
    "drift-word-in-a-number-column": Case(
        "netflix", _rank_as_word, "partial", "not_found",
        "row 2: Heartstopper: weekly_rank 'five' is not a whole number", FILES,
        dropped=frozenset({("chart_rank", GLOBAL_HS, MONDAY_25),
                           ("hours_viewed", GLOBAL_HS, MONDAY_25)}),
    ),
    # -- accounts that are unknown, renamed or suspended: a failure, never a zero --
    "unknown-bluesky-account": Case(
        "bluesky", _delete("bluesky", "joe.bsky.social"), "partial", "not_found",
        "joe.bsky.social: not found: Bluesky left the actor out", 1,
        lost=frozenset({did_for("joe.bsky.social")}),
    ),
    "unknown-mastodon-account": Case(
        "mastodon", _delete("mastodon", "alice@mastodon.social"), "partial", "not_found",
        "alice@mastodon.social: Mastodon: Record not found", 2, lost=frozenset({"alice"}),
    ),
    "unknown-youtube-channel": Case(
        "youtube", _delete("youtube", YT_ALICE), "partial", "not_found",
        "@aliceoseman: not found: YouTube has no such channel", 1, lost=frozenset({YT_ALICE}),
    ),
    "unknown-x-user": Case(
        "x", _delete("x", "joelocke"), "partial", "not_found",
        "joelocke: Could not find user with usernames: [joelocke].", 1, lost=frozenset({"joe"}),
    ),
    "renamed-bluesky-handle": Case(
        "bluesky", renamed_bluesky, "partial", "not_found",
        "joe.bsky.social: not found: Bluesky left the actor out", 1,
        lost=frozenset({did_for("joe.bsky.social")}),
    ),
    "suspended-mastodon-account": Case(
        "mastodon", suspended_mastodon, "partial", "not_found",
        "alice@mastodon.social: suspended on its instance", 2, lost=frozenset({"alice"}),
    ),
    "suspended-x-user": Case(
        "x", suspended_x, "partial", "not_found",
        "joelocke: User has been suspended: [joelocke].", 1, lost=frozenset({"joe"}),
    ),
    # -- redirects: followed when they lead somewhere, a failure when they loop --
    "redirect-followed": Case("netflix", moved_netflix, "ok", requests=FILES * 2),
    "redirect-loop": Case(
        "netflix", redirect_loop, "failed", "error", "too many redirects", FILES * 21,
        lost=all_lost("netflix"),
    ),
}  # fmt: skip


# -- running a case ----------------------------------------------------------------------
def run_round(
    world: World, store: Store, tmp_path: Path, case: Case
) -> tuple[dict[str, SourceReport], Sleeps]:
    # A stopped fake has no URL any more: the case noted the one it had.
    x_url = world.urls.get("x") or world.x.url
    extra = _extra(world.youtube.url, x_url)
    urls = {**world.seeded.urls, **world.urls}
    config = config_module.load(
        world.seeded.write_config(tmp_path / "tracker.toml", urls, extra=extra)
    )
    if case.timeout is not None:
        config.http = config.http.model_copy(update={"timeout": case.timeout})
    config.spool_dir = str(tmp_path / "spool")
    sleeps = Sleeps()

    async def go() -> list[SourceReport]:
        async with make_client(config.http, config.contact) as client:
            policy = retry_policy(config.http, sleep=sleeps)
            runner = Runner(config, store, client, clock=lambda: world.at, policy=policy)
            return await asyncio.wait_for(runner.run_round(), 60)

    return {r.source: r for r in asyncio.run(go())}, sleeps


def expected_rows(world: World, case: Case) -> set[StoredRow]:
    clean = world.clean(case.source)
    if "*" in case.lost:
        return set()
    named = {
        "alice": f"mastodon.social:{world.alice_id}",
        "joe": world.x_ids["joelocke"],
    }
    lost = {named.get(key, key) for key in case.lost}
    return {
        row for row in clean if row[2] not in lost and (row[1], row[2], row[3]) not in case.dropped
    }


@pytest.mark.parametrize("name", list(CASES))
def test_fault(
    name: str,
    store: Store,
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = CASES[name]
    fake = world.fake(case.source)
    expected = expected_rows(world, case)  # before the fault changes what the fake holds
    injected = time.monotonic()  # reset headers name a moment: what passes since counts
    case.inject(world)

    reports, sleeps = run_round(world, store, tmp_path, case)

    # The round completes; every other source collects as if nothing happened.
    assert sorted(reports) == list(SOURCES)
    assert {s: r.outcome for s, r in reports.items() if s != case.source} == {
        s: "ok" for s in SOURCES if s != case.source
    }
    report = reports[case.source]
    assert (report.outcome, report.kind) == (case.outcome, case.kind), report.line()

    # Nothing wrong is stored: the exact rows of every source.
    for source in SOURCES:
        want = expected if source == case.source else world.clean(source)
        assert stored_rows(store, source) == want, source
    assert store.count() == sum(len(world.clean(s)) for s in SOURCES if s != case.source) + len(
        expected
    )
    assert report.stored == len(expected)

    # The attempt is recorded with its cause.
    (attempt,) = store.attempts(case.source)
    assert (attempt.outcome, attempt.kind, attempt.stored) == (
        case.outcome,
        case.kind,
        len(expected),
    )
    assert attempt.failed == len(report.failures)
    if case.outcome == "ok":
        assert attempt.cause == "" and attempt.failed == 0
    else:
        assert case.cause in attempt.cause, attempt.cause
        assert attempt.failed >= 1
    assert {a.source: a.outcome for a in store.attempts()} == {
        s: (case.outcome if s == case.source else "ok") for s in SOURCES
    }

    # `tracker status` shows it: the status rows and the table the command prints.
    status = {row.source: row for row in store.status()}
    row = status[case.source]
    assert row.last_outcome == case.outcome
    assert row.failures_in_a_row == (1 if case.outcome == "failed" else 0)
    if case.outcome == "ok":
        assert row.last_cause == "" and row.last_failure is None
    else:
        assert row.last_cause == attempt.cause and row.last_failure == world.at
    monkeypatch.setenv("COLUMNS", "250")
    views.status(store.status())
    printed = capsys.readouterr().out
    line = next(text for text in printed.splitlines() if text.startswith(f"│ {case.source} "))
    assert f"│ {case.outcome} " in line
    if case.outcome == "ok":
        assert f"{case.source} last failure" not in printed

    # Retries stay within the bound.
    assert len(fake.requests) == case.requests
    assert len(sleeps.waits) == case.waits
    if case.waits:
        # What the platform asked (less the seconds that passed since, on a busy machine), or
        # the backoff.
        assert min(sleeps.waits) >= case.least_wait - (time.monotonic() - injected)
        assert sum(sleeps.waits) <= 5.0 * max(1, case.waits)  # http.max_wait per request
    if case.kind == "quota" and case.source == "youtube":
        (budget,) = [b for b in store.quotas() if b.key.startswith("youtube:")]
        assert budget.parked_until is not None

    shown = f"{case.source} last failure: {attempt.cause}"
    assert case.outcome == "ok" or shown in printed


def test_the_table_covers_every_fault_of_the_issue() -> None:
    wanted = {
        "429-retry-after-seconds", "429-retry-after-http-date", "429-epoch-reset-header",
        "429-seconds-from-now-reset-header", "429-iso-time-reset-header",
        "403-youtube-quota-exceeded", "500", "502", "503", "connection-refused",
        "read-timeout", "connection-reset-mid-body", "empty-body", "null-body",
        "html-where-json-was-expected", "html-where-a-tsv-was-expected",
        "drift-missing-field", "drift-string-where-an-int-was",
        "drift-extra-and-reordered-columns", "unknown-bluesky-account",
        "renamed-bluesky-handle", "suspended-x-user", "redirect-followed", "redirect-loop",
    }  # fmt: skip
    assert wanted <= set(CASES)
    assert {c.source for c in CASES.values()} == set(SOURCES)
