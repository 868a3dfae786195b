"""Bluesky `parse`, edge by edge: bodies in, observations and failures out (mutation-tested)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tracker.collectors.base import Observation, Parsed, Request, Target
from tracker.collectors.bluesky import BlueskyCollector, BlueskySettings

AT = datetime(2024, 11, 20, 12, 0, tzinfo=UTC)


def parse(names: list[str], profiles: list[dict[str, Any]]) -> Parsed:
    """One request for `names`, answered with `profiles`."""
    c = BlueskyCollector(BlueskySettings())
    targets = tuple(Target("account", name, f"subject of {name}") for name in names)
    request = Request(targets=targets, url=c.url, params=tuple(("actors", n) for n in names))
    return c.parse(request, json.dumps({"profiles": profiles}).encode(), AT)


def test_a_did_is_matched_exactly_and_a_handle_in_any_case() -> None:
    # DIDs are case-sensitive; handles are not, and the AppView may send them capitalised.
    profiles = [
        {"did": "did:web:Example.COM", "handle": "one.example", "followersCount": 1},
        {"did": "did:plc:two", "handle": "Kit.Bsky.Social", "followersCount": 2},
    ]
    parsed = parse(["did:web:Example.COM", "kit.bsky.social"], profiles)
    assert parsed.failures == {}
    assert parsed.observations == [
        Observation("followers", "did:web:Example.COM", 1, AT, "subject of did:web:Example.COM",
                    "one.example"),
        Observation("followers", "did:plc:two", 2, AT, "subject of kit.bsky.social",
                    "Kit.Bsky.Social"),
    ]  # fmt: skip


def test_a_did_in_another_case_is_another_account() -> None:
    profiles = [{"did": "did:web:example.com", "handle": "one.example", "followersCount": 1}]
    parsed = parse(["did:web:Example.COM"], profiles)
    assert parsed.observations == []
    assert parsed.failures == {"did:web:Example.COM": "not found: Bluesky left the actor out"}


def test_every_target_is_answered_after_a_missing_one() -> None:
    profiles = [{"did": "did:plc:kit", "handle": "kit.bsky.social", "followersCount": 1800}]
    parsed = parse(["gone.bsky.social", "kit.bsky.social"], profiles)
    assert parsed.failures == {"gone.bsky.social": "not found: Bluesky left the actor out"}
    assert [(o.key, o.value) for o in parsed.observations] == [("did:plc:kit", 1800)]


def test_a_profile_without_a_did_is_a_failure_naming_it() -> None:
    profiles = [
        {"did": 42, "handle": "num.bsky.social", "followersCount": 1},
        {"did": "plc:nodid", "handle": "bare.bsky.social", "followersCount": 2},
    ]
    parsed = parse(["num.bsky.social", "bare.bsky.social"], profiles)
    assert parsed.observations == []
    assert parsed.failures == {
        "num.bsky.social": "profile did: expected a DID, got 42",
        "bare.bsky.social": "profile did: expected a DID, got 'plc:nodid'",
    }


def test_a_count_that_is_not_a_count_is_a_failure_naming_the_field() -> None:
    profiles = [
        {"did": "did:plc:a", "handle": "a.bsky.social", "followersCount": "many"},
        {"did": "did:plc:b", "handle": "b.bsky.social"},
        {"did": "did:plc:c", "handle": "c.bsky.social", "followersCount": -1},
    ]
    parsed = parse(["a.bsky.social", "b.bsky.social", "c.bsky.social"], profiles)
    assert parsed.observations == []
    assert parsed.failures == {
        "a.bsky.social": "followersCount: expected a count, got 'many'",
        "b.bsky.social": "missing field followersCount",
        "c.bsky.social": "followersCount: negative count -1",
    }


def test_a_profile_without_a_handle_is_labelled_empty() -> None:
    parsed = parse(["did:plc:nohandle"], [{"did": "did:plc:nohandle", "followersCount": 7}])
    (observation,) = parsed.observations
    assert (observation.key, observation.value, observation.label) == ("did:plc:nohandle", 7, "")


def test_a_count_sent_as_a_digit_string_is_read() -> None:
    profiles = [{"did": "did:plc:s", "handle": "s.bsky.social", "followersCount": " 950 "}]
    (observation,) = parse(["s.bsky.social"], profiles).observations
    assert observation.value == 950
