"""X `parse`, edge by edge: users and counts answers in, points out (mutation-tested)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tracker.collectors.base import Observation, Parsed, Request, Target
from tracker.collectors.x import XCollector, XSettings
from tracker.errors import BadPayload

AT = datetime(2024, 11, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
BY_NAME = "https://api.x.com/2/users/by"
BY_ID = "https://api.x.com/2/users"
COUNTS = "https://api.x.com/2/tweets/counts/recent"


def user(uid: Any = "2244994945", name: str = "XDevelopers", followers: Any = 500) -> Any:
    return {"id": uid, "username": name, "name": "X Dev",
            "public_metrics": {"followers_count": followers}}  # fmt: skip


def account(name: str, uid: str = "") -> Target:
    return Target("account", name, f"subject {name}", (("id", uid),) if uid else ())


def parse(body: Any, url: str, *targets: Target) -> Parsed:
    c = XCollector(XSettings())
    return c.parse(Request(targets=targets, url=url), json.dumps(body).encode(), AT)


# -- users ----------------------------------------------------------------------------------
def test_a_user_is_keyed_by_id_and_labelled_by_username() -> None:
    parsed = parse({"data": [user()]}, BY_NAME, account("@xdevelopers"))
    assert parsed.failures == {}
    assert parsed.observations == [
        Observation("followers", "2244994945", 500, AT, "subject @xdevelopers", "XDevelopers")
    ]


def test_by_ids_the_id_option_matches_even_after_a_rename() -> None:
    body = {"data": [user(name="NewName")]}
    parsed = parse(body, BY_ID, account("OldName", "2244994945"))
    assert [(o.key, o.label) for o in parsed.observations] == [("2244994945", "NewName")]


def test_by_ids_without_an_id_option_the_username_is_looked_up() -> None:
    # An id lookup keyed by id: a target without an id is looked for under its name.
    parsed = parse({"data": [user(uid="2244994945")]}, BY_ID, account("2244994945"))
    assert [o.key for o in parsed.observations] == ["2244994945"]


def test_by_names_the_id_option_is_not_used() -> None:
    parsed = parse({"data": [user()]}, BY_NAME, account("someone", "2244994945"))
    assert parsed.failures == {"someone": "not found: X left the user out"}


def test_by_names_a_name_matches_even_when_the_id_option_is_stale() -> None:
    parsed = parse({"data": [user()]}, BY_NAME, account("XDevelopers", "999"))
    assert [o.key for o in parsed.observations] == ["2244994945"]


def test_a_user_without_a_username_matches_no_name() -> None:
    nameless = {"id": "1", "public_metrics": {"followers_count": 3}}
    parsed = parse({"data": [nameless]}, BY_NAME, account("none"), account("XXXX"))
    assert parsed.observations == []
    assert set(parsed.failures) == {"none", "XXXX"}


def test_refused_names_carry_xs_own_detail_and_others_go_on() -> None:
    errors = [
        {
            "value": "Gone_User",
            "detail": "Could not find user with usernames: [gone_user].",
            "title": "Not Found Error",
        },
        {"value": "sus", "title": "Forbidden", "detail": "User has been suspended: [sus]."},
    ]
    body = {"data": [user()], "errors": errors + [{"detail": "no value"}, "junk"]}
    parsed = parse(body, BY_NAME, account("gone_user"), account("sus"), account("nobody"),
                   account("XDevelopers"))  # fmt: skip
    assert parsed.failures == {
        "gone_user": "Could not find user with usernames: [gone_user].",
        "sus": "User has been suspended: [sus].",
        "nobody": "not found: X left the user out",
    }
    assert [o.value for o in parsed.observations] == [500]


def test_only_errors_is_an_answer_too() -> None:
    body = {"errors": [{"value": "a", "detail": "Could not find user with usernames: [a]."}]}
    parsed = parse(body, BY_NAME, account("a"))
    assert parsed.failures == {"a": "Could not find user with usernames: [a]."}


@pytest.mark.parametrize(
    ("found", "cause"),
    [
        (user(uid="abc"), "id: expected a numeric string id, got 'abc'"),
        (user(uid=2244994945), "id: expected a numeric string id, got 2244994945"),
        (user(followers="lots"), "followers_count: expected a count, got 'lots'"),
        ({"id": "1", "username": "XDevelopers"}, "missing field public_metrics"),
        # A plain int is read at once; these are not, and are still refused with the cause.
        (user(followers=-3), "followers_count: negative count -3"),
        (user(followers=True), "followers_count: expected a count, got True"),
        (user(followers=1.5), "followers_count: expected a count, got 1.5"),
        (
            {"id": "1", "username": "XDevelopers", "public_metrics": [500]},
            "missing field public_metrics.followers_count",
        ),
    ],
)
def test_drift_in_a_user_is_a_failure_naming_the_field(found: Any, cause: str) -> None:
    parsed = parse({"data": [found]}, BY_NAME, account("XDevelopers"))
    assert parsed.observations == [] and parsed.failures == {"XDevelopers": cause}


def test_a_count_sent_as_a_digit_string_is_still_read() -> None:
    parsed = parse({"data": [user(followers="500")]}, BY_NAME, account("XDevelopers"))
    assert [o.value for o in parsed.observations] == [500] and parsed.failures == {}


def test_a_user_without_a_username_is_labelled_empty() -> None:
    found = {"id": "12", "public_metrics": {"followers_count": 3}}
    (observation,) = parse({"data": [found]}, BY_ID, account("x", "12")).observations
    assert observation.label == ""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("text", "^expected a JSON object, got str$"),
        ({"meta": {}}, "^neither data nor errors in the users answer$"),
        ({"data": [], "errors": {}}, "^data and errors must be lists$"),
        ({"data": [42]}, r"^data\[\]: expected an object, got 42$"),
    ],
)
def test_users_drift_is_bad_payload(body: Any, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse(body, BY_NAME, account("a"))


# -- hashtag counts -------------------------------------------------------------------------
def bucket(start: datetime, end: datetime, count: Any) -> dict[str, Any]:
    return {"start": start.isoformat().replace("+00:00", "Z"),
            "end": end.isoformat().replace("+00:00", "Z"), "tweet_count": count}  # fmt: skip


MIDNIGHT = datetime(2024, 11, 20, tzinfo=UTC)


def test_only_whole_finished_days_count() -> None:
    buckets = [
        bucket(MIDNIGHT - 2 * DAY - timedelta(hours=3), MIDNIGHT - 2 * DAY, 5),  # partial start
        bucket(MIDNIGHT - 2 * DAY, MIDNIGHT - DAY, 40),
        bucket(MIDNIGHT - DAY, MIDNIGHT, "35"),
        bucket(MIDNIGHT, AT, 9),  # today, still growing
    ]
    tag = Target("hashtag", "#Heartstopper", "#heartstopper")
    parsed = parse({"data": buckets, "meta": {"total_tweet_count": 89}}, COUNTS, tag)
    assert parsed.failures == {}
    assert parsed.observations == [
        Observation("hashtag_posts", "heartstopper", 40, MIDNIGHT - 2 * DAY, "#heartstopper",
                    "#heartstopper", period=DAY),
        Observation("hashtag_posts", "heartstopper", 35, MIDNIGHT - DAY, "#heartstopper",
                    "#heartstopper", period=DAY),
    ]  # fmt: skip


def test_a_day_ending_exactly_now_is_finished() -> None:
    at_midnight = bucket(MIDNIGHT - DAY, MIDNIGHT, 3)
    c = XCollector(XSettings())
    request = Request(targets=(Target("hashtag", "tag", "s"),), url=COUNTS)
    parsed = c.parse(request, json.dumps({"data": [at_midnight]}).encode(), MIDNIGHT)
    assert [o.value for o in parsed.observations] == [3]


def test_naive_bucket_times_are_utc() -> None:
    naive = {"start": "2024-11-18T00:00:00", "end": "2024-11-19T00:00:00", "tweet_count": 2}
    (observation,) = parse({"data": [naive]}, COUNTS, Target("hashtag", "t", "s")).observations
    assert observation.at == datetime(2024, 11, 18, tzinfo=UTC)


def test_bucket_times_with_an_offset_keep_it() -> None:
    shifted = {"start": "2024-11-18T00:00:00+02:00", "end": "2024-11-19T00:00:00+02:00",
               "tweet_count": 2}  # fmt: skip
    (observation,) = parse({"data": [shifted]}, COUNTS, Target("hashtag", "t", "s")).observations
    assert observation.at == datetime(2024, 11, 17, 22, tzinfo=UTC)


def test_every_tag_gets_the_buckets() -> None:
    buckets = [bucket(MIDNIGHT - DAY, MIDNIGHT, 3)]
    targets = (Target("hashtag", "#A", "a"), Target("hashtag", "b", "b"))
    parsed = parse({"data": buckets}, COUNTS, *targets)
    assert [(o.key, o.label, o.subject) for o in parsed.observations] == [
        ("a", "#a", "a"),
        ("b", "#b", "b"),
    ]


@pytest.mark.parametrize(
    ("buckets", "message"),
    [
        ({}, "^data: expected a list, got dict$"),
        ([{"end": "2024-11-19T00:00:00Z", "tweet_count": 1}], "^missing field start$"),
        ([bucket(MIDNIGHT - DAY, MIDNIGHT, 1) | {"end": None}],
         r"^data\[0\]\.end: expected an ISO time, got None$"),
        ([bucket(MIDNIGHT - 2 * DAY, MIDNIGHT - DAY, 1), bucket(MIDNIGHT - DAY, MIDNIGHT, -4)],
         r"^data\[1\]\.tweet_count: negative count -4$"),
    ],
)  # fmt: skip
def test_counts_drift_is_bad_payload(buckets: Any, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse({"data": buckets}, COUNTS, Target("hashtag", "t", "s"))
