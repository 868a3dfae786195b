"""Wikipedia top-articles `parse`, edge by edge: chart in, ranks out (mutation-tested)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tracker.collectors.base import Observation, Parsed, Request, Target
from tracker.collectors.wikitop import WikipediaTopCollector, WikipediaTopSettings
from tracker.errors import BadPayload

AT = datetime(2022, 4, 30, 12, 0, tzinfo=UTC)
DAY_START = datetime(2022, 4, 25, tzinfo=UTC)


def chart(*articles: tuple[Any, Any], **day: str) -> dict[str, Any]:
    entries = [{"article": a, "views": 1000 - i, "rank": r} for i, (a, r) in enumerate(articles)]
    when = {"year": "2022", "month": "04", "day": "25"} | day
    return {"items": [{"project": "en.wikipedia", "access": "all-access", **when,
                       "articles": entries}]}  # fmt: skip


def page(name: str, subject: str = "Heartstopper", project: str = "") -> Target:
    options = (("project", project),) if project else ()
    return Target("page", name, subject, options)


def parse(body: Any, *targets: Target) -> Parsed:
    c = WikipediaTopCollector(WikipediaTopSettings())
    request = Request(targets=targets, url="https://wikimedia.org/x")
    return c.parse(request, json.dumps(body).encode(), AT)


def test_a_ranked_article_is_one_point_on_the_chart_day() -> None:
    body = chart(("Main_Page", 1), ("Heartstopper_(TV_series)", 2))
    parsed = parse(body, page("Heartstopper (TV series)"))
    assert parsed.failures == {}
    assert parsed.observations == [
        Observation("chart_rank", "en.wikipedia:Heartstopper_(TV_series)", 2, DAY_START,
                    "Heartstopper", "Heartstopper_(TV_series)", {"project": "en.wikipedia"},
                    timedelta(days=1)),
    ]  # fmt: skip


def test_the_project_asked_keys_the_series() -> None:
    target = page("Kit_Connor", "Kit", "de.wikipedia")
    (observation,) = parse(chart(("Kit_Connor", 3)), target).observations
    assert observation.key == "de.wikipedia:Kit_Connor"
    assert observation.labels == {"project": "de.wikipedia"}


def test_outside_the_chart_is_neither_a_value_nor_a_failure_and_the_rest_go_on() -> None:
    parsed = parse(chart(("Kit_Connor", 3)), page("Joe_Locke", "Joe"), page("Kit_Connor", "Kit"))
    assert parsed.failures == {}
    assert [(o.subject, o.value) for o in parsed.observations] == [("Kit", 3)]


def test_an_article_listed_twice_keeps_its_first_rank() -> None:
    (observation,) = parse(
        chart(("Kit_Connor", 3), ("Kit_Connor", 9)), page("Kit_Connor")
    ).observations
    assert observation.value == 3


def test_one_point_per_article_and_subject() -> None:
    targets = (page("Kit_Connor", "Kit"), page("Kit Connor", "Kit"), page("Kit_Connor", "Other"))
    parsed = parse(chart(("Kit_Connor", 4)), *targets)
    assert [(o.subject, o.value) for o in parsed.observations] == [("Kit", 4), ("Other", 4)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"items": []}, "^items: expected a list with the day's chart$"),
        ({"items": "x"}, "^items: expected a list with the day's chart$"),
        ({"items": [{"year": "2022", "month": "04", "day": "25", "articles": {}}]},
         "^items.0.articles: expected a list, got dict$"),
        (chart(("", 1)), "^items.0.articles.0.article: expected a title, got ''$"),
        (chart(("A", 1), (7, 2)), "^items.0.articles.1.article: expected a title, got 7$"),
        (chart(("A", 1), ("B", 0)), "^items.0.articles.1.rank is 0$"),
        (chart(("A", "first")), "^items.0.articles.0.rank: expected a count, got 'first'$"),
        (chart(("A", 1), month="13"), r"^items\.0: not a day: \{'year': '2022', 'month': '13', "
                                      r"'day': '25'\}$"),
        (chart(("A", 1), day="x"), r"^items\.0: not a day: .*'day': 'x'"),
    ],
)  # fmt: skip
def test_drift_is_bad_payload_naming_the_place(body: dict[str, Any], message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse(body, page("A"))
