"""Web pages: rules and number reading on a fixture article, then the round trip over sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tests.fakes.web import FakeWeb, article
from tracker.collectors.base import Parsed, Target
from tracker.collectors.web import PageRule, WebPageCollector, WebSettings, read_number
from tracker.errors import BadPayload, ConfigError, NotFound, SourceError

AT = datetime(2022, 5, 17, 8, 0, tzinfo=UTC)
PAGE = (Path(__file__).parent / "payloads" / "web" / "trending_tv.html").read_bytes()
URL = "https://variety.com/2022/tv/news/trending-tv-fixture/"
# The brief's example, for Variety's prose.
VARIETY = (
    r"(?P<title>Heartstopper)[^.]*?claimed the (?P<rank>top|No\. \d+) spot[^.]*?"
    r"(?P<value>[\d.]+) million engagements"
)
# One rule for every title: `{title}` is replaced by each target's title.
PROSE = (
    r"(?P<title>{title})[^.]*?claimed the (?P<rank>top|No\. \d+) spot[^.]*?"
    r"(?P<value>[\d.,]+)\s(?:million |thousand )?engagements"
)


def rule(name: str = "variety-trending-tv", **fields: Any) -> dict[str, Any]:
    return {"name": name, "url": URL, **fields}


def chart(title: str, page: str = "", subject: str = "") -> Target:
    return Target("chart", title, subject or title, (("page", page),) if page else ())


def collector(*rules: dict[str, Any], **settings: Any) -> WebPageCollector:
    return WebPageCollector(WebSettings(pages=list(rules), **settings))


def parse(c: WebPageCollector, targets: Sequence[Target], body: bytes = PAGE) -> Parsed:
    (request,) = c.plan(targets)
    return c.parse(request, body, AT)


def values(parsed: Parsed) -> dict[tuple[str, str], tuple[int, int | None]]:
    return {(o.key, o.metric): (o.value, o.sig) for o in parsed.observations}


# -- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, after, expected",
    [
        ("top", "", (1, None)),
        ("the top", "", (1, None)),
        ("No. 3", "", (3, None)),
        ("No.3", "", (3, None)),
        ("#12", "", (12, None)),
        ("3rd", "", (3, None)),
        ("815,000", " engagements", (815000, None)),
        ("1.28", " million engagements", (1280000, 3)),
        ("1.28 million", "", (1280000, 3)),
        ("1.28M", "", (1280000, 3)),
        ("640K", "", (640000, 3)),
        ("4.4B", "", (4400000000, 2)),
        ("2 million", "", (2000000, 1)),
        ("1.5", " thousand", (1500, 2)),
    ],
)
def test_read_number(text: str, after: str, expected: tuple[int, int | None]) -> None:
    assert read_number(text, after) == expected


@pytest.mark.parametrize("text", ["", "none", "1.5", "1.2345 thousand", "N/A"])
def test_read_number_refuses_what_is_not_a_whole_number(text: str) -> None:
    with pytest.raises(ValueError):
        read_number(text)


# -- parse ----------------------------------------------------------------------------


def test_the_example_pattern_reads_variety_prose_with_its_precision() -> None:
    c = collector(rule(pattern=VARIETY, extra_metrics={"engagements": "value"}))
    parsed = parse(c, [chart("Heartstopper")])
    assert parsed.failures == {}
    assert values(parsed) == {
        ("variety-trending-tv:heartstopper", "chart_rank"): (1, None),
        ("variety-trending-tv:heartstopper", "engagements"): (1280000, 3),
    }
    o = parsed.observations[0]
    assert (o.at, o.period, o.label, o.labels) == (
        AT,
        None,
        "Heartstopper",
        {"page": "variety-trending-tv"},
    )


def test_one_rule_reads_every_title_and_a_missing_one_fails_not_zero() -> None:
    c = collector(rule(pattern=PROSE, extra_metrics={"engagements": "value"}))
    targets = [chart(t) for t in ("heartstopper", "Ozark", "Stranger Things", "Bridgerton")]
    parsed = parse(c, targets)
    assert values(parsed) == {
        ("variety-trending-tv:heartstopper", "chart_rank"): (1, None),
        ("variety-trending-tv:heartstopper", "engagements"): (1280000, 3),
        ("variety-trending-tv:ozark", "chart_rank"): (2, None),
        ("variety-trending-tv:ozark", "engagements"): (815000, None),
        ("variety-trending-tv:stranger things", "chart_rank"): (3, None),
        ("variety-trending-tv:stranger things", "engagements"): (640000, 3),
    }
    assert list(parsed.failures) == ["Bridgerton"]
    assert parsed.failures["Bridgerton"].startswith("nothing matched (?P<title>")


def test_title_group_filters_matches_of_a_general_pattern() -> None:
    general = r"(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+)*) (?P<rank>\d+) "
    c = collector(rule(selector="aside", pattern=general, title_group="name"))
    parsed = parse(c, [chart("Stranger Things"), chart("Ozark")])
    assert values(parsed) == {
        ("variety-trending-tv:stranger things", "chart_rank"): (3, None),
        ("variety-trending-tv:ozark", "chart_rank"): (2, None),
    }


def test_a_selector_reads_the_matched_element() -> None:
    selector = "ol.chart li:-soup-contains({title}) .engagements"
    c = collector(rule(selector=selector, metric="engagements"))
    parsed = parse(c, [chart("Heartstopper"), chart("Ozark"), chart("Bridgerton")])
    assert values(parsed) == {
        ("variety-trending-tv:heartstopper", "engagements"): (1280000, 3),
        ("variety-trending-tv:ozark", "engagements"): (815000, None),
    }
    assert parsed.failures == {
        "Bridgerton": 'nothing matched ol.chart li:-soup-contains("Bridgerton") .engagements'
    }


def test_a_selector_narrows_where_a_pattern_looks() -> None:
    c = collector(rule(selector="aside", pattern=r"(?P<title>{title}) (?P<rank>\d+)"))
    parsed = parse(c, [chart("Ozark")])
    assert values(parsed) == {("variety-trending-tv:ozark", "chart_rank"): (2, None)}


def test_scripts_are_not_read_as_page_text() -> None:
    c = collector(rule(pattern=r"(?P<rank>No\. \d+) spot"))
    parsed = parse(c, [chart("Anything")])
    assert values(parsed) == {("variety-trending-tv:anything", "chart_rank"): (2, None)}


def test_a_changed_page_is_a_failure_of_that_target_not_a_value() -> None:
    c = collector(rule(selector="ol.chart li:-soup-contains({title}) .title"))
    parsed = parse(c, [chart("Ozark")])
    assert parsed.observations == []
    assert parsed.failures["Ozark"].startswith("page changed? no number in 'Ozark'")


def test_one_unreadable_group_keeps_the_others() -> None:
    pattern = r"(?P<title>Ozark)[^.]*?claimed the (?P<rank>No\. \d+) spot with (?P<value>\w+)"
    body = PAGE.replace(b"815,000", b"many")
    c = collector(rule(pattern=pattern, extra_metrics={"engagements": "value"}))
    parsed = parse(c, [chart("Ozark")], body)
    assert values(parsed) == {("variety-trending-tv:ozark", "chart_rank"): (2, None)}
    assert parsed.failures["Ozark"].startswith("engagements: page changed?")


@pytest.mark.parametrize(
    "body", [b"", b"   ", b"null", b'{"rank": 1}', b"Heartstopper claimed the top spot"]
)
def test_bodies_that_are_not_html_raise_bad_payload(body: bytes) -> None:
    c = collector(rule(pattern=VARIETY))
    with pytest.raises(BadPayload):
        parse(c, [chart("Heartstopper")], body)


# -- rules and plan ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {},  # neither selector nor pattern
        {"pattern": "(?P<rank>"},
        {"pattern": r"(?P<value>\d+)"},  # chart_rank reads the `rank` group by default
        {"pattern": r"(?P<rank>\d+)", "title_group": "title"},
        {"pattern": r"(?P<rank>\d+)", "extra_metrics": {"engagements": "value"}},
        {"selector": "li:::nope"},
        {"selector": "li", "value_group": "rank"},
        {"pattern": r"(?P<rank>\d+)", "url": "/relative"},
        {"pattern": r"(?P<rank>\d+)", "name": "Has Spaces"},
    ],
)
def test_bad_rules_fail_at_config_time(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        WebSettings(pages=[{**rule(), **fields}])


def test_rule_defaults() -> None:
    r = PageRule(**rule(pattern=r"(?P<title>x) (?P<value>\d+)", metric="engagements"))
    assert (r.value_group, r.title_group) == ("value", "title")
    assert WebSettings().base_url == "https://variety.com"
    with pytest.raises(ValidationError):
        WebSettings(pages=[rule(pattern="(?P<rank>1)"), rule(pattern="(?P<rank>2)")])


def test_plan_makes_one_request_per_page_rule() -> None:
    c = collector(
        rule("trending", pattern=PROSE),
        {"name": "other", "url": "https://example.org/chart", "selector": "li"},
    )
    targets = [chart("A", "trending"), chart("B", "other"), chart("C", "trending")]
    requests = c.plan(targets)
    assert [(r.url, [t.name for t in r.targets]) for r in requests] == [
        (URL, ["A", "C"]),
        ("https://example.org/chart", ["B"]),
    ]
    assert {r.budget for r in requests} == {""}
    with pytest.raises(ConfigError, match="must name its `page`"):
        c.plan([chart("A")])
    with pytest.raises(ConfigError, match="no page rule named 'nope'"):
        c.plan([chart("A", "nope")])


def test_the_only_rule_needs_no_page_option() -> None:
    (request,) = collector(rule(pattern=PROSE)).plan([chart("Heartstopper")])
    assert request.targets[0].option("page") == "variety-trending-tv"


def test_missing_says_a_rule_is_needed() -> None:
    assert "sources.web.pages" in (collector().missing() or "")
    assert collector(rule(pattern=PROSE)).missing() is None


# -- over real sockets ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeWeb]:
    server = FakeWeb()
    server.pages["/trending-tv/week-19"] = PAGE
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _collect(c: WebPageCollector, targets: Sequence[Target]) -> list[Parsed | SourceError]:
    outcomes: list[Parsed | SourceError] = []
    async with httpx.AsyncClient(timeout=1.0, follow_redirects=True) as client:
        for request in c.plan(targets):
            response = await c.fetch(client, request)
            error = c.error(response.status_code, response.headers, response.content)
            outcomes.append(error or c.parse(request, response.content, AT))
    return outcomes


def collect(fake: FakeWeb, path: str, targets: Sequence[Target]) -> list[Parsed | SourceError]:
    c = collector(
        rule(url=f"{fake.url}{path}", pattern=PROSE, extra_metrics={"engagements": "value"})
    )
    return asyncio.run(_collect(c, targets))


def test_round_trip_over_sockets(fake: FakeWeb) -> None:
    (parsed,) = collect(fake, "/trending-tv/week-19", [chart("Heartstopper"), chart("Ozark")])
    assert isinstance(parsed, Parsed) and parsed.failures == {}
    assert len(fake.requests) == 1
    assert values(parsed)[("variety-trending-tv:heartstopper", "engagements")] == (1280000, 3)


def test_a_moved_article_is_followed_and_a_new_week_read(fake: FakeWeb) -> None:
    fake.pages["/trending-tv/week-20"] = article(
        ["<em>Heartstopper</em> claimed the No. 2 spot with 2.1 million engagements."]
    )
    fake.redirects["/trending-tv/latest"] = "/trending-tv/week-20"
    (parsed,) = collect(fake, "/trending-tv/latest", [chart("Heartstopper")])
    assert isinstance(parsed, Parsed)
    assert values(parsed) == {
        ("variety-trending-tv:heartstopper", "chart_rank"): (2, None),
        ("variety-trending-tv:heartstopper", "engagements"): (2100000, 2),
    }


def test_a_missing_page_is_not_found_and_a_bot_wall_an_error(fake: FakeWeb) -> None:
    (missing,) = collect(fake, "/trending-tv/nope", [chart("Heartstopper")])
    assert isinstance(missing, NotFound)
    fake.fail_next(FakeWeb.bot_wall())
    (walled,) = collect(fake, "/trending-tv/week-19", [chart("Heartstopper")])
    assert type(walled) is SourceError and "403" in walled.cause
