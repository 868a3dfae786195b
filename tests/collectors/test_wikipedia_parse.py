"""Wikipedia pageviews `parse`, edge by edge: daily items in, points out (mutation-tested)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tracker.collectors.base import Observation, Parsed, Request, Target
from tracker.collectors.wikipedia import WikipediaCollector, WikipediaSettings
from tracker.errors import BadPayload

AT = datetime(2022, 5, 1, 12, 0, tzinfo=UTC)
NOT_HOURLY = "^items.0.timestamp: expected YYYYMMDDHH, got "


def item(day: Any = "2022042200", views: Any = 1500, article: Any = "Kit_Connor") -> dict[str, Any]:
    return {"project": "en.wikipedia", "article": article, "granularity": "daily",
            "timestamp": day, "access": "all-access", "agent": "user", "views": views}  # fmt: skip


def page(name: str = "Kit_Connor", subject: str = "Kit Connor", project: str = "") -> Target:
    return Target("page", name, subject, (("project", project),) if project else ())


def parse(body: Any, *targets: Target) -> Parsed:
    c = WikipediaCollector(WikipediaSettings())
    request = Request(targets=targets, url="https://wikimedia.org/x")
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return c.parse(request, raw, AT)


def test_each_day_is_one_point_per_subject() -> None:
    parsed = parse({"items": [item("2022042200", 1500), item("2022042300", 900)]}, page())
    assert parsed.failures == {}
    assert parsed.observations == [
        Observation("pageviews", "en.wikipedia:Kit_Connor", views, day, "Kit Connor",
                    "Kit_Connor", {"project": "en.wikipedia"}, timedelta(days=1))
        for views, day in ((1500, datetime(2022, 4, 22, tzinfo=UTC)),
                           (900, datetime(2022, 4, 23, tzinfo=UTC)))
    ]  # fmt: skip


def test_the_project_of_the_request_keys_the_series() -> None:
    (observation,) = parse({"items": [item()]}, page(project="fr.wikipedia")).observations
    assert observation.key == "fr.wikipedia:Kit_Connor"
    assert observation.labels == {"project": "fr.wikipedia"}


def test_two_lines_for_one_subject_give_one_point_labelled_by_the_first() -> None:
    targets = (page("Kit Connor", "Kit"), page("Kit_Connor", "Kit"), page("Kit_Connor", "Actor"))
    parsed = parse({"items": [item()]}, *targets)
    assert [(o.subject, o.label) for o in parsed.observations] == [
        ("Kit", "Kit Connor"),
        ("Actor", "Kit_Connor"),
    ]


def test_no_targets_no_reading() -> None:
    assert parse(b"", *()) == Parsed()


def test_a_count_as_a_digit_string_is_read() -> None:
    (observation,) = parse({"items": [item(views="42")]}, page()).observations
    assert observation.value == 42


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"items": {}}, "^items is dict, expected a list$"),
        ({"items": [item(), item(article="")]}, "^items.1.article: expected a title, got ''$"),
        ({"items": [item(article=None)]}, "^items.0.article: expected a title, got None$"),
        ({"items": [item(day="20220422")]}, f"{NOT_HOURLY}'20220422'$"),
        ({"items": [item(day=2022042200)]}, f"{NOT_HOURLY}2022042200$"),
        ({"items": [item(day="2022-04-22")]}, f"{NOT_HOURLY}'2022-04-22'$"),
        ({"items": [item(day="2022130100")]}, "^items.0.timestamp: not a date: '2022130100'$"),
        ({"items": [item(views="many")]}, "^items.0.views: expected a count, got 'many'$"),
        ({"items": [{"timestamp": "2022042200", "views": 1}]}, "^missing field items.0.article$"),
    ],
)  # fmt: skip
def test_drift_is_bad_payload_naming_the_place(body: dict[str, Any], message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse(body, page())
