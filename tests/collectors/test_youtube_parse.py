"""YouTube `parse`, edge by edge: channel lists in, points out (mutation-tested)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tracker.collectors.base import Observation, Parsed, Request, Target
from tracker.collectors.youtube import YouTubeCollector, YouTubeSettings
from tracker.errors import BadPayload

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NETFLIX = "UCWOA1ZGywLbqmigxE4Qlvuw"
OTHER = "UC_x5XG1OV2P6uZZ5FSM9Ttw"


def channel(cid: str = NETFLIX, snippet: Any = None, **stats: Any) -> dict[str, Any]:
    numbers = {"subscriberCount": "28300000", "videoCount": "8000", "viewCount": "9000000000"}
    item: dict[str, Any] = {"kind": "youtube#channel", "id": cid, "statistics": numbers | stats}
    if snippet is not None:
        item["snippet"] = snippet
    return item


def answer(*items: dict[str, Any], kind: str = "youtube#channelListResponse") -> dict[str, Any]:
    return {"kind": kind, "items": list(items)}


def target(name: str = NETFLIX, cid: str = "") -> Target:
    return Target("account", name, "Netflix", (("id", cid),) if cid else ())


def parse(body: Any, *targets: Target, handle: str = "") -> Parsed:
    c = YouTubeCollector(YouTubeSettings())
    select = ("forHandle", handle) if handle else ("id", ",".join(t.name for t in targets))
    request = Request(targets=targets, url=c.url, params=(("part", "statistics,snippet"), select))
    return c.parse(request, json.dumps(body).encode(), AT)


def test_a_channel_is_three_points_keyed_by_its_id() -> None:
    parsed = parse(answer(channel(snippet={"customUrl": "@netflix", "title": "Netflix"})), target())
    assert parsed.failures == {}
    assert parsed.observations == [
        Observation("followers", NETFLIX, 28_300_000, AT, "Netflix", "@netflix", sig=3),
        Observation("videos", NETFLIX, 8_000, AT, "Netflix", "@netflix"),
        Observation("views", NETFLIX, 9_000_000_000, AT, "Netflix", "@netflix"),
    ]


@pytest.mark.parametrize(
    ("snippet", "label"),
    [({"title": "Netflix"}, "Netflix"), ({}, ""), ("not an object", ""), (None, "")],
)
def test_the_label_is_the_handle_else_the_title_else_empty(snippet: Any, label: str) -> None:
    (first, *_) = parse(answer(channel(snippet=snippet)), target()).observations
    assert first.label == label


def test_a_hidden_subscriber_count_still_gives_videos_and_views_and_says_why() -> None:
    body = answer(channel(hiddenSubscriberCount=True, subscriberCount="0"))
    parsed = parse(body, target())
    assert [(o.metric, o.value) for o in parsed.observations] == [
        ("videos", 8_000),
        ("views", 9_000_000_000),
    ]
    assert parsed.failures == {NETFLIX: "subscriber count hidden by the channel owner"}


def test_hidden_false_is_a_count_like_any() -> None:
    parsed = parse(answer(channel(hiddenSubscriberCount=False)), target())
    assert [o.metric for o in parsed.observations] == ["followers", "videos", "views"]


def test_channels_are_matched_by_id_and_the_missing_one_fails_after_the_rest() -> None:
    missing = "UC" + "x" * 22
    parsed = parse(answer(channel(OTHER)), target(missing), target(OTHER))
    assert parsed.failures == {missing: "not found: YouTube has no such channel"}
    assert {o.key for o in parsed.observations} == {OTHER}


def test_a_target_named_by_handle_matches_by_its_id_option() -> None:
    parsed = parse(answer(channel()), target("@netflix", NETFLIX))
    assert {o.key for o in parsed.observations} == {NETFLIX}


def test_a_for_handle_answer_is_the_channel_the_handle_names() -> None:
    parsed = parse(answer(channel()), target("@Netflix"), handle="@netflix")
    assert parsed.failures == {} and {o.key for o in parsed.observations} == {NETFLIX}


def test_an_empty_for_handle_answer_is_not_found() -> None:
    parsed = parse({"kind": "youtube#channelListResponse"}, target("@nobody"), handle="@nobody")
    assert parsed.failures == {"@nobody": "not found: YouTube has no such channel"}


def test_no_items_means_nothing_matched() -> None:
    parsed = parse({"kind": "youtube#channelListResponse"}, target())
    assert parsed.failures == {NETFLIX: "not found: YouTube has no such channel"}


@pytest.mark.parametrize(
    ("item", "cause"),
    [
        (channel(cid="UCshort"), "id: expected a channel id, got 'UCshort'"),
        ({"id": NETFLIX}, "missing field statistics"),
        (channel(subscriberCount="lots"), "subscriberCount: expected a count, got 'lots'"),
        (channel(videoCount=None), "videoCount: expected a count, got None"),
        (channel(viewCount="-1"), "viewCount: expected a count, got '-1'"),
        # Digit strings are read at once; these are not plain ASCII digits, and still refused.
        (channel(viewCount="\u0661\u0662"), "viewCount: expected a count, got '\u0661\u0662'"),
        (channel(videoCount="\u00b2"), "videoCount: expected a count, got '\u00b2'"),
        (channel(videoCount=""), "videoCount: expected a count, got ''"),
        (channel(videoCount=True), "videoCount: expected a count, got True"),
        ({"id": NETFLIX, "statistics": ["8000"]}, "missing field videoCount"),
    ],
)
def test_drift_in_a_channel_is_a_failure_naming_the_field(item: dict[str, Any], cause: str) -> None:
    parsed = parse(answer(item), target(), handle="@netflix")
    assert parsed.observations == [] and parsed.failures == {NETFLIX: cause}


def test_counts_as_numbers_or_padded_strings_are_still_read() -> None:
    item = channel(videoCount=" 8000 ", viewCount=9000000000, subscriberCount="28300000")
    parsed = parse(answer(item), target())
    assert [(o.metric, o.value) for o in parsed.observations] == [
        ("followers", 28300000), ("videos", 8000), ("views", 9000000000)
    ]  # fmt: skip
    assert [o.sig for o in parsed.observations] == [3, None, None]


def test_a_channel_without_a_subscriber_count_fails_unless_hidden() -> None:
    item = channel()
    del item["statistics"]["subscriberCount"]
    assert parse(answer(item), target()).failures == {NETFLIX: "missing field subscriberCount"}


def test_an_id_that_is_not_a_string_is_a_failure() -> None:
    parsed = parse(answer(channel(cid=42)), target(), handle="@netflix")  # type: ignore[arg-type]
    assert parsed.failures == {NETFLIX: "id: expected a channel id, got 42"}


@pytest.mark.parametrize(
    "body",
    [
        ["not", "an", "object"],
        answer(kind="youtube#videoListResponse"),
        {"items": []},
    ],
)
def test_not_a_channel_list_is_bad_payload(body: Any) -> None:
    with pytest.raises(BadPayload, match="^not a youtube#channelListResponse$"):
        parse(body, target())


@pytest.mark.parametrize("items", ["none", [channel(), 42]])
def test_items_that_are_not_channels_are_bad_payload(items: Any) -> None:
    body = {"kind": "youtube#channelListResponse", "items": items}
    with pytest.raises(BadPayload, match="^items: expected a list of channel objects$"):
        parse(body, target())
