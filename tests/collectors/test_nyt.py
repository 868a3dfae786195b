"""NYT Books: parse on recorded-format lists, then plan -> fetch -> error -> parse over sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tests.fakes.nyt import FakeNYT, invalid_key, too_many
from tests.fakes.server import Reply
from tracker.collectors import nyt
from tracker.collectors.base import Parsed, Target
from tracker.collectors.nyt import NYTBooksCollector, NYTSettings, history_url
from tracker.errors import BadPayload, ConfigError, NotFound, RateLimited, SourceError
from tracker.quota import Quota

AT = datetime(2022, 5, 26, 12, 0, tzinfo=UTC)
PAYLOADS = Path(__file__).parent / "payloads" / "nyt"
WEEKLY = (PAYLOADS / "young-adult-hardcover.json").read_bytes()
MONTHLY = (PAYLOADS / "young-adult-paperback-monthly.json").read_bytes()
KEY = "test-nyt-key"
VOL4 = "9781338617559"


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NYT_API_KEY", KEY)


def chart(title: str, list_: str = "", subject: str = "Heartstopper") -> Target:
    return Target("chart", title, subject, (("list", list_),) if list_ else ())


def collector(**settings: Any) -> NYTBooksCollector:
    settings.setdefault("request_gap", 0)
    return NYTBooksCollector(NYTSettings(**settings))


def parse(targets: Sequence[Target], body: bytes, list_: str = "young-adult-hardcover") -> Parsed:
    c = collector(default_list=list_)
    (request,) = c.plan(targets)
    return c.parse(request, body, AT)


def edited(change: Any, body: bytes = WEEKLY) -> bytes:
    data = json.loads(body)
    change(data["results"])
    return json.dumps(data).encode()


# -- parse ----------------------------------------------------------------------------


def test_weekly_list_gives_rank_and_weeks_for_the_sales_week() -> None:
    parsed = parse([chart("Heartstopper, Vol. 4")], WEEKLY)
    assert parsed.failures == {}
    got = {o.metric: o for o in parsed.observations}
    assert {m: o.value for m, o in got.items()} == {"chart_rank": 1, "weeks_on_list": 40}
    rank = got["chart_rank"]
    assert rank.key == f"young-adult-hardcover:{VOL4}"
    assert rank.label == "HEARTSTOPPER, VOL. 4"
    assert rank.labels == {"list": "young-adult-hardcover", "published_date": "2022-06-05"}
    # bestsellers_date 2022-05-21 is the Saturday ending the sales week that began on Sunday.
    assert rank.at == datetime(2022, 5, 15, tzinfo=UTC)
    assert rank.period == timedelta(days=7)
    assert rank.sig is None and rank.subject == "Heartstopper"


def test_monthly_list_covers_four_weeks_and_stores_no_zero_weeks() -> None:
    parsed = parse([chart("HEARTSTOPPER, VOL. 1")], MONTHLY, "young-adult-paperback-monthly")
    assert [(o.metric, o.value) for o in parsed.observations] == [("chart_rank", 4)]
    (rank,) = parsed.observations
    assert rank.at == datetime(2022, 5, 1, tzinfo=UTC)
    assert rank.period == timedelta(days=28)


def test_a_title_off_the_list_is_neither_a_value_nor_a_failure() -> None:
    parsed = parse([chart("HEARTSTOPPER, VOL. 5"), chart("heartstopper, vol. 1")], WEEKLY)
    assert parsed.failures == {}
    assert {o.value for o in parsed.observations if o.metric == "chart_rank"} == {4}


def test_a_target_may_name_the_isbn_and_survives_a_retitling() -> None:
    body = edited(lambda r: r["books"][0].update(title="HEARTSTOPPER: VOLUME FOUR"))
    for raw in (WEEKLY, body):
        parsed = parse([chart("978-1-338-61755-9")], raw)
        rank = next(o for o in parsed.observations if o.metric == "chart_rank")
        assert rank.key == f"young-adult-hardcover:{VOL4}"
    assert rank.label == "HEARTSTOPPER: VOLUME FOUR"


def test_a_broken_book_fails_its_target_only() -> None:
    body = edited(lambda r: r["books"][0].update(rank="first"))
    parsed = parse([chart("Heartstopper, Vol. 4"), chart("Heartstopper, Vol. 1")], body)
    assert "rank" in parsed.failures["Heartstopper, Vol. 4"]
    assert {o.value for o in parsed.observations if o.metric == "chart_rank"} == {4}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "^empty body$"),
        (b"null", "^body is JSON null$"),
        (b"<html><body>Service Unavailable</body></html>", "^HTML where JSON was expected"),
        (b'{"status": "OK", "results": []}', "^missing field books$"),
        (
            b'{"status": "OK", "results": {"books": "none"}}',
            r"^results\.books: expected a list, got str$",
        ),
        (edited(lambda r: r.pop("bestsellers_date")), "^missing field bestsellers_date$"),
        (
            edited(lambda r: r.update(bestsellers_date="last week")),
            r"^results\.bestsellers_date: expected YYYY-MM-DD, got 'last week'$",
        ),
        (
            edited(lambda r: r.update(updated="DAILY")),
            r"^results\.updated: expected WEEKLY or MONTHLY, got 'DAILY'$",
        ),
        (
            edited(lambda r: r["books"].append(7)),
            r"^results\.books\[4\]: expected an object, got 7$",
        ),
    ],
)
def test_bodies_that_are_not_the_format_raise_bad_payload(body: bytes, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse([chart("Heartstopper, Vol. 4")], body)


# -- plan, credentials, quota -----------------------------------------------------------


def test_one_request_per_list_each_spending_one_unit_of_the_day_budget() -> None:
    targets = [
        chart("A"),
        chart("B", "Young Adult Hardcover"),
        chart("C", "graphic-books-and-manga"),
        chart("D"),
        chart("E", "graphic-books-and-manga"),
    ]
    requests = collector(default_list="young-adult-hardcover").plan(targets)
    assert [r.url.rsplit("/", 1)[1] for r in requests] == [
        "young-adult-hardcover.json",
        "graphic-books-and-manga.json",
    ]
    assert [[t.name for t in r.targets] for r in requests] == [["A", "B", "D"], ["C", "E"]]
    assert all(
        r.url.startswith("https://api.nytimes.com/svc/books/v3/lists/current/") for r in requests
    )
    assert {(r.budget, r.cost) for r in requests} == {("day", 1)}
    assert {r.params for r in requests} == {(("api-key", KEY),)}


def test_quotas_are_500_a_utc_day_and_5_a_minute_per_key() -> None:
    c = collector()
    assert c.quotas["day"] == Quota(500)
    assert c.quotas["minute"] == Quota(5, every=timedelta(minutes=1))
    assert (
        c.credential_id("day") == "48c14cd71ac6"
    )  # sha256 of the credential, first 12 hex digits (`printf %s VALUE | sha256sum`)
    assert NYTSettings().request_gap == timedelta(seconds=12)
    assert NYTSettings().concurrency == 1


def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NYT_API_KEY")
    assert collector().missing() == "set NYT_API_KEY (or sources.nyt.api_key_file)"
    monkeypatch.setenv("MY_NYT", KEY)
    assert collector(api_key_env="MY_NYT").missing() is None


def test_key_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NYT_API_KEY")
    path = tmp_path / "nyt.key"
    path.write_text("file-nyt-key\n")
    path.chmod(0o600)
    c = collector(api_key_file=str(path))
    assert c.missing() is None
    assert c.plan([chart("A")])[0].params == (("api-key", "file-nyt-key"),)


def test_bad_list_names_are_config_errors() -> None:
    with pytest.raises(ValidationError, match="'young adult/../x' is not an NYT list name"):
        NYTSettings(default_list="young adult/../x")
    with pytest.raises(ConfigError, match=r"^sources\.nyt: A: 'no/such\?list' is not an NYT list"):
        collector().plan([chart("A", "no/such?list")])


def test_history_url_names_the_date_and_the_list() -> None:
    assert history_url("Young Adult Hardcover", date(2022, 5, 22)) == (
        "https://api.nytimes.com/svc/books/v3/lists/2022-05-22/young-adult-hardcover.json"
    )


def test_error_recognises_nyt_answers() -> None:
    c = collector()
    refused = c.error(401, {}, invalid_key().body)
    assert type(refused) is SourceError and "Invalid ApiKey" in refused.cause
    assert "NYT_API_KEY" in refused.cause and KEY not in refused.cause
    limited = c.error(429, {}, too_many(identifier=KEY).body)
    assert isinstance(limited, RateLimited) and limited.retry_after == 12.0
    assert KEY not in limited.cause
    later = c.error(429, {"Retry-After": "30"}, too_many().body)
    assert isinstance(later, RateLimited) and later.retry_after == 30.0
    assert c.error(200, {}, WEEKLY) is None


# -- over real sockets ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeNYT]:
    server = FakeNYT(keys=(KEY,))
    server.add_list(
        "young-adult-hardcover",
        [
            FakeNYT.book(1, "HEARTSTOPPER, VOL. 4", VOL4, 40),
            FakeNYT.book(2, "OTHER", "9780000000024"),
        ],
    )
    server.add_list(
        "young-adult-paperback-monthly",
        [FakeNYT.book(3, "HEARTSTOPPER, VOL. 1", "9781338617436", 0)],
        bestsellers_date="2022-05-28",
        updated="MONTHLY",
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _collect(c: NYTBooksCollector, targets: Sequence[Target]) -> list[Parsed | SourceError]:
    outcomes: list[Parsed | SourceError] = []
    async with httpx.AsyncClient(timeout=1.0) as client:
        for request in c.plan(targets):
            response = await c.fetch(client, request)
            error = c.error(response.status_code, response.headers, response.content)
            outcomes.append(error or c.parse(request, response.content, AT))
    return outcomes


def collect(
    fake: FakeNYT, targets: Sequence[Target], **settings: Any
) -> list[Parsed | SourceError]:
    settings.setdefault("default_list", "young-adult-hardcover")
    return asyncio.run(_collect(collector(base_url=fake.url, **settings), targets))


def test_round_trip_over_sockets(fake: FakeNYT) -> None:
    targets = [
        chart("Heartstopper, Vol. 4"),
        chart("Heartstopper, Vol. 1", "young-adult-paperback-monthly"),
        chart("Heartstopper, Vol. 2"),
    ]
    outcomes = collect(fake, targets)
    assert len(fake.requests) == 2
    assert all(isinstance(p, Parsed) and not p.failures for p in outcomes)
    got = {
        (o.key, o.metric): o.value
        for p in outcomes
        if isinstance(p, Parsed)
        for o in p.observations
    }
    assert got == {
        (f"young-adult-hardcover:{VOL4}", "chart_rank"): 1,
        (f"young-adult-hardcover:{VOL4}", "weeks_on_list"): 40,
        ("young-adult-paperback-monthly:9781338617436", "chart_rank"): 3,
    }


def test_requests_are_spaced_by_the_gap(fake: FakeNYT, monkeypatch: pytest.MonkeyPatch) -> None:
    # A clock that only sleeps move: on a busy machine real departures (and the fake's arrival
    # times) jitter by a scheduler slice, which says nothing about the spacing the code keeps.
    clock = [1000.0]
    leaves: list[float] = []

    async def sleep(seconds: float) -> None:
        leaves.append(clock[0] + seconds)  # this request leaves when its sleep is over
        clock[0] = max(clock[0], leaves[-1])

    monkeypatch.setattr(nyt, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(nyt, "asyncio", SimpleNamespace(sleep=sleep))
    targets = [chart("A", "young-adult-hardcover"), chart("B", "young-adult-paperback-monthly")]
    collect(fake, targets + [chart("C", "graphic-books-and-manga")], request_gap=0.2)
    # The first leaves at once (no sleep); the others wait for their slots, 0.2 s apart.
    assert sorted(leaves) == pytest.approx([1000.2, 1000.4]) and len(fake.times) == 3
    assert collector(request_gap="12s").settings.request_gap.total_seconds() == 12


def test_the_fake_limits_5_a_minute_and_the_collector_reads_it(fake: FakeNYT) -> None:
    outcomes = collect(fake, [chart(str(i), f"list-{i}") for i in range(6)])
    assert [type(o) for o in outcomes[:5]] == [NotFound] * 5
    assert isinstance(outcomes[5], RateLimited)


def test_an_invalid_key_is_refused_without_showing_it(
    fake: FakeNYT, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NYT_API_KEY", "wrong-nyt-key")
    (error,) = collect(fake, [chart("A")])
    assert type(error) is SourceError and "Invalid ApiKey" in error.cause
    assert "wrong-nyt-key" not in error.cause


def test_an_unknown_list_is_not_found(fake: FakeNYT) -> None:
    (error,) = collect(fake, [chart("A", "no-such-list")])
    assert isinstance(error, NotFound) and "No list found" in error.cause


def test_a_dated_list_is_served_in_the_same_shape(fake: FakeNYT) -> None:
    c = collector(base_url=fake.url)
    url = history_url("young-adult-hardcover", date(2022, 5, 22), fake.url)

    async def run() -> httpx.Response:
        async with httpx.AsyncClient(timeout=1.0) as client:
            return await client.get(url, params={"api-key": KEY})

    response = asyncio.run(run())
    assert c.error(response.status_code, response.headers, response.content) is None
    (request,) = c.plan([chart("Heartstopper, Vol. 4", "young-adult-hardcover")])
    parsed = c.parse(request, response.content, AT)
    assert [o.value for o in parsed.observations] == [1, 40]


def test_server_errors_are_temporary(fake: FakeNYT) -> None:
    fake.fail_next(Reply(502, {}, b"<html>Bad Gateway</html>"))
    (error,) = collect(fake, [chart("A")])
    assert error.kind == "temporary"  # type: ignore[union-attr]


# -- a recorded list and the extended list ---------------------------------------------

RECORDED = (PAYLOADS / "recorded_combined-print-and-e-book-fiction_2022-02-06.json").read_bytes()
COMBINED = "combined-print-and-e-book-fiction"


def observed(parsed: Parsed) -> dict[tuple[str, str], int]:
    return {(o.key, o.metric): o.value for o in parsed.observations}


def test_a_recorded_list_parses_by_title_and_isbn() -> None:
    parsed = parse([chart("It Ends With Us"), chart("9781538724736")], RECORDED, COMBINED)
    assert parsed.failures == {}
    assert observed(parsed) == {
        (f"{COMBINED}:9781501110368", "chart_rank"): 1,
        (f"{COMBINED}:9781501110368", "weeks_on_list"): 32,
        (f"{COMBINED}:9781538724736", "chart_rank"): 3,
        (f"{COMBINED}:9781538724736", "weeks_on_list"): 7,
    }
    # Sales week ending Saturday 2022-01-22: the point sits on its Monday.
    assert {o.at for o in parsed.observations} == {datetime(2022, 1, 16, tzinfo=UTC)}


def test_entries_past_the_printed_list_are_extended_ranks_not_chart_ranks() -> None:
    # NYT documents this shape (normal_list_ends_at 10 with 15 results): here the recorded
    # list is cut to print 2, so VERITY at 3 stands where ranks 11-15 (or 16-20) stand.
    body = edited(lambda r: r.update(normal_list_ends_at=2), RECORDED)
    parsed = parse([chart("IT ENDS WITH US"), chart("Verity")], body, COMBINED)
    assert observed(parsed) == {
        (f"{COMBINED}:9781501110368", "chart_rank"): 1,
        (f"{COMBINED}:9781501110368", "weeks_on_list"): 32,
        (f"{COMBINED}:9781538724736", "extended_rank"): 3,
        (f"{COMBINED}:9781538724736", "weeks_on_list"): 7,
    }


def test_a_list_that_does_not_say_where_print_ends_is_all_printed() -> None:
    body = edited(lambda r: r.pop("normal_list_ends_at"), RECORDED)
    parsed = parse([chart("Verity")], body, COMBINED)
    assert observed(parsed)[(f"{COMBINED}:9781538724736", "chart_rank")] == 3


@pytest.mark.parametrize("bad", [0, "15", None, True])
def test_a_drifted_normal_list_ends_at_is_bad_payload(bad: Any) -> None:
    with pytest.raises(BadPayload, match="normal_list_ends_at"):
        parse([chart("Verity")], edited(lambda r: r.update(normal_list_ends_at=bad), RECORDED))


def test_the_book_claim_counts_printed_ranks_only() -> None:
    from tracker import claims

    weeks = []
    for week, (rank, printed) in enumerate([(1, 15), (1, 15), (17, 15), (1, 15)]):

        def change(
            r: dict[str, Any], rank: int = rank, printed: int = printed, week: int = week
        ) -> None:
            r["books"][0]["rank"] = rank
            r["normal_list_ends_at"] = printed
            r["bestsellers_date"] = (date(2022, 1, 22) + timedelta(weeks=week)).isoformat()

        weeks.append(parse([chart("It Ends With Us")], edited(change, RECORDED), COMBINED))
    by_metric: dict[str, list[claims.Point]] = {}
    for parsed in weeks:
        for o in parsed.observations:
            point = claims.Point(int(o.at.timestamp()), o.value, 7 * 86400)
            by_metric.setdefault(o.metric, []).append(point)
    assert [p.value for p in by_metric["extended_rank"]] == [17]
    series = [
        claims.Series("nyt", metric, f"{COMBINED}:9781501110368", "IT ENDS WITH US", {}, points)
        for metric, points in by_metric.items()
    ]
    claim = claims.Claim(
        "ieu", "It Ends With Us", "nyt", "weeks_at_number_one", 2, None, date(2022, 2, 19)
    )
    verdict = claims.check(claim, date(2022, 1, 1), series, claims.Readiness(True))
    # Weeks 1, 2 at No. 1, then off the printed list, then No. 1 again: the run is 2, not 4.
    assert (verdict.status, verdict.measured) == (claims.CONFIRMED, 2)
    # A rank claim in the extended week reads a printed rank; 17 was never printed.
    rank = claims.Claim("r", "It Ends With Us", "nyt", "chart_rank", 1, None, date(2022, 2, 5))
    verdict = claims.check(rank, date(2022, 1, 1), series, claims.Readiness(True))
    assert (verdict.status, verdict.measured) == (claims.CONFIRMED, 1)
