"""Reddit `parse`, edge by edge: bodies in, observations and failures out (mutation-tested)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tracker.collectors.base import Observation, Parsed, Request, Target
from tracker.collectors.reddit import RedditCollector, RedditSettings
from tracker.errors import BadPayload

AT = datetime(2022, 5, 20, 12, 0, tzinfo=UTC)
SUB = Target("account", "r/Heartstopper", "Heartstopper")


def parse(body: Any, *targets: Target) -> Parsed:
    c = RedditCollector(RedditSettings())
    request = Request(targets=targets or (SUB,), url="https://oauth.reddit.com/r/x/about")
    return c.parse(request, json.dumps(body).encode(), AT)


def about(**data: Any) -> dict[str, Any]:
    return {"kind": "t5", "data": {"name": "t5_2qh1i", "subscribers": 1234, **data}}


def test_a_subreddit_is_keyed_by_its_t5_id() -> None:
    parsed = parse(about(display_name="Heartstopper"))
    assert parsed.failures == {}
    assert parsed.observations == [
        Observation("subscribers", "t5_2qh1i", 1234, AT, "Heartstopper", "Heartstopper")
    ]


def test_without_a_display_name_the_label_is_the_subreddit_asked_for() -> None:
    (observation,) = parse(about(), Target("account", "/r/HeartStopper/", "s")).observations
    assert observation.label == "heartstopper"


def test_a_count_as_a_digit_string_is_read() -> None:
    (observation,) = parse(about(subscribers="77")).observations
    assert observation.value == 77


def test_an_answer_that_is_not_an_object_is_bad_payload() -> None:
    with pytest.raises(BadPayload, match="^expected a JSON object, got list$"):
        parse([about()])


def test_a_listing_is_not_found_for_every_target() -> None:
    other = Target("account", "r/other", "other")
    parsed = parse({"kind": "Listing", "data": {"children": []}}, SUB, other)
    assert parsed.observations == []
    assert parsed.failures == {
        "r/Heartstopper": "not found: Reddit answered a Listing, not t5",
        "r/other": "not found: Reddit answered a Listing, not t5",
    }


def test_an_answer_without_a_kind_says_so() -> None:
    parsed = parse({"data": {"name": "t5_x", "subscribers": 1}})
    assert parsed.failures == {"r/Heartstopper": "not found: Reddit answered a no kind, not t5"}


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        ({"kind": "t5"}, "missing field data"),
        (about(name="t3_post"), "data.name: expected a t5_ id, got 't3_post'"),
        (about(name=42), "data.name: expected a t5_ id, got 42"),
        (about(subscribers="lots"), "data.subscribers: expected a count, got 'lots'"),
        (about(subscribers=None), "data.subscribers: expected a count, got None"),
        ({"kind": "t5", "data": {"subscribers": 1}}, "missing field name"),
        ({"kind": "t5", "data": {"name": "t5_x"}}, "missing field subscribers"),
    ],
)
def test_drift_is_a_failure_naming_the_field(body: dict[str, Any], cause: str) -> None:
    parsed = parse(body)
    assert parsed.observations == [] and parsed.failures == {"r/Heartstopper": cause}


def test_one_bad_target_does_not_stop_the_next() -> None:
    other = Target("account", "r/other", "other")
    parsed = parse(about(subscribers="lots"), SUB, other)
    assert parsed.failures == {
        "r/Heartstopper": "data.subscribers: expected a count, got 'lots'",
        "r/other": "data.subscribers: expected a count, got 'lots'",
    }
