"""Instagram `parse`, edge by edge: business discovery in, points out (mutation-tested)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tracker.collectors.base import Observation, Parsed, Request, Target
from tracker.collectors.instagram import InstagramCollector, InstagramSettings
from tracker.errors import BadPayload

AT = datetime(2022, 5, 20, 12, 0, tzinfo=UTC)


def found(**fields: Any) -> dict[str, Any]:
    base = {"id": "17841400000000001", "username": "kit.connor", "followers_count": 3_400_000,
            "media_count": 250}  # fmt: skip
    return {"business_discovery": base | fields, "id": "17841499999999999"}


def account(name: str = "@Kit.Connor") -> Target:
    return Target("account", name, "Kit Connor")


def parse(body: Any, *targets: Target) -> Parsed:
    c = InstagramCollector(InstagramSettings())
    request = Request(targets=targets or (account(),), url="https://graph.facebook.com/v25.0/1")
    return c.parse(request, json.dumps(body).encode(), AT)


def test_an_account_is_followers_and_posts_keyed_by_its_id() -> None:
    parsed = parse(found())
    assert parsed.failures == {}
    assert parsed.observations == [
        Observation("followers", "17841400000000001", 3_400_000, AT, "Kit Connor", "kit.connor"),
        Observation("posts", "17841400000000001", 250, AT, "Kit Connor", "kit.connor"),
    ]


def test_without_a_username_the_label_is_the_name_asked_for() -> None:
    body = found()
    del body["business_discovery"]["username"]
    assert {o.label for o in parse(body).observations} == {"kit.connor"}


def test_counts_as_digit_strings_are_read() -> None:
    parsed = parse(found(followers_count="12", media_count="3"))
    assert [o.value for o in parsed.observations] == [12, 3]


def test_no_business_discovery_is_not_found_for_every_target() -> None:
    parsed = parse({"id": "1"}, account("a"), account("b"))
    assert parsed.observations == []
    assert parsed.failures == {
        "a": "not found: no business_discovery in the answer",
        "b": "not found: no business_discovery in the answer",
    }


def test_business_discovery_that_is_not_an_object_is_not_found() -> None:
    parsed = parse({"business_discovery": ["x"]})
    assert parsed.failures == {"@Kit.Connor": "not found: no business_discovery in the answer"}


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (found(id="kit"), "business_discovery.id: expected a numeric id, got 'kit'"),
        (found(id=17841400000000001), "business_discovery.id: expected a numeric id, got "
                                      "17841400000000001"),
        ({"business_discovery": {"username": "kit"}}, "missing field id"),
    ],
)  # fmt: skip
def test_an_account_without_its_id_is_a_failure_naming_it(body: dict[str, Any], cause: str) -> None:
    parsed = parse(body, account("a"), account("b"))
    assert parsed.observations == [] and parsed.failures == {"a": cause, "b": cause}


@pytest.mark.parametrize(
    ("fields", "kept", "cause"),
    [
        ({"followers_count": "3.4M"}, ("posts", 250),
         "followers: business_discovery.followers_count: expected a count, got '3.4M'"),
        ({"media_count": None}, ("followers", 3_400_000),
         "posts: business_discovery.media_count: expected a count, got None"),
    ],
)  # fmt: skip
def test_a_count_that_drifted_fails_alone(
    fields: dict[str, Any], kept: tuple[str, int], cause: str
) -> None:
    parsed = parse(found(**fields), account("a"))
    assert [(o.metric, o.value) for o in parsed.observations] == [kept]
    assert parsed.failures == {"a": cause}


def test_a_missing_count_is_named_and_both_missing_are_both_named() -> None:
    body = found()
    del body["business_discovery"]["followers_count"]
    parsed = parse(body, account("a"))
    assert parsed.failures == {"a": "followers: missing field business_discovery.followers_count"}
    del body["business_discovery"]["media_count"]
    assert parse(body, account("a")).failures == {
        "a": "followers: missing field business_discovery.followers_count; "
        "posts: missing field business_discovery.media_count"
    }


def test_an_answer_that_is_not_an_object_is_bad_payload() -> None:
    with pytest.raises(BadPayload, match="^expected a JSON object, got list$"):
        parse([found()])
