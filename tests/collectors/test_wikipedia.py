from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from tests.fakes.server import Reply
from tests.fakes.wikipedia import NOT_FOUND_DETAIL, FakeWikimedia
from tracker.collectors.base import Request, Target
from tracker.collectors.wikipedia import WikipediaCollector, WikipediaSettings
from tracker.errors import BadPayload, NotFound, RateLimited, SourceError, TemporaryError

AT = datetime(2022, 5, 23, 10, 0, tzinfo=UTC)
HEARTSTOPPER = Target("page", "Heartstopper (TV series)", "Heartstopper")


def collector(
    base_url: str = "https://wikimedia.org/api/rest_v1", **extra: object
) -> WikipediaCollector:
    settings = WikipediaSettings(base_url=base_url, **extra)  # type: ignore[arg-type]
    return WikipediaCollector(settings, clock=lambda: AT)


def item(article: str, day: date, views: int, project: str = "en.wikipedia") -> dict[str, object]:
    """One entry of `items`, as the API writes it."""
    return {
        "project": project,
        "article": article,
        "granularity": "daily",
        "timestamp": f"{day:%Y%m%d}00",
        "access": "all-access",
        "agent": "user",
        "views": views,
    }


def payload(*items: dict[str, object]) -> bytes:
    return json.dumps({"items": list(items)}).encode()


def only_request(wiki: WikipediaCollector, *targets: Target) -> Request:
    requests = wiki.plan(targets or (HEARTSTOPPER,))
    assert len(requests) == 1
    return requests[0]


# -- plan ------------------------------------------------------------------------------
def test_plan_asks_for_the_last_days_ending_yesterday() -> None:
    request = only_request(collector())
    assert request.url == (
        "https://wikimedia.org/api/rest_v1/metrics/pageviews/per-article/en.wikipedia/"
        "all-access/user/Heartstopper_%28TV_series%29/daily/20220423/20220522"
    )
    assert request.targets == (HEARTSTOPPER,)


def test_plan_quotes_titles_and_honours_settings_and_project() -> None:
    wiki = collector(days=7, access="mobile-app", agent="all-agents")
    acdc = Target("page", "AC/DC", "AC/DC", (("project", "de.wikipedia"),))
    cafe = Target("page", "Café Society", "Café")
    urls = [r.url for r in wiki.plan([acdc, cafe, Target("chart", "Heartstopper", "x")])]
    assert urls == [
        "https://wikimedia.org/api/rest_v1/metrics/pageviews/per-article/de.wikipedia/"
        "mobile-app/all-agents/AC%2FDC/daily/20220516/20220522",
        "https://wikimedia.org/api/rest_v1/metrics/pageviews/per-article/en.wikipedia/"
        "mobile-app/all-agents/Caf%C3%A9_Society/daily/20220516/20220522",
    ]


def test_plan_sends_one_request_per_article() -> None:
    spaced = Target("page", "Alice Oseman", "Alice Oseman")
    underscored = Target("page", "Alice_Oseman", "Oseman")
    request = only_request(collector(), spaced, underscored)
    assert request.targets == (spaced, underscored)


def test_settings_defaults() -> None:
    settings = WikipediaSettings()  # type: ignore[call-arg]
    assert settings.base_url == "https://wikimedia.org/api/rest_v1"
    assert (settings.days, settings.access, settings.agent) == (30, "all-access", "user")
    assert settings.interval == timedelta(days=1)


# -- parse -----------------------------------------------------------------------------
def test_parse_daily_items() -> None:
    wiki = collector()
    request = only_request(wiki)
    article = "Heartstopper_(TV_series)"
    body = payload(item(article, date(2022, 4, 22), 5120), item(article, date(2022, 4, 23), 81337))
    parsed = wiki.parse(request, body, AT)
    assert parsed.failures == {}
    first, second = parsed.observations
    assert first.metric == "pageviews"
    assert first.key == "en.wikipedia:Heartstopper_(TV_series)"
    assert first.at == datetime(2022, 4, 22, tzinfo=UTC)
    assert first.period == timedelta(days=1)
    assert first.labels == {"project": "en.wikipedia"}
    assert (first.subject, first.value, second.value) == ("Heartstopper", 5120, 81337)


def test_zero_view_days_stay_absent() -> None:
    wiki = collector()
    days = [date(2022, 5, 1), date(2022, 5, 4)]  # 2 and 3 May had no views: the API omits them
    body = payload(*(item("Heartstopper_(TV_series)", d, 3) for d in days))
    parsed = wiki.parse(only_request(wiki), body, AT)
    assert [o.at.date() for o in parsed.observations] == days
    assert all(o.value > 0 for o in parsed.observations)


