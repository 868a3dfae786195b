"""Mastodon `parse`, edge by edge: account and tag bodies in, points out (mutation-tested)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tracker.collectors.base import Observation, Parsed, Request, Target
from tracker.collectors.mastodon import MastodonCollector, MastodonSettings
from tracker.errors import BadPayload

AT = datetime(2024, 3, 10, 15, 0, tzinfo=UTC)  # mid-afternoon: today's count is not final
TODAY = datetime(2024, 3, 10, tzinfo=UTC)
DAY = timedelta(days=1)


def account(name: str = "alice@mastodon.social", instance: str = "") -> Target:
    return Target("account", name, "Alice Oseman", (("instance", instance),) if instance else ())


def hashtag(instance: str = "") -> Target:
    options = (("instance", instance),) if instance else ()
    return Target("hashtag", "#heartstopper", "#heartstopper", options)


def parse(body: Any, *targets: Target, instances: tuple[str, ...] = ("mastodon.social",)) -> Parsed:
    c = MastodonCollector(MastodonSettings(tag_instances=list(instances)))
    request = Request(targets=targets, url="https://mastodon.social/api/v1/x")
    return c.parse(request, json.dumps(body).encode(), AT)


def day(moment: datetime, uses: Any, accounts: Any) -> dict[str, Any]:
    return {"day": str(int(moment.timestamp())), "uses": uses, "accounts": accounts}


# -- accounts -------------------------------------------------------------------------------
def test_an_account_is_keyed_by_instance_and_id() -> None:
    parsed = parse({"id": "109", "followers_count": 420}, account("@Alice@Mastodon.Social"))
    assert parsed.failures == {}
    assert parsed.observations == [
        Observation("followers", "mastodon.social:109", 420, AT, "Alice Oseman",
                    "Alice@mastodon.social")
    ]  # fmt: skip


def test_the_instance_asked_keys_the_account() -> None:
    parsed = parse({"id": 7, "followers_count": "12"}, account(instance="home.example"))
    (observation,) = parsed.observations
    assert (observation.key, observation.value) == ("home.example:7", 12)


def test_a_suspended_account_is_a_failure_not_zero() -> None:
    parsed = parse({"id": "1", "followers_count": 0, "suspended": True}, account())
    assert parsed.observations == []
    assert parsed.failures == {"alice@mastodon.social": "suspended on its instance"}


def test_suspended_false_is_an_account_like_any() -> None:
    parsed = parse({"id": "1", "followers_count": 3, "suspended": False}, account())
    assert [o.value for o in parsed.observations] == [3]


def test_a_hidden_count_is_a_failure_not_a_count() -> None:
    parsed = parse({"id": "1", "followers_count": -1}, account())
    assert parsed.observations == []
    assert parsed.failures == {
        "alice@mastodon.social": "hidden: the owner hides the follower count"
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"id": True, "followers_count": 1}, "^id: expected a string id, got True$"),
        ({"id": None, "followers_count": 1}, "^id: expected a string id, got None$"),
        ({"id": [1], "followers_count": 1}, r"^id: expected a string id, got \[1\]$"),
        ({"id": "1", "followers_count": -2}, "^followers_count: negative count -2$"),
        ({"id": "1", "followers_count": 1.5}, "^followers_count: expected a count, got 1.5$"),
    ],
)
def test_account_drift_is_bad_payload(body: dict[str, Any], message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse(body, account())


def test_an_answer_that_is_not_an_object_is_bad_payload() -> None:
    with pytest.raises(BadPayload, match="^expected a JSON object, got str$"):
        parse("Record not found", account())


# -- hashtags -------------------------------------------------------------------------------
def test_each_finished_day_is_two_points_and_today_waits() -> None:
    history = [day(TODAY, 7, 3), day(TODAY - DAY, "30", "20"), day(TODAY - 2 * DAY, 12, 9)]
    parsed = parse({"name": "heartstopper", "history": history}, hashtag())
    assert parsed.failures == {}
    expected = [
        Observation(metric, "mastodon.social:heartstopper", value, moment, "#heartstopper",
                    "#heartstopper", {"instance": "mastodon.social"}, DAY)
        for moment, uses, accounts in ((TODAY - DAY, 30, 20), (TODAY - 2 * DAY, 12, 9))
        for metric, value in (("hashtag_uses", uses), ("hashtag_accounts", accounts))
    ]  # fmt: skip
    assert parsed.observations == expected


def test_a_day_that_ended_exactly_now_is_final() -> None:
    ended = AT - DAY  # its 24 hours are over at AT
    parsed = parse({"history": [day(ended, 5, 4)]}, hashtag())
    assert [(o.metric, o.value) for o in parsed.observations] == [
        ("hashtag_uses", 5),
        ("hashtag_accounts", 4),
    ]


def test_a_day_one_second_short_of_its_end_waits() -> None:
    parsed = parse({"history": [day(AT - DAY + timedelta(seconds=1), 5, 4)]}, hashtag())
    assert parsed.observations == [] and parsed.failures == {}


def test_the_first_tag_instance_is_asked_unless_the_target_names_one() -> None:
    body = {"history": [day(TODAY - DAY, 1, 1)]}
    default = parse(body, hashtag(), instances=("first.example", "second.example"))
    assert {o.key for o in default.observations} == {"first.example:heartstopper"}
    named = parse(body, hashtag("second.example"), instances=("first.example", "second.example"))
    assert {o.labels["instance"] for o in named.observations} == {"second.example"}


def test_the_tag_keeps_every_letter_after_its_hash() -> None:
    target = Target("hashtag", "#XOXO", "s")
    parsed = parse({"history": [day(TODAY - DAY, 1, 1)]}, target)
    assert {(o.key, o.label) for o in parsed.observations} == {("mastodon.social:XOXO", "#XOXO")}


def test_an_empty_history_is_a_failure_naming_the_instance() -> None:
    parsed = parse({"history": []}, hashtag("fosstodon.org"))
    assert parsed.failures == {"#heartstopper": "empty history from fosstodon.org"}


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([day(TODAY - DAY, 1, 1), {"uses": 1, "accounts": 1}], "^missing field day$"),
        ([day(TODAY - DAY, 1, "x")], r"^history\[0\]\.accounts: expected a count, got 'x'$"),
        ([day(TODAY - DAY, 1, 1), day(TODAY - 2 * DAY, None, 1)],
         r"^history\[1\]\.uses: expected a count, got None$"),
        ([{"day": "soon", "uses": 1, "accounts": 1}],
         r"^history\[0\]\.day: expected a count, got 'soon'$"),
    ],
)  # fmt: skip
def test_tag_drift_is_bad_payload(history: list[Any], message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse({"history": history}, hashtag())


def test_an_account_and_a_tag_in_one_request_are_each_read_their_way() -> None:
    body = {"id": "5", "followers_count": 9, "history": [day(TODAY - DAY, 2, 1)]}
    parsed = parse(body, account(), hashtag())
    assert sorted(o.metric for o in parsed.observations) == [
        "followers",
        "hashtag_accounts",
        "hashtag_uses",
    ]
