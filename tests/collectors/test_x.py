"""X: parse on recorded payloads, then plan -> fetch -> error -> parse over real sockets."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tests.fakes.server import Reply
from tests.fakes.x import TOKEN, FakeX
from tracker.collectors.base import Parsed, Request, Target
from tracker.collectors.x import XCollector, XSettings
from tracker.errors import BadPayload, QuotaExhausted, RateLimited, SourceError, TemporaryError

AT = datetime(2024, 11, 20, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
PAYLOADS = Path(__file__).parent / "payloads" / "x"
USERS = (PAYLOADS / "users_by.json").read_bytes()
COUNTS = (PAYLOADS / "counts_recent.json").read_bytes()
FORBIDDEN = (PAYLOADS / "client_forbidden.json").read_bytes()
TOO_MANY = (PAYLOADS / "too_many_requests.json").read_bytes()


@pytest.fixture(autouse=True)
def bearer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)


def account(name: str, subject: str = "heartstopper", user_id: str = "") -> Target:
    return Target("account", name, subject, (("id", user_id),) if user_id else ())


def hashtag(tag: str = "heartstopper") -> Target:
    return Target("hashtag", tag, f"#{tag}")


def collector(**settings: Any) -> XCollector:
    return XCollector(XSettings(**settings))


def parse(targets: Sequence[Target], body: bytes, at: datetime = AT) -> Parsed:
    c = collector()
    (request,) = c.plan(targets)
    return c.parse(request, body, at)


# -- parse: followers -----------------------------------------------------------------


def test_parse_matches_names_in_any_case() -> None:
    parsed = parse([account("@xdevelopers"), account("API", "X")], USERS)
    got = {o.key: (o.value, o.label, o.metric, o.subject, o.sig) for o in parsed.observations}
    assert got == {
        "2244994945": (570_148, "XDevelopers", "followers", "heartstopper", None),
        "6253282": (6_022_115, "API", "followers", "X", None),
    }
    assert parsed.failures == {}


def test_unknown_and_suspended_names_fail_with_the_detail_never_zero() -> None:
    targets = [account("XDevelopers"), account("nobody_here_123"), account("Suspended_Acct")]
    parsed = parse(targets, USERS)
    assert [o.label for o in parsed.observations] == ["XDevelopers"]
    assert parsed.failures == {
        "nobody_here_123": "Could not find user with usernames: [nobody_here_123].",
        "Suspended_Acct": "User has been suspended: [suspended_acct].",
    }


def test_a_name_in_neither_data_nor_errors_is_not_found() -> None:
    parsed = parse([account("API"), account("ghost")], USERS)
    assert parsed.failures["ghost"].startswith("not found")


def test_an_answer_with_only_errors_fails_every_target() -> None:
    data = json.loads(USERS)
    del data["data"]
    parsed = parse([account("nobody_here_123")], json.dumps(data).encode())
    assert parsed.observations == []
    assert "Could not find user" in parsed.failures["nobody_here_123"]


@pytest.mark.parametrize("value", ["570K", None, -1, 2.5, False])
def test_non_count_followers_fail_that_user_only(value: Any) -> None:
    data = json.loads(USERS)
    data["data"][0]["public_metrics"]["followers_count"] = value
    parsed = parse([account("XDevelopers"), account("API")], json.dumps(data).encode())
    assert "followers_count" in parsed.failures["XDevelopers"]
    assert [o.label for o in parsed.observations] == ["API"]


def test_a_recorded_answer_without_public_metrics_fails_each_user_by_name() -> None:
    body = (PAYLOADS / "recorded_users_by_without_fields.json").read_bytes()
    parsed = parse([account("Twitter"), account("twitterdev")], body)
    assert parsed.observations == []
    assert parsed.failures == {
        "Twitter": "missing field public_metrics",
        "twitterdev": "missing field public_metrics",
    }


def test_rename_keeps_the_user_id_as_key_and_takes_the_new_name() -> None:
    # The config names the old handle with the user's id; X answers with today's name.
    target = account("TwitterDev", user_id="2244994945")
    c = collector()
    (request,) = c.plan([target])
    assert request.url.endswith("/2/users") and dict(request.params)["ids"] == "2244994945"
    parsed = c.parse(request, USERS, AT)
    (obs,) = parsed.observations
    assert (obs.key, obs.label, obs.value) == ("2244994945", "XDevelopers", 570_148)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "^empty body$"),
        (b"null", "^body is JSON null$"),
        (b"[]", "^expected a JSON object, got list$"),
        (b"<html>Over capacity</html>", "^HTML where JSON was expected"),
        (b"{}", "^neither data nor errors in the users answer$"),
        (b'{"data": {"id": "1"}}', "^data and errors must be lists$"),
    ],
)
def test_users_bodies_that_are_not_the_format_raise_bad_payload(body: bytes, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse([account("API")], body)


# -- parse: hashtag counts ------------------------------------------------------------


def test_counts_keep_only_whole_finished_days() -> None:
    parsed = parse([hashtag()], COUNTS)
    assert parsed.failures == {}
    got = [(o.at, o.value) for o in parsed.observations]
    start = datetime(2024, 11, 14, tzinfo=UTC)
    assert got == list(
        zip([start + i * DAY for i in range(6)], [1034, 987, 1210, 1388, 902, 0], strict=True)
    )
    first = parsed.observations[0]
    assert (first.metric, first.key, first.label, first.period) == (
        "hashtag_posts",
        "heartstopper",
        "#heartstopper",
        DAY,
    )


def test_a_bucket_ending_after_the_reading_is_still_growing() -> None:
    at = datetime(2024, 11, 18, 12, 0, tzinfo=UTC)
    parsed = parse([hashtag()], COUNTS, at)
    assert max(o.at for o in parsed.observations) == datetime(2024, 11, 17, tzinfo=UTC)


# Tweepy's recorded answer to /2/tweets/counts/recent?query=Tweepy (no granularity: hours),
# read at 2022-05-07 12:56 UTC (origin: payloads/x/SOURCES.md).
HOURLY = (PAYLOADS / "recorded_counts_recent_hourly.json").read_bytes()
HOURLY_AT = datetime(2022, 5, 7, 12, 56, 27, tzinfo=UTC)


def test_hourly_buckets_are_summed_into_whole_days() -> None:
    parsed = parse([hashtag("tweepy")], HOURLY, HOURLY_AT)
    assert parsed.failures == {}
    got = [(o.at, o.value, o.period) for o in parsed.observations]
    days = [datetime(2022, 5, d, tzinfo=UTC) for d in range(1, 7)]
    # Each day's 24 hourly counts in the recording, added up.
    sums = [739, 757, 763, 757, 782, 758]
    assert got == [(day, total, DAY) for day, total in zip(days, sums, strict=True)]
    data = json.loads(HOURLY)
    assert sum(b["tweet_count"] for b in data["data"]) == data["meta"]["total_tweet_count"]
    # The partial first (from 12:56) and last (to 12:56) days are not stored.
    partial = sum(
        b["tweet_count"] for b in data["data"] if b["start"][:10] in ("2022-04-30", "2022-05-07")
    )
    assert sum(sums) + partial == data["meta"]["total_tweet_count"]


def test_minute_buckets_sum_too_and_a_gap_leaves_the_day_incomplete() -> None:
    day = datetime(2024, 11, 14, tzinfo=UTC)
    minutes = [
        {"start": _iso(day + i * MINUTE), "end": _iso(day + (i + 1) * MINUTE), "tweet_count": 2}
        for i in range(24 * 60)
    ]
    body = json.dumps({"data": minutes, "meta": {"total_tweet_count": 2880}}).encode()
    parsed = parse([hashtag()], body)
    assert [(o.at, o.value) for o in parsed.observations] == [(day, 2880)]
    gap = json.dumps({"data": minutes[:100] + minutes[101:]}).encode()
    assert parse([hashtag()], gap).observations == []


def test_no_whole_day_is_a_failure_with_the_cause_not_silence() -> None:
    hours = json.loads(HOURLY)["data"][:30]  # 2022-04-30 12:56 .. 2022-05-01 18:00
    parsed = parse([hashtag("tweepy")], json.dumps({"data": hours}).encode(), HOURLY_AT)
    assert parsed.observations == []
    assert parsed.failures == {
        "tweepy": "no whole finished UTC day in 30 bucket(s) of up to 1:00:00 from "
        "2022-04-30 12:56 to 2022-05-01 18:00 UTC: nothing to store"
    }
    empty = parse([hashtag()], b'{"data": [], "meta": {"total_tweet_count": 0}}')
    assert empty.observations == [] and "no buckets in the answer" in empty.failures["heartstopper"]


def test_a_bucket_across_midnight_completes_neither_day() -> None:
    rows = [
        ("2024-11-14T00:00:00Z", "2024-11-14T12:00:00Z", 5),
        ("2024-11-14T12:00:00Z", "2024-11-15T12:00:00Z", 7),
        ("2024-11-15T12:00:00Z", "2024-11-16T00:00:00Z", 9),
        ("2024-11-16T00:00:00Z", "2024-11-17T00:00:00Z", 11),
    ]
    body = json.dumps(
        {"data": [{"start": a, "end": b, "tweet_count": n} for a, b, n in rows]}
    ).encode()
    parsed = parse([hashtag()], body)
    assert [(o.at, o.value) for o in parsed.observations] == [
        (datetime(2024, 11, 16, tzinfo=UTC), 11)
    ]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{}", "^missing field data$"),
        (b'{"data": "none"}', "^data: expected a list, got str$"),
        (
            b'{"data": [{"start": "yesterday", "end": "2024-11-15T00:00:00.000Z",'
            b' "tweet_count": 1}]}',
            r"^data\[0\]\.start: expected an ISO time, got 'yesterday'$",
        ),
        (
            b'{"data": [{"start": "2024-11-14T00:00:00Z", "end": "2024-11-15T00:00:00Z"}]}',
            "^missing field tweet_count$",
        ),
        (
            b'{"data": [{"start": "2024-11-14T00:00:00Z", "end": "2024-11-15T00:00:00Z",'
            b' "tweet_count": "many"}]}',
            r"^data\[0\]\.tweet_count: expected a count, got 'many'$",
        ),
    ],
)
def test_counts_bodies_that_are_not_the_format_raise_bad_payload(body: bytes, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse([hashtag()], body)


# -- plan -----------------------------------------------------------------------------


def test_plan_batches_250_names_into_three_requests_on_the_users_budget() -> None:
    names = [f"fan_{i}" for i in range(250)]
    requests = collector().plan([account(n) for n in names])
    assert [len(dict(r.params)["usernames"].split(",")) for r in requests] == [100, 100, 50]
    assert [n for r in requests for n in dict(r.params)["usernames"].split(",")] == names
    assert all(r.url == "https://api.x.com/2/users/by" for r in requests)
    assert all(dict(r.params)["user.fields"] == "public_metrics" for r in requests)
    assert {(r.budget, r.cost) for r in requests} == {("users", 1)}


def test_plan_sends_ids_apart_a_malformed_name_alone_and_each_tag_alone() -> None:
    targets = [
        account("@Netflix"),
        account("netflix", "again"),
        account("not-a-handle"),
        account("old_name", user_id="16573941"),
        hashtag("heartstopper"),
        hashtag("netflix"),
    ]
    names, bad, ids, tag1, tag2 = collector().plan(targets)
    assert dict(names.params)["usernames"] == "netflix" and len(names.targets) == 2
    assert bad.targets == (targets[2],)
    assert ids.url == "https://api.x.com/2/users" and dict(ids.params)["ids"] == "16573941"
    assert tag1.url == "https://api.x.com/2/tweets/counts/recent"
    assert tag1.params == (("query", "#heartstopper"), ("granularity", "day"))
    assert dict(tag2.params)["query"] == "#netflix"
    assert {(r.budget, r.cost) for r in (tag1, tag2)} == {("counts", 1)}
    assert all(TOKEN not in repr(r) for r in (names, bad, ids, tag1, tag2))


def test_quotas_are_fifteen_minute_windows_from_settings() -> None:
    quotas = collector(users_per_15min=900, counts_per_15min=450).quotas
    assert (quotas["users"].limit, quotas["users"].every) == (900, timedelta(minutes=15))
    assert (quotas["counts"].limit, quotas["counts"].every) == (450, timedelta(minutes=15))
    with pytest.raises(ValidationError, match=r"batch_size\n.*less than or equal to 100"):
        XSettings(batch_size=101)


# -- credentials ----------------------------------------------------------------------


def test_missing_token_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN")
    assert collector().missing() == "set X_BEARER_TOKEN (or sources.x.bearer_token_file)"


def test_budget_is_per_token(monkeypatch: pytest.MonkeyPatch) -> None:
    assert collector().missing() is None
    first = collector().credential_id("users")
    monkeypatch.setenv("X_BEARER_TOKEN", "AAAAAnotherToken")
    assert (
        first == "320ef2ed499e" != collector().credential_id("users")
    )  # sha256 of the credential, first 12 hex digits (`printf %s VALUE | sha256sum`)


# -- errors ---------------------------------------------------------------------------


def test_429_honours_the_reset_even_when_remaining_is_positive() -> None:
    reset = int(time.time()) + 120
    headers = {
        "x-rate-limit-limit": "300",
        "x-rate-limit-remaining": "17",
        "x-rate-limit-reset": str(reset),
    }
    error = collector().error(429, headers, TOO_MANY)
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None and 110 <= error.retry_after <= 121


def test_free_tier_refusal_says_the_plan_lacks_the_endpoint() -> None:
    error = collector().error(403, {}, FORBIDDEN)
    assert type(error) is SourceError and "plan" in error.cause and "not include" in error.cause
    legacy = json.dumps(
        {
            "errors": [
                {
                    "message": "You currently have access to a subset of X API V2 endpoints "
                    "and limited v1.1 endpoints (e.g. media post, oauth) only.",
                    "code": 453,
                }
            ]
        }
    ).encode()
    assert "does not include" in (collector().error(403, {}, legacy) or SourceError("")).cause


def test_other_refusals_are_source_errors() -> None:
    c = collector()
    unauthorized = (
        b'{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}'
    )
    assert "bearer token" in (c.error(401, {}, unauthorized) or SourceError("")).cause
    other = c.error(403, {}, b'{"title":"Forbidden","detail":"Forbidden","status":403}')
    assert type(other) is SourceError and "plan" not in other.cause
    invalid = c.error(400, {}, b'{"errors":[{"message":"bad usernames"}],"title":"Invalid"}')
    assert type(invalid) is SourceError and "bad usernames" in invalid.cause
    capped = (
        b'{"title":"UsageCapExceeded","type":"https://api.twitter.com/2/problems/usage-capped"}'
    )
    assert isinstance(c.error(429, {}, capped), QuotaExhausted)
    assert c.error(200, {}, USERS) is None
    assert type(c.error(503, {}, b"Service Unavailable")) is TemporaryError


# -- over real sockets ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeX]:
    server = FakeX()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _collect(c: XCollector, targets: Sequence[Target], at: datetime) -> list[Any]:
    outcomes: list[Parsed | SourceError] = []
    async with httpx.AsyncClient(timeout=1.0) as client:
        for request in c.plan(targets):
            response = await c.fetch(client, request)
            error = c.error(response.status_code, response.headers, response.content)
            outcomes.append(error or c.parse(request, response.content, at))
    return outcomes


def collect(fake: FakeX, targets: Sequence[Target], at: datetime = AT) -> list[Any]:
    return asyncio.run(_collect(collector(base_url=fake.url), targets, at))


def test_round_trip_over_sockets(fake: FakeX) -> None:
    ids = [fake.add(f"fan_{i}", 1000 + i) for i in range(130)]
    fake.suspended.add("fan_3")
    outcomes = collect(fake, [account(f"FAN_{i}") for i in range(130)] + [account("nobody")])
    assert [len((s.param("usernames") or "").split(",")) for s in fake.requests] == [100, 31]
    assert {s.headers["authorization"] for s in fake.requests} == {f"Bearer {TOKEN}"}
    observations = [o for p in outcomes for o in p.observations]
    assert {o.key: o.value for o in observations} == {
        user_id: 1000 + i for i, user_id in enumerate(ids) if i != 3
    }
    failures = {k: v for p in outcomes for k, v in p.failures.items()}
    assert failures == {
        "FAN_3": "User has been suspended: [fan_3].",
        "nobody": "Could not find user with usernames: [nobody].",
    }


def test_rename_over_sockets_keeps_key_and_takes_new_label(fake: FakeX) -> None:
    user_id = fake.add("kit_fan", 5000)
    (before,) = collect(fake, [account("kit_fan")])
    fake.rename(user_id, "kit_fan_2024")
    fake.set_followers(user_id, 5100)
    by_id, by_new_name = (
        collect(fake, [t])[0]
        for t in (
            account("kit_fan", user_id=user_id),
            account("kit_fan_2024"),
        )
    )
    seen = {(o.key, o.label, o.value) for p in (before, by_id, by_new_name) for o in p.observations}
    assert seen == {(user_id, "kit_fan", 5000), (user_id, "kit_fan_2024", 5100)}
    (old,) = collect(fake, [account("kit_fan")])
    assert "Could not find user" in old.failures["kit_fan"]


def test_hashtag_counts_over_sockets(fake: FakeX) -> None:
    fake.now = AT
    fake.set_daily("heartstopper", {f"2024-11-{d}": 100 * d for d in range(13, 21)})
    (parsed,) = collect(fake, [hashtag()])
    assert fake.requests[0].param("query") == "#heartstopper"
    got = {o.at.day: o.value for o in parsed.observations}
    assert got == {d: 100 * d for d in range(14, 20)}


def test_hashtag_counts_on_the_free_tier_say_the_plan_lacks_them(fake: FakeX) -> None:
    fake.tier = "free"
    (error,) = collect(fake, [hashtag()])
    assert type(error) is SourceError and "does not include" in error.cause


def test_spent_window_over_sockets_is_rate_limited_until_reset(fake: FakeX) -> None:
    fake.limits["users"] = 1
    fake.add("a_fan", 10)
    ok, limited = collect(fake, [account("a_fan"), account("bad-name")])
    assert isinstance(ok, Parsed)
    assert isinstance(limited, RateLimited)
    assert limited.retry_after is not None and 800 <= limited.retry_after <= 900


def test_429_with_remaining_over_sockets(fake: FakeX) -> None:
    fake.fail_next(fake.too_many(reset_in=60, remaining=120))
    (error,) = collect(fake, [account("a_fan")])
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None and 50 <= error.retry_after <= 61


def test_wrong_token_and_server_errors_over_sockets(
    fake: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.fail_next(Reply(503, {}, b"Service Unavailable"))
    (temporary,) = collect(fake, [account("a_fan")])
    assert type(temporary) is TemporaryError
    monkeypatch.setenv("X_BEARER_TOKEN", "AAAAWrongToken")
    (refused,) = collect(fake, [account("a_fan")])
    assert type(refused) is SourceError and "401" in refused.cause
    assert "AAAAWrongToken" not in refused.cause


def test_too_many_names_are_refused_by_the_fake(fake: FakeX) -> None:
    names = ",".join(f"n{i}" for i in range(101))
    request = Request((), f"{fake.url}/2/users/by", params=(("usernames", names),))
    c = collector(base_url=fake.url)

    async def run() -> SourceError | None:
        async with httpx.AsyncClient(timeout=1.0) as client:
            response = await c.fetch(client, request)
        return c.error(response.status_code, response.headers, response.content)

    error = asyncio.run(run())
    assert type(error) is SourceError and "100" in error.cause
