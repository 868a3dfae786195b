"""YouTube: parse on recorded payloads, then plan -> fetch -> error -> parse over real sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError

from tests.fakes.server import Reply
from tests.fakes.youtube import KEY, FakeYouTube
from tracker.collectors.base import Parsed, Request, Target
from tracker.collectors.youtube import YouTubeCollector, YouTubeSettings, quota_reset
from tracker.errors import (
    BadPayload,
    QuotaExhausted,
    RateLimited,
    SourceError,
    TemporaryError,
)

AT = datetime(2024, 11, 20, 12, 0, tzinfo=UTC)
PACIFIC = ZoneInfo("America/Los_Angeles")
PAYLOADS = Path(__file__).parent / "payloads" / "youtube"
CHANNELS = (PAYLOADS / "channels.json").read_bytes()
EMPTY = (PAYLOADS / "empty.json").read_bytes()
QUOTA = (PAYLOADS / "quota_exceeded.json").read_bytes()
KEY_INVALID = (PAYLOADS / "key_invalid.json").read_bytes()
GOOGLE_DEVS = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
NETFLIX = "UCWOA1ZGywLbqmigxE4Qlvuw"


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)


def account(name: str, subject: str = "heartstopper", channel_id: str = "") -> Target:
    return Target("account", name, subject, (("id", channel_id),) if channel_id else ())


def collector(**settings: Any) -> YouTubeCollector:
    return YouTubeCollector(YouTubeSettings(**settings))


def parse(targets: Sequence[Target], body: bytes) -> Parsed:
    c = collector()
    (request,) = c.plan(targets)
    return c.parse(request, body, AT)


def edited(change: Any) -> bytes:
    data = json.loads(CHANNELS)
    change(data["items"][0])
    return json.dumps(data).encode()


def values(parsed: Parsed) -> dict[tuple[str, str], tuple[int, int | None, str]]:
    return {(o.key, o.metric): (o.value, o.sig, o.label) for o in parsed.observations}


# -- parse ----------------------------------------------------------------------------


def test_parse_reads_subscribers_videos_and_views_per_channel() -> None:
    parsed = parse([account(GOOGLE_DEVS), account(NETFLIX, "Netflix")], CHANNELS)
    assert parsed.failures == {}
    assert values(parsed) == {
        (GOOGLE_DEVS, "followers"): (2_450_000, 3, "@googledevelopers"),
        (GOOGLE_DEVS, "videos"): (6372, None, "@googledevelopers"),
        (GOOGLE_DEVS, "views"): (253_914_873, None, "@googledevelopers"),
        (NETFLIX, "followers"): (28_600_000, 3, "@netflix"),
        (NETFLIX, "videos"): (9112, None, "@netflix"),
        (NETFLIX, "views"): (9_382_051_147, None, "@netflix"),
    }
    assert {o.subject for o in parsed.observations if o.key == NETFLIX} == {"Netflix"}
    assert {o.at for o in parsed.observations} == {AT}


def test_rounded_subscriber_count_keeps_three_significant_figures() -> None:
    parsed = parse([account(NETFLIX)], CHANNELS)
    (followers,) = [o for o in parsed.observations if o.metric == "followers"]
    assert (followers.value, followers.sig) == (28_600_000, 3)


def test_id_left_out_of_items_is_not_found_not_zero() -> None:
    missing = "UC" + "x" * 22
    parsed = parse([account(NETFLIX), account(missing)], CHANNELS)
    assert {o.key for o in parsed.observations} == {NETFLIX}
    assert parsed.failures[missing].startswith("not found")


def test_an_answer_without_items_fails_every_target() -> None:
    parsed = parse([account(NETFLIX), account(GOOGLE_DEVS)], EMPTY)
    assert parsed.observations == []
    assert set(parsed.failures) == {NETFLIX, GOOGLE_DEVS}


@pytest.mark.parametrize("shown", [None, "0"])
def test_hidden_subscriber_count_is_a_failure_never_zero(shown: str | None) -> None:
    def hide(item: dict[str, Any]) -> None:
        item["statistics"]["hiddenSubscriberCount"] = True
        item["statistics"].pop("subscriberCount")
        if shown is not None:
            item["statistics"]["subscriberCount"] = shown

    parsed = parse([account(GOOGLE_DEVS)], edited(hide))
    assert "subscriber count hidden" in parsed.failures[GOOGLE_DEVS]
    assert {o.metric for o in parsed.observations} == {"videos", "views"}


@pytest.mark.parametrize("value", ["2.45M", None, "-5", 1.5, True])
def test_non_count_subscribers_fail_that_channel_only(value: Any) -> None:
    body = edited(lambda item: item["statistics"].update(subscriberCount=value))
    parsed = parse([account(GOOGLE_DEVS), account(NETFLIX)], body)
    assert "subscriberCount" in parsed.failures[GOOGLE_DEVS]
    assert {o.key for o in parsed.observations} == {NETFLIX}


def test_handle_answer_is_matched_without_knowing_the_id() -> None:
    data = json.loads(CHANNELS)
    data["items"] = data["items"][1:]
    parsed = parse([account("@Netflix")], json.dumps(data).encode())
    assert {o.key for o in parsed.observations} == {NETFLIX}
    assert (
        parse([account("@nobody-at-all")], EMPTY).failures["@nobody-at-all"].startswith("not found")
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "^empty body$"),
        (b"null", "^body is JSON null$"),
        (b"<!DOCTYPE html><html><body>Sorry...</body></html>", "^HTML where JSON was expected"),
        (b"{}", "^not a youtube#channelListResponse$"),
        (
            b'{"kind": "youtube#videoListResponse", "items": []}',
            "^not a youtube#channelListResponse$",
        ),
        (
            b'{"kind": "youtube#channelListResponse", "items": "none"}',
            "^items: expected a list of channel objects$",
        ),
        (
            b'{"kind": "youtube#channelListResponse", "items": [42]}',
            "^items: expected a list of channel objects$",
        ),
        (b"{not json", "^invalid JSON: "),
    ],
)
def test_bodies_that_are_not_the_format_raise_bad_payload(body: bytes, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse([account(NETFLIX)], body)


# -- plan -----------------------------------------------------------------------------


def test_plan_batches_120_ids_into_three_requests_each_spending_one_unit() -> None:
    ids = [f"UC{i:022d}" for i in range(120)]
    requests = collector().plan([account(i) for i in ids])
    assert [len(dict(r.params)["id"].split(",")) for r in requests] == [50, 50, 20]
    assert [i for r in requests for i in dict(r.params)["id"].split(",")] == ids
    assert all(r.url == "https://www.googleapis.com/youtube/v3/channels" for r in requests)
    assert all(dict(r.params)["part"] == "statistics,snippet" for r in requests)
    assert {(r.budget, r.cost) for r in requests} == {("units", 1)}


def test_plan_resolves_each_handle_alone_unless_its_id_is_known() -> None:
    targets = [
        account("@Netflix"),
        account("netflix", "again"),  # the same handle: asked once
        account("@googledevelopers", channel_id=GOOGLE_DEVS),  # id known: batched
        account(NETFLIX),
    ]
    by_id, handle = collector().plan(targets)
    assert dict(by_id.params)["id"] == f"{GOOGLE_DEVS},{NETFLIX}"
    assert dict(handle.params)["forHandle"] == "@netflix"
    assert [t.subject for t in handle.targets] == ["heartstopper", "again"]
    assert (handle.budget, handle.cost) == ("units", 1)


def test_the_api_key_is_never_part_of_a_planned_request() -> None:
    for request in collector().plan([account(NETFLIX), account("@netflix")]):
        assert KEY not in repr(request)


def test_batch_size_cannot_exceed_fifty() -> None:
    with pytest.raises(ValidationError, match=r"batch_size\n.*less than or equal to 50"):
        YouTubeSettings(batch_size=51)


def test_daily_quota_setting_is_the_pacific_day_budget() -> None:
    quota = collector(daily_quota=500).quotas["units"]
    assert (quota.limit, quota.every, quota.zone) == (500, None, "America/Los_Angeles")
    assert collector().quotas["units"].limit == 10_000


# -- credentials ----------------------------------------------------------------------


def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YOUTUBE_API_KEY")
    assert collector().missing() == "set YOUTUBE_API_KEY (or sources.youtube.api_key_file)"
    assert collector(api_key_env="YT_KEY").missing() == (
        "set YT_KEY (or sources.youtube.api_key_file)"
    )


def test_key_from_env_or_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert collector().missing() is None
    monkeypatch.delenv("YOUTUBE_API_KEY")
    path = tmp_path / "youtube.key"
    path.write_text("AIzaFromAFile0000\n")
    path.chmod(0o600)
    c = collector(api_key_file=str(path))
    assert c.missing() is None
    assert (
        c.credential_id("units") == "843daed1b674"
    )  # sha256 of the credential, first 12 hex digits (`printf %s VALUE | sha256sum`)


def test_budget_is_per_key(monkeypatch: pytest.MonkeyPatch) -> None:
    first = collector().credential_id("units")
    monkeypatch.setenv("YOUTUBE_API_KEY", "AIzaAnotherKey0000")
    assert first == "442d33f3a1dd" != collector().credential_id("units")


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["quotaExceeded", "dailyLimitExceeded"])
def test_quota_answer_is_exhausted_until_midnight_pacific(reason: str) -> None:
    body = QUOTA.replace(b'"quotaExceeded"', json.dumps(reason).encode())
    before = datetime.now(UTC)
    error = collector().error(403, {}, body)
    assert isinstance(error, QuotaExhausted)
    assert error.reset_at is not None
    local = error.reset_at.astimezone(PACIFIC)
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert timedelta(0) < error.reset_at - before <= timedelta(hours=25)
    assert "quota" in error.cause


@pytest.mark.parametrize(
    ("at", "reset"),
    [
        (datetime(2024, 11, 20, 12, 0, tzinfo=UTC), datetime(2024, 11, 21, 8, 0, tzinfo=UTC)),
        (datetime(2024, 11, 21, 7, 59, tzinfo=UTC), datetime(2024, 11, 21, 8, 0, tzinfo=UTC)),
        (datetime(2024, 7, 1, 6, 59, tzinfo=UTC), datetime(2024, 7, 1, 7, 0, tzinfo=UTC)),
        # The day summer time starts (23 hours) and the day it ends (25 hours).
        (datetime(2024, 3, 10, 12, 0, tzinfo=UTC), datetime(2024, 3, 11, 7, 0, tzinfo=UTC)),
        (datetime(2024, 11, 3, 12, 0, tzinfo=UTC), datetime(2024, 11, 4, 8, 0, tzinfo=UTC)),
    ],
)
def test_quota_resets_at_the_next_pacific_midnight(at: datetime, reset: datetime) -> None:
    assert quota_reset(at) == reset


def test_invalid_key_is_a_source_error_naming_the_reason() -> None:
    error = collector().error(400, {}, KEY_INVALID)
    assert type(error) is SourceError
    assert "API_KEY_INVALID" in error.cause and "API key not valid" in error.cause
    legacy = KEY_INVALID.replace(b'"badRequest"', b'"keyInvalid"')
    assert "keyInvalid" in (collector().error(400, {}, legacy) or SourceError("")).cause


@pytest.mark.parametrize("reason", ["forbidden", "accessNotConfigured", "ipRefererBlocked"])
def test_other_403_reasons_are_source_errors(reason: str) -> None:
    body = QUOTA.replace(b'"quotaExceeded"', json.dumps(reason).encode())
    error = collector().error(403, {}, body)
    assert type(error) is SourceError and reason in error.cause
    assert "<a href" not in error.cause


def test_per_minute_limits_are_rate_limited_and_success_is_none() -> None:
    body = QUOTA.replace(b'"quotaExceeded"', b'"rateLimitExceeded"')
    assert isinstance(collector().error(403, {}, body), RateLimited)
    assert collector().error(200, {}, CHANNELS) is None
    assert type(collector().error(503, {}, b"backend error")) is TemporaryError


# -- over real sockets ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeYouTube]:
    server = FakeYouTube()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _collect(
    c: YouTubeCollector, targets: Sequence[Target]
) -> list[tuple[Request, Parsed | SourceError]]:
    outcomes: list[tuple[Request, Parsed | SourceError]] = []
    async with httpx.AsyncClient(timeout=1.0) as client:
        for request in c.plan(targets):
            response = await c.fetch(client, request)
            error = c.error(response.status_code, response.headers, response.content)
            outcomes.append((request, error or c.parse(request, response.content, AT)))
    return outcomes


def collect(fake: FakeYouTube, targets: Sequence[Target], **settings: Any) -> list[Any]:
    c = collector(base_url=fake.url, **settings)
    return [outcome for _, outcome in asyncio.run(_collect(c, targets))]


def test_round_trip_over_sockets(fake: FakeYouTube) -> None:
    ids = [fake.add(f"fan{i}", 1_234_567 + i, videos=i, views=10 * i) for i in range(60)]
    handle_id = fake.add("heartstopper", 987_654)
    outcomes = collect(fake, [account(i) for i in ids] + [account("@HeartStopper")])
    assert len(fake.requests) == 3
    assert [len((s.param("id") or "").split(",")) for s in fake.requests[:2]] == [50, 10]
    assert fake.requests[2].param("forHandle") == "@heartstopper"
    assert {s.param("key") for s in fake.requests} == {KEY}
    assert fake.units[KEY] == 3
    observations = [o for p in outcomes if isinstance(p, Parsed) for o in p.observations]
    followers = {o.key: (o.value, o.sig) for o in observations if o.metric == "followers"}
    assert followers[ids[7]] == (1_230_000, 3)
    assert followers[handle_id] == (987_000, 3)
    assert {o.value for o in observations if o.metric == "videos" and o.key == ids[7]} == {7}


def test_rename_keeps_the_channel_id_and_takes_the_new_handle(fake: FakeYouTube) -> None:
    channel = fake.add("aliceoseman", 150_000)
    (before,) = collect(fake, [account("@aliceoseman")])
    fake.rename(channel, "@alice_oseman")
    fake.set_subscribers(channel, 162_000)
    renamed = collect(
        fake,
        [account("@aliceoseman", channel_id=channel), account("@alice_oseman")],
    )
    pairs = {
        (o.key, o.label, o.value)
        for p in [before, *renamed]
        for o in p.observations
        if o.metric == "followers"
    }
    assert pairs == {(channel, "@aliceoseman", 150_000), (channel, "@alice_oseman", 162_000)}
    # The old handle alone no longer resolves.
    (gone,) = collect(fake, [account("@aliceoseman")])
    assert gone.failures["@aliceoseman"].startswith("not found")


def test_hidden_count_over_sockets_is_a_failure(fake: FakeYouTube) -> None:
    channel = fake.add("shy", 52_000, hidden=True)
    (parsed,) = collect(fake, [account(channel)])
    assert "subscriber count hidden" in parsed.failures[channel]
    assert "followers" not in {o.metric for o in parsed.observations}


def test_spent_quota_over_sockets_is_exhausted_until_pacific_midnight(fake: FakeYouTube) -> None:
    fake.daily_quota = 1
    channel = fake.add("netflix", 28_600_000)
    first, second = collect(fake, [account(channel), account("@someone")])
    assert isinstance(first, Parsed)
    assert isinstance(second, QuotaExhausted) and second.reset_at is not None
    assert second.reset_at.astimezone(PACIFIC).hour == 0
    assert second.reset_at - datetime.now(UTC) <= timedelta(hours=25)


def test_wrong_key_over_sockets_is_refused_without_echoing_it(
    fake: FakeYouTube, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YOUTUBE_API_KEY", "AIzaWrongKey1234567")
    (error,) = collect(fake, [account(NETFLIX)])
    assert type(error) is SourceError and "API_KEY_INVALID" in error.cause
    assert "AIzaWrongKey1234567" not in error.cause


def test_server_errors_are_temporary(fake: FakeYouTube) -> None:
    fake.fail_next(Reply(503, {}, b"Service Unavailable"))
    (error,) = collect(fake, [account(NETFLIX)])
    assert type(error) is TemporaryError
