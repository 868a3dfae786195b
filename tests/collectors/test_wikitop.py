"""Wikipedia top articles: parse on a recorded-format day, then the round trip over sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.server import Reply
from tests.fakes.wikipedia import NO_AGENT
from tests.fakes.wikitop import FakeWikiTop
from tracker.collectors.base import Parsed, Target
from tracker.collectors.wikitop import WikipediaTopCollector, WikipediaTopSettings
from tracker.errors import BadPayload, NotFound, SourceError, TemporaryError

NOW = datetime(2022, 4, 26, 9, 30, tzinfo=UTC)
PAYLOAD = (Path(__file__).parent / "payloads" / "wikitop" / "top.json").read_bytes()


def page(article: str, subject: str = "Heartstopper", project: str = "") -> Target:
    return Target("page", article, subject, (("project", project),) if project else ())


def collector(clock: datetime = NOW, **settings: Any) -> WikipediaTopCollector:
    return WikipediaTopCollector(WikipediaTopSettings(**settings), clock=lambda: clock)


def parse(targets: Sequence[Target], body: bytes = PAYLOAD) -> Parsed:
    c = collector(days=1)
    (request,) = c.plan(targets)
    return c.parse(request, body, NOW)


def edited(change: Any) -> bytes:
    data = json.loads(PAYLOAD)
    change(data["items"][0])
    return json.dumps(data).encode()


# -- parse ----------------------------------------------------------------------------


def test_rank_of_each_tracked_article_on_that_day() -> None:
    targets = [page("Heartstopper (TV series)"), page("Kit_Connor", "Kit Connor")]
    parsed = parse(targets)
    assert parsed.failures == {}
    got = {o.key: (o.value, o.subject, o.label, o.metric) for o in parsed.observations}
    assert got == {
        "en.wikipedia:Heartstopper_(TV_series)": (
            3,
            "Heartstopper",
            "Heartstopper_(TV_series)",
            "chart_rank",
        ),
        "en.wikipedia:Kit_Connor": (6, "Kit Connor", "Kit_Connor", "chart_rank"),
    }
    for o in parsed.observations:
        assert o.at == datetime(2022, 4, 25, tzinfo=UTC)
        assert o.period == timedelta(days=1)
        assert o.labels == {"project": "en.wikipedia"} and o.sig is None


def test_an_article_outside_the_top_1000_is_neither_a_value_nor_a_failure() -> None:
    parsed = parse([page("Heartstopper (TV series)"), page("Nick_Nelson")])
    assert parsed.failures == {}
    assert [o.key for o in parsed.observations] == ["en.wikipedia:Heartstopper_(TV_series)"]


def test_the_same_article_twice_for_one_subject_is_stored_once() -> None:
    parsed = parse([page("Joe_Locke", "Joe Locke"), page("Joe Locke", "Joe Locke")])
    assert [(o.key, o.value) for o in parsed.observations] == [("en.wikipedia:Joe_Locke", 7)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "^empty body$"),
        (b"null", "^body is JSON null$"),
        (b"<html><body>Wikimedia Error</body></html>", "^HTML where JSON was expected"),
        (b'{"items": []}', "^items: expected a list with the day's chart$"),
        (b'{"items": {}}', "^items: expected a list with the day's chart$"),
        (edited(lambda item: item.pop("articles")), r"^missing field 0\.articles$"),
        (edited(lambda item: item.update(month="13")), r"^items\.0: not a day: .*'month': '13'"),
        (edited(lambda item: item.pop("day")), "^missing field day$"),
        (
            edited(lambda item: item["articles"][2].update(rank="three")),
            r"^items\.0\.articles\.2\.rank: expected a count, got 'three'$",
        ),
        (
            edited(lambda item: item["articles"][2].update(rank=0)),
            r"^items\.0\.articles\.2\.rank is 0$",
        ),
        (edited(lambda item: item["articles"][2].pop("article")), "^missing field article$"),
    ],
)
def test_bodies_that_are_not_the_format_raise_bad_payload(body: bytes, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse([page("Heartstopper (TV series)")], body)


def test_plan_asks_each_of_the_last_complete_days_once_per_project() -> None:
    targets = [page("A"), page("B"), page("C", project="de.wikipedia")]
    requests = collector().plan(targets)
    base = "https://wikimedia.org/api/rest_v1/metrics/pageviews/top"
    assert [r.url for r in requests] == [
        f"{base}/en.wikipedia/all-access/2022/04/23",
        f"{base}/de.wikipedia/all-access/2022/04/23",
        f"{base}/en.wikipedia/all-access/2022/04/24",
        f"{base}/de.wikipedia/all-access/2022/04/24",
        f"{base}/en.wikipedia/all-access/2022/04/25",
        f"{base}/de.wikipedia/all-access/2022/04/25",
    ]
    assert [[t.name for t in r.targets] for r in requests[:2]] == [["A", "B"], ["C"]]
    assert {r.budget for r in requests} == {""}
    assert collector().missing() is None


def test_error_recognises_wikimedia_answers() -> None:
    c = collector()
    problem = {
        "type": "https://mediawiki.org/wiki/HyperSwitch/errors/not_found",
        "title": "Not found.",
        "method": "get",
        "detail": "The date(s) you used are valid, but we either do not have data ...",
        "uri": "/analytics.wikimedia.org/v1/pageviews/top/en.wikipedia/all-access/2022/04/25",
    }
    missing = c.error(404, {}, json.dumps(problem).encode())
    assert isinstance(missing, NotFound) and "do not have data" in missing.cause
    refused = c.error(403, {}, NO_AGENT)
    assert type(refused) is SourceError and "contact" in refused.cause
    assert c.error(200, {}, PAYLOAD) is None


# -- over real sockets ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeWikiTop]:
    server = FakeWikiTop()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _collect(
    c: WikipediaTopCollector, targets: Sequence[Target]
) -> list[Parsed | SourceError]:
    outcomes: list[Parsed | SourceError] = []
    async with httpx.AsyncClient(timeout=1.0, headers={"User-Agent": "tracker-test"}) as client:
        for request in c.plan(targets):
            response = await c.fetch(client, request)
            error = c.error(response.status_code, response.headers, response.content)
            outcomes.append(error or c.parse(request, response.content, NOW))
    return outcomes


def collect(fake: FakeWikiTop, targets: Sequence[Target]) -> list[Parsed | SourceError]:
    return asyncio.run(_collect(collector(base_url=fake.url), targets))


def test_round_trip_over_sockets(fake: FakeWikiTop) -> None:
    fake.add_day("en.wikipedia", date(2022, 4, 23), ["Main_Page", "Kit_Connor"])
    fake.add_day("en.wikipedia", date(2022, 4, 24), ["Main_Page", "Heartstopper_(TV_series)"])
    fake.add_day(
        "en.wikipedia", date(2022, 4, 25), ["Main_Page", "Kit_Connor", "Heartstopper_(TV_series)"]
    )
    outcomes = collect(fake, [page("Heartstopper (TV series)"), page("Kit Connor", "Kit Connor")])
    assert len(fake.requests) == 3
    got = {
        (o.key, o.at.date()): o.value
        for p in outcomes
        if isinstance(p, Parsed)
        for o in p.observations
    }
    assert got == {
        ("en.wikipedia:Kit_Connor", date(2022, 4, 23)): 2,
        ("en.wikipedia:Heartstopper_(TV_series)", date(2022, 4, 24)): 2,
        ("en.wikipedia:Kit_Connor", date(2022, 4, 25)): 2,
        ("en.wikipedia:Heartstopper_(TV_series)", date(2022, 4, 25)): 3,
    }


def test_a_day_not_yet_published_fails_that_request_only(fake: FakeWikiTop) -> None:
    fake.add_day("en.wikipedia", date(2022, 4, 23), ["Heartstopper_(TV_series)"])
    fake.add_day("en.wikipedia", date(2022, 4, 24), ["Heartstopper_(TV_series)"])
    outcomes = collect(fake, [page("Heartstopper_(TV_series)")])
    assert [type(o) for o in outcomes] == [Parsed, Parsed, NotFound]
    assert sum(len(o.observations) for o in outcomes if isinstance(o, Parsed)) == 2


def test_server_errors_are_temporary(fake: FakeWikiTop) -> None:
    fake.fail_next(Reply(503, {}, b"upstream connect error"))
    outcomes = collect(fake, [page("A")])
    assert type(outcomes[0]) is TemporaryError