def test_empty_items_yield_nothing() -> None:
    wiki = collector()
    assert wiki.parse(only_request(wiki), payload(), AT).observations == []


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (b"", "empty body"),
        (b"null", "null"),
        (b"<html><title>Wikimedia Error</title></html>", "HTML"),
        (b'{"detail": "x"}', "missing field items"),
        (b'{"items": {}}', "expected a list"),
        (payload({"article": "A", "timestamp": "2022042200"}), "items.0.views"),
        (payload(item("A", date(2022, 4, 22), -1)), "negative"),
        (payload({**item("A", date(2022, 4, 22), 1), "views": "many"}), "expected a count"),
        (payload({**item("A", date(2022, 4, 22), 1), "timestamp": "20220422"}), "YYYYMMDDHH"),
        (payload({**item("A", date(2022, 4, 22), 1), "timestamp": "2022023100"}), "not a date"),
    ],
)
def test_parse_refuses_what_wikimedia_does_not_send(body: bytes, cause: str) -> None:
    wiki = collector()
    with pytest.raises(BadPayload, match=cause):
        wiki.parse(only_request(wiki), body, AT)


# -- error -----------------------------------------------------------------------------
def problem(detail: str) -> bytes:
    return json.dumps(
        {
            "type": "https://mediawiki.org/wiki/HyperSwitch/errors/not_found",
            "title": "Not found.",
            "method": "get",
            "detail": detail,
            "uri": "/analytics.wikimedia.org/v1/pageviews/per-article/en.wikipedia/x",
        }
    ).encode()


def test_error_classifies_answers() -> None:
    wiki = collector()
    assert wiki.error(200, {}, b"{}") is None
    missing = wiki.error(404, {}, problem(NOT_FOUND_DETAIL))
    assert isinstance(missing, NotFound)
    assert "do not have data for those date(s)" in missing.cause
    assert isinstance(wiki.error(404, {}, b"<html>gone</html>"), NotFound)
    limited = wiki.error(429, {"Retry-After": "7"}, b"")
    assert isinstance(limited, RateLimited) and limited.retry_after == 7
    assert type(wiki.error(503, {}, b"upstream")) is TemporaryError
    refused = wiki.error(403, {}, b"Please set a user-agent and respect our robot policy")
    assert type(refused) is SourceError and "User-Agent" in refused.cause


# -- over real sockets -----------------------------------------------------------------
async def exchange(
    wiki: WikipediaCollector, request: Request, agent: bool = True
) -> tuple[int, Mapping[str, str], bytes]:
    async with httpx.AsyncClient(timeout=1.0, follow_redirects=True) as client:
        if not agent:
            del client.headers["User-Agent"]
        response = await wiki.fetch(client, request)
        return response.status_code, response.headers, response.content


def test_fetch_and_parse_against_the_fake() -> None:
    views = {date(2022, 4, 22) + timedelta(days=i): n for i, n in enumerate([0, 7, 0, 12])}
    views[date(2022, 4, 1)] = 99  # outside the window: must not come back
    with FakeWikimedia({("en.wikipedia", "Heartstopper_(TV_series)"): views}) as fake:
        wiki = collector(fake.url)
        request = only_request(wiki)
        status, headers, body = asyncio.run(exchange(wiki, request))
        assert wiki.error(status, headers, body) is None
        parsed = wiki.parse(request, body, AT)
        assert len(fake.requests) == 1
    assert [(o.at.date(), o.value) for o in parsed.observations] == [
        (date(2022, 4, 23), 7),
        (date(2022, 4, 25), 12),
    ]


def test_range_without_data_is_not_found() -> None:
    with FakeWikimedia() as fake:
        wiki = collector(fake.url)
        status, headers, body = asyncio.run(exchange(wiki, only_request(wiki)))
    error = wiki.error(status, headers, body)
    assert status == 404 and isinstance(error, NotFound)
    assert "either do not have data" in error.cause


def test_request_without_user_agent_is_refused() -> None:
    with FakeWikimedia({("en.wikipedia", "Heartstopper_(TV_series)"): {AT.date(): 1}}) as fake:
        wiki = collector(fake.url)
        status, headers, body = asyncio.run(exchange(wiki, only_request(wiki), agent=False))
    error = wiki.error(status, headers, body)
    assert status == 403 and type(error) is SourceError


def test_rate_limit_and_server_error_from_the_fake() -> None:
    with FakeWikimedia() as fake:
        fake.fail_next(Reply(429, {"Retry-After": "3"}, b"slow down"), Reply(502, {}, b"bad gw"))
        wiki = collector(fake.url)
        request = only_request(wiki)
        first = wiki.error(*asyncio.run(exchange(wiki, request)))
        second = wiki.error(*asyncio.run(exchange(wiki, request)))
    assert isinstance(first, RateLimited) and first.retry_after == 3
    assert type(second) is TemporaryError
