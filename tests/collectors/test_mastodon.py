"""Mastodon: parse on recorded payloads, then plan -> fetch -> error -> parse over real sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import Reply
from tracker.collectors.base import Parsed, Target
from tracker.collectors.mastodon import MastodonCollector, MastodonSettings
from tracker.errors import (
    BadPayload,
    ConfigError,
    NotFound,
    RateLimited,
    SourceError,
    TemporaryError,
)

AT = datetime(2024, 11, 20, 12, 0, tzinfo=UTC)
PAYLOADS = Path(__file__).parent / "payloads" / "mastodon"
LOOKUP = (PAYLOADS / "lookup.json").read_bytes()
TAG = (PAYLOADS / "tag.json").read_bytes()
ACCOUNT = Target("account", "@Mastodon@Mastodon.Social", "platform")
HASHTAG = Target("hashtag", "heartstopper", "heartstopper")


def collector(**settings: Any) -> MastodonCollector:
    return MastodonCollector(MastodonSettings(**settings))


def parse(target: Target, body: bytes, **settings: Any) -> Parsed:
    c = collector(**settings)
    request = c.plan([target])[0]
    return c.parse(request, body, AT)


def edited(payload: bytes, change: Any) -> bytes:
    data = json.loads(payload)
    change(data)
    return json.dumps(data).encode()


# -- plan -----------------------------------------------------------------------------


def test_plan_asks_the_home_instance_and_each_tag_instance() -> None:
    c = collector(tag_instances=["mastodon.social", "MSTDN.social"])
    account, *tags = c.plan([ACCOUNT, HASHTAG])
    assert account.url == "https://mastodon.social/api/v1/accounts/lookup"
    assert account.params == (("acct", "Mastodon@mastodon.social"),)
    assert [t.url for t in tags] == [
        "https://mastodon.social/api/v1/tags/heartstopper",
        "https://mstdn.social/api/v1/tags/heartstopper",
    ]
    assert [t.targets[0].name for t in tags] == ["heartstopper", "heartstopper"]


def test_plan_without_template_sends_everything_to_base_url() -> None:
    c = collector(base_url="http://127.0.0.1:9/")
    urls = [r.url for r in c.plan([Target("account", "a@x.example", "s"), HASHTAG])]
    assert urls == [
        "http://127.0.0.1:9/api/v1/accounts/lookup",
        "http://127.0.0.1:9/api/v1/tags/heartstopper",
    ]


def test_plan_honours_an_instance_option_and_quotes_tags() -> None:
    delegated = Target("account", "me@example.com", "s", (("instance", "social.example.com"),))
    c = collector()
    account, tag = c.plan([delegated, Target("hashtag", "café", "s")])
    assert account.url == "https://social.example.com/api/v1/accounts/lookup"
    assert tag.url == "https://mastodon.social/api/v1/tags/caf%C3%A9"


def test_plan_refuses_an_account_without_domain() -> None:
    with pytest.raises(ConfigError, match="user@"):
        collector().plan([Target("account", "@justme", "s")])


def test_tag_instances_must_be_host_names() -> None:
    with pytest.raises(ValidationError, match="'https://mastodon.social' is not an instance host"):
        MastodonSettings(tag_instances=["https://mastodon.social"])
    with pytest.raises(ValidationError, match=r"tag_instances\n.*at least 1 item"):
        MastodonSettings(tag_instances=[])


# -- parse ----------------------------------------------------------------------------


def test_parse_account() -> None:
    parsed = parse(ACCOUNT, LOOKUP)
    assert parsed.failures == {}
    (obs,) = parsed.observations
    assert (obs.metric, obs.key, obs.value, obs.at) == (
        "followers",
        "mastodon.social:13179",
        842617,
        AT,
    )
    assert (obs.subject, obs.label) == ("platform", "Mastodon@mastodon.social")


def test_suspended_and_hidden_accounts_are_failures_not_zero() -> None:
    suspended = edited(LOOKUP, lambda d: d.update(suspended=True, followers_count=0))
    assert parse(ACCOUNT, suspended).failures[ACCOUNT.name].startswith("suspended")
    hidden = edited(LOOKUP, lambda d: d.update(followers_count=-1))
    parsed = parse(ACCOUNT, hidden)
    assert parsed.observations == [] and "hidden" in parsed.failures[ACCOUNT.name]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("followers_count"), "^missing field followers_count$"),
        (lambda d: d.pop("id"), "^missing field id$"),
        (
            lambda d: d.update(followers_count="many"),
            "^followers_count: expected a count, got 'many'$",
        ),
        (lambda d: d.update(followers_count=None), "^followers_count: expected a count, got None$"),
    ],
)
def test_account_drift_is_bad_payload(change: Any, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse(ACCOUNT, edited(LOOKUP, change))


def test_parse_tag_history_of_strings() -> None:
    parsed = parse(HASHTAG, TAG)
    # Seven days of history, but today's (Nov 20, still growing at AT) is left for tomorrow.
    assert len(parsed.observations) == 12
    uses = {o.at: o.value for o in parsed.observations if o.metric == "hashtag_uses"}
    people = {o.at: o.value for o in parsed.observations if o.metric == "hashtag_accounts"}
    assert datetime(2024, 11, 20, tzinfo=UTC) not in uses
    nov19 = datetime(2024, 11, 19, tzinfo=UTC)
    assert uses[nov19] == 14 and people[nov19] == 11
    assert uses[datetime(2024, 11, 17, tzinfo=UTC)] == 0  # a real zero: the tag was unused
    assert min(uses) == datetime(2024, 11, 14, tzinfo=UTC)
    obs = parsed.observations[0]
    assert obs.key == "mastodon.social:heartstopper"
    assert obs.labels == {"instance": "mastodon.social"}
    assert obs.period == timedelta(days=1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("history"), "^missing field history$"),
        (lambda d: d.update(history="7 days"), "^history: expected a list, got str$"),
        (
            lambda d: d["history"][1].update(uses="n/a"),
            r"^history\[1\]\.uses: expected a count, got 'n/a'$",
        ),
        (lambda d: d["history"][2].pop("accounts"), "^missing field accounts$"),
        (
            lambda d: d["history"][1].update(day="yesterday"),
            r"^history\[1\]\.day: expected a count, got 'yesterday'$",
        ),
    ],
)
def test_tag_drift_is_bad_payload(change: Any, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse(HASHTAG, edited(TAG, change))


def test_empty_history_is_a_failure() -> None:
    parsed = parse(HASHTAG, edited(TAG, lambda d: d.update(history=[])))
    assert parsed.observations == [] and "empty history" in parsed.failures[HASHTAG.name]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "^empty body$"),
        (b"null", "^body is JSON null$"),
        (b"<html><body>502 Bad Gateway</body></html>", "^HTML where JSON was expected"),
        (b"[]", "^expected a JSON object, got list$"),
        (b"{oops", "^invalid JSON: "),
    ],
)
def test_bodies_that_are_not_the_format_raise_bad_payload(body: bytes, message: str) -> None:
    for target in (ACCOUNT, HASHTAG):
        with pytest.raises(BadPayload, match=message):
            parse(target, body)


def test_error_recognises_mastodon_answers() -> None:
    c = collector()
    assert isinstance(c.error(404, {}, b'{"error":"Record not found"}'), NotFound)
    assert isinstance(c.error(410, {}, b""), NotFound)
    refused = c.error(401, {}, b'{"error":"This API requires an authenticated user"}')
    assert type(refused) is SourceError and "refuses anonymous API calls" in refused.cause
    reset = (datetime.now(UTC) + timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    limited = c.error(429, {"X-RateLimit-Reset": reset}, b'{"error":"Too many requests"}')
    assert isinstance(limited, RateLimited)
    assert limited.retry_after is not None and 110 <= limited.retry_after <= 120
    assert c.error(200, {}, LOOKUP) is None


# -- over real sockets ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    server = FakeMastodon()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _collect(c: MastodonCollector, targets: Sequence[Target]) -> list[Parsed | SourceError]:
    outcomes: list[Parsed | SourceError] = []
    async with httpx.AsyncClient(timeout=1.0) as client:
        for request in c.plan(targets):
            response = await c.fetch(client, request)
            error = c.error(response.status_code, response.headers, response.content)
            outcomes.append(error or c.parse(request, response.content, AT))
    return outcomes


def collect(fake: FakeMastodon, targets: Sequence[Target], **settings: Any) -> list[Any]:
    return asyncio.run(_collect(collector(base_url=fake.url, **settings), targets))


def test_round_trip_over_sockets(fake: FakeMastodon) -> None:
    account_id = fake.add_account("aliceoseman@mastodon.social", 52_000)
    fake.add_tag("Heartstopper", [5, 14, 9, 0, 3, 12, 2], [4, 11, 9, 0, 3, 7, 2], today=AT.date())
    fake.set_followers("aliceoseman@mastodon.social", 52_100)
    targets = [Target("account", "@aliceoseman@mastodon.social", "author"), HASHTAG]
    outcomes = collect(fake, targets, tag_instances=["mastodon.social", "mstdn.social"])
    assert len(fake.requests) == 3
    assert fake.requests[0].param("acct") == "aliceoseman@mastodon.social"
    observations = [o for p in outcomes for o in p.observations]
    (followers,) = [o for o in observations if o.metric == "followers"]
    assert (followers.key, followers.value) == (f"mastodon.social:{account_id}", 52_100)
    keys = {o.key for o in observations if o.metric == "hashtag_uses"}
    assert keys == {"mastodon.social:heartstopper", "mstdn.social:heartstopper"}
    yesterday = [o for o in observations if o.at == datetime(2024, 11, 19, tzinfo=UTC)]
    assert {(o.metric, o.value) for o in yesterday} == {
        ("hashtag_uses", 14),
        ("hashtag_accounts", 11),
    }
    assert not [o for o in observations if o.at == datetime(2024, 11, 20, tzinfo=UTC)]


def test_unknown_account_and_tag_are_not_found(fake: FakeMastodon) -> None:
    targets = [Target("account", "nobody@mastodon.social", "s"), Target("hashtag", "nope", "s")]
    assert [type(o) for o in collect(fake, targets)] == [NotFound, NotFound]


def test_429_is_rate_limited_until_the_iso_reset(fake: FakeMastodon) -> None:
    fake.fail_next(fake.too_many(reset_in=90))
    (error,) = collect(fake, [ACCOUNT])
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None and 80 <= error.retry_after <= 90


def test_500_is_temporary(fake: FakeMastodon) -> None:
    fake.fail_next(Reply(500, {"Content-Type": "text/html"}, b"<html>Oops</html>"))
    (error,) = collect(fake, [ACCOUNT])
    assert type(error) is TemporaryError


def test_html_with_200_is_bad_payload(fake: FakeMastodon) -> None:
    fake.fail_next(Reply(200, {"Content-Type": "text/html"}, b"<!DOCTYPE html><p>Login</p>"))
    with pytest.raises(BadPayload, match="^HTML where JSON was expected: <!DOCTYPE html>"):
        collect(fake, [ACCOUNT])


def test_fake_serves_the_real_history_format(fake: FakeMastodon) -> None:
    fake.add_tag("x", [1] * 7, [1] * 7, today=date(2024, 11, 20))
    history = fake.tags["x"]["history"]
    assert history[0] == {"day": "1732060800", "accounts": "1", "uses": "1"}
    assert len(history) == 7


# -- recorded answers (Mastodon.py's cassettes; origin: payloads/mastodon/SOURCES.md) ----


def recorded(name: str) -> bytes:
    return (PAYLOADS / f"recorded_{name}.json").read_bytes()


def test_a_recorded_lookup_parses() -> None:
    target = Target("account", "mastodonpy_test@localhost", "test")
    parsed = parse(target, recorded("lookup"))
    assert parsed.failures == {}
    ((key, value, label),) = [(o.key, o.value, o.label) for o in parsed.observations]
    assert (key, value, label) == ("localhost:117020565966271181", 0, "mastodonpy_test@localhost")


def test_a_recorded_not_found_and_tag_history() -> None:
    error = collector().error(404, {}, recorded("lookup_not_found"))
    assert isinstance(error, NotFound) and error.cause == "Mastodon: Record not found"
    c = collector()
    (request,) = c.plan([Target("hashtag", "heeho", "#heeho")])
    # Read the day after the newest day of the recording (2026-08-01 UTC).
    parsed = c.parse(request, recorded("tag"), datetime(2026, 8, 2, tzinfo=UTC))
    # Seven days of zeros, as the instance recorded them; zeros that were counted are values.
    days = sorted({o.at for o in parsed.observations})
    assert len(days) == 7 and {o.value for o in parsed.observations} == {0}


# -- the optional user token ----------------------------------------------------------


def test_401_without_a_token_says_a_user_token_is_needed() -> None:
    error = collector().error(401, {}, b'{"error":"This method requires an authenticated user"}')
    assert type(error) is SourceError
    assert error.cause == (
        "Mastodon answered 401 (This method requires an authenticated user): this instance "
        "refuses anonymous API calls; set MASTODON_ACCESS_TOKEN (or "
        "sources.mastodon.access_token_file) to a user token of it and "
        "sources.mastodon.token_instance to its host"
    )
    bare = collector().error(401, {}, b"")
    assert type(bare) is SourceError and bare.cause.startswith("Mastodon answered 401 (HTTP 401)")


def test_401_with_a_token_says_the_token_was_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "tok-123")
    error = collector(token_instance="Mastodon.Social").error(
        401, {}, recorded("401_invalid_token")
    )
    assert type(error) is SourceError and "tok-123" not in error.cause
    assert error.cause.startswith(
        "Mastodon answered 401 (The access token is invalid): the token in "
        "MASTODON_ACCESS_TOKEN (or sources.mastodon.access_token_file) is invalid or revoked"
    )
    assert "is not mastodon.social" in error.cause


def test_the_token_is_optional_and_read_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MASTODON_ACCESS_TOKEN", raising=False)
    assert collector().missing() is None
    secret_file = tmp_path / "mastodon-token"
    secret_file.write_text("from-file\n")
    secret_file.chmod(0o600)
    c = collector(access_token_file=str(secret_file))
    assert c._token() == "from-file"
    with pytest.raises(ValidationError):
        collector(token_instance="https://mastodon.social/")


def test_a_closed_instance_answers_with_the_token_only(
    fake: FakeMastodon, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.token = "tok-123"
    fake.add_account("mastodon@mastodon.social", 52_000)
    (refused,) = collect(fake, [ACCOUNT])
    assert type(refused) is SourceError and "refuses anonymous API calls" in refused.cause
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "tok-123")
    (parsed,) = collect(fake, [ACCOUNT])
    assert [o.value for o in parsed.observations] == [52_000]
    assert fake.requests[-1].headers["authorization"] == "Bearer tok-123"
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "stale")
    (stale,) = collect(fake, [ACCOUNT])
    assert type(stale) is SourceError and "The access token is invalid" in stale.cause


def test_the_token_goes_to_its_own_instance_only(
    fake: FakeMastodon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "tok-123")
    fake.add_account("someone@mstdn.social", 10)
    fake.add_tag("heartstopper", [1] * 7, [1] * 7, today=AT.date())
    other = Target("account", "someone@mstdn.social", "s")
    collect(fake, [other, HASHTAG], tag_instances=["mastodon.social", "mstdn.social"])
    sent = [(r.path, r.param("acct"), r.headers.get("authorization")) for r in fake.requests]
    assert sent == [
        ("/api/v1/accounts/lookup", "someone@mstdn.social", None),
        ("/api/v1/tags/heartstopper", None, "Bearer tok-123"),  # mastodon.social's
        ("/api/v1/tags/heartstopper", None, None),  # mstdn.social's
    ]
