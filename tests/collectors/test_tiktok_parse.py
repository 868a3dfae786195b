"""TikTok `parse`, edge by edge: user info and challenge detail in, points out (mutation-tested)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tracker.collectors.base import Observation, Parsed, Request, Target
from tracker.collectors.tiktok import RESEARCH, TikTokCollector, TikTokSettings
from tracker.errors import BadPayload

AT = datetime(2022, 5, 20, 12, 0, tzinfo=UTC)
TAG = Target("hashtag", "heartstopper", "#heartstopper")
BLOCKED = "blocked or empty answer — check TIKTOK_MS_TOKEN"


def collector(**settings: Any) -> TikTokCollector:
    return TikTokCollector(TikTokSettings(**settings))


def parse_tag(body: Any, *targets: Target, **settings: Any) -> Parsed:
    request = Request(targets=targets or (TAG,), url="https://www.tiktok.com/api/challenge/detail/",
                      params=(("challengeName", "heartstopper"),))  # fmt: skip
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return collector(**settings).parse(request, raw, AT)


def detail(stats: Any = None, v2: Any = None, **challenge: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "challenge": {"id": "1604843346186245", "title": "heartstopper"} | challenge,
        "stats": {"videoCount": 1_400_000, "viewCount": 4_400_000_000} if stats is None else stats,
    }
    if v2 is not None:
        info["statsV2"] = v2
    return {"challengeInfo": info, "statusCode": 0}


# -- hashtags -------------------------------------------------------------------------------
def test_exact_statsv2_strings_win_over_rounded_stats() -> None:
    body = detail(v2={"videoCount": "1412345", "viewCount": "4412345678"})
    parsed = parse_tag(body)
    assert parsed.failures == {}
    assert parsed.observations == [
        Observation("hashtag_views", "1604843346186245", 4_412_345_678, AT, "#heartstopper",
                    "#heartstopper"),
        Observation("hashtag_videos", "1604843346186245", 1_412_345, AT, "#heartstopper",
                    "#heartstopper"),
    ]  # fmt: skip


def test_rounded_stats_keep_their_precision() -> None:
    body = detail(stats={"viewCount": 4_400_000_000, "videoCount": 1_412_345})
    got = [(o.metric, o.value, o.sig) for o in parse_tag(body).observations]
    assert got == [("hashtag_views", 4_400_000_000, 2), ("hashtag_videos", 1_412_345, None)]


@pytest.mark.parametrize(
    ("views", "sig"),
    [(427_700, 4), (1_000, 1), (999, None), (900, None), (120, None), (10_010, 4), (0, None)],
)
def test_trailing_zeros_of_a_rounded_count(views: int, sig: int | None) -> None:
    body = detail(stats={"viewCount": views, "videoCount": 1})
    (first, _) = parse_tag(body).observations
    assert (first.value, first.sig) == (views, sig)


def test_statsv2_without_the_field_falls_back_to_stats() -> None:
    body = detail(v2={"videoCount": "7"}, stats={"viewCount": 5_000, "videoCount": 6})
    got = [(o.metric, o.value, o.sig) for o in parse_tag(body).observations]
    assert got == [("hashtag_views", 5_000, 1), ("hashtag_videos", 7, None)]


def test_every_target_of_the_tag_gets_the_points() -> None:
    other = Target("hashtag", "#Heartstopper", "show")
    parsed = parse_tag(detail(), TAG, other)
    assert [(o.metric, o.subject) for o in parsed.observations] == [
        ("hashtag_views", "#heartstopper"),
        ("hashtag_views", "show"),
        ("hashtag_videos", "#heartstopper"),
        ("hashtag_videos", "show"),
    ]


def test_without_a_title_the_label_is_the_tag_asked_for() -> None:
    parsed = parse_tag(detail(title=""))
    assert {o.label for o in parsed.observations} == {"#heartstopper"}


def test_a_status_code_of_none_is_no_error() -> None:
    body = detail() | {"statusCode": None}
    assert len(parse_tag(body).observations) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", f"^{BLOCKED} \\(empty body\\)$"),
        ([1], f"^{BLOCKED} \\(a JSON list\\)$"),
        (detail() | {"statusCode": 10202}, f"^{BLOCKED} \\(statusCode 10202\\)$"),
        ({"status_code": 10205, "challengeInfo": {}}, f"^{BLOCKED} \\(statusCode 10205\\)$"),
        ({"challengeInfo": "x"}, f"^{BLOCKED} \\(no challengeInfo.challenge: no such hashtag"),
        ({"challengeInfo": {"challenge": {}}}, f"^{BLOCKED} \\(no challengeInfo.challenge"),
        ({"challengeInfo": {"challenge": "x"}}, f"^{BLOCKED} \\(no challengeInfo.challenge"),
        (detail(id="abc"), "^challenge.id: expected a numeric id, got 'abc'$"),
        (detail(id=16048), "^challenge.id: expected a numeric id, got 16048$"),
        (detail(stats={"viewCount": "many", "videoCount": 1}),
         "^challengeInfo.stats.viewCount: expected a count, got 'many'$"),
        (detail(v2={"viewCount": "4.4B"}),
         "^challengeInfo.statsV2.viewCount: expected a count, got '4.4B'$"),
        (detail(stats={"viewCount": 1}), "^missing field stats.videoCount$"),
    ],
)  # fmt: skip
def test_tag_answers_that_are_not_counts_are_bad_payload(body: Any, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse_tag(body)


def test_the_blocked_message_names_the_configured_variable() -> None:
    with pytest.raises(BadPayload, match="^blocked or empty answer — check MY_COOKIE "):
        parse_tag(b"", ms_token_env="MY_COOKIE")


# -- accounts (Research API) ----------------------------------------------------------------
def parse_user(body: Any, *targets: Target, username: str = "aliceoseman") -> Parsed:
    request = Request(targets=targets or (Target("account", "@AliceOseman", "Alice"),),
                      url="https://open.tiktokapis.com/v2/research/user/info/", method="POST",
                      json={"username": username}, budget=RESEARCH)  # fmt: skip
    return collector().parse(request, json.dumps(body).encode(), AT)


USER = {"display_name": "Alice", "follower_count": 1_200_000, "likes_count": "30000000",
        "video_count": 310, "following_count": 5}  # fmt: skip


def test_an_account_is_three_points_keyed_by_the_username_asked() -> None:
    parsed = parse_user({"data": USER, "error": {"code": "ok"}})
    assert parsed.failures == {}
    assert parsed.observations == [
        Observation("followers", "aliceoseman", 1_200_000, AT, "Alice", "aliceoseman"),
        Observation("likes", "aliceoseman", 30_000_000, AT, "Alice", "aliceoseman"),
        Observation("videos", "aliceoseman", 310, AT, "Alice", "aliceoseman"),
    ]


@pytest.mark.parametrize("data", [{}, [], None, "x"])
def test_no_user_data_is_not_found_for_every_target(data: Any) -> None:
    targets = (Target("account", "a", "A"), Target("account", "b", "B"))
    parsed = parse_user({"data": data}, *targets)
    assert parsed.observations == []
    assert parsed.failures == {
        "a": "not found: the Research API sent no user data",
        "b": "not found: the Research API sent no user data",
    }


def test_a_count_that_is_not_a_count_fails_that_target_and_the_next_is_read() -> None:
    targets = (Target("account", "a", "A"), Target("account", "b", "B"))
    parsed = parse_user({"data": USER | {"likes_count": "lots"}}, *targets)
    assert parsed.observations == []
    assert parsed.failures == {
        "a": "data.likes_count: expected a count, got 'lots'",
        "b": "data.likes_count: expected a count, got 'lots'",
    }


def test_a_missing_count_names_the_field() -> None:
    data = {k: v for k, v in USER.items() if k != "video_count"}
    parsed = parse_user({"data": data})
    assert parsed.failures == {"@AliceOseman": "missing field video_count"}


@pytest.mark.parametrize(
    ("body", "message"),
    [([USER], "^expected a JSON object, got list$"), ({"error": {}}, "^missing field data$")],
)
def test_user_answers_that_are_not_the_format_are_bad_payload(body: Any, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse_user(body)
