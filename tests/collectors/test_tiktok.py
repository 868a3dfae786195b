"""TikTok: parse on recorded payloads, then plan -> fetch -> error -> parse over real sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.server import Reply
from tests.fakes.tiktok import CHALLENGE, USER_INFO, FakeTikTok
from tracker.collectors.base import Parsed, Request, Target
from tracker.collectors.tiktok import FIELDS, RESEARCH, TikTokCollector, TikTokSettings
from tracker.errors import BadPayload, NotFound, QuotaExhausted, SourceError, TemporaryError
from tracker.quota import Quota

AT = datetime(2022, 5, 20, 12, 0, tzinfo=UTC)
NEXT_MIDNIGHT = datetime(2022, 5, 21, tzinfo=UTC)
PAYLOADS = Path(__file__).parent / "payloads" / "tiktok"
USER = (PAYLOADS / "user_info.json").read_bytes()
RATE_LIMITED = (PAYLOADS / "rate_limited.json").read_bytes()
DETAIL = (PAYLOADS / "challenge_detail.json").read_bytes()
BLOCKED = (PAYLOADS / "challenge_blocked.json").read_bytes()
RESEARCH_TOKEN, MS_TOKEN = "clt.research-0001", "ms-0001"
ALICE = Target("account", "@AliceOseman", "Alice Oseman")
TAG = Target("hashtag", "heartstopper", "#heartstopper")


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_RESEARCH_TOKEN", RESEARCH_TOKEN)
    monkeypatch.setenv("TIKTOK_MS_TOKEN", MS_TOKEN)


def collector(clock: datetime = AT, **settings: Any) -> TikTokCollector:
    return TikTokCollector(TikTokSettings(**settings), clock=lambda: clock)


def only(targets: Sequence[Target], c: TikTokCollector | None = None) -> Request:
    (request,) = (c or collector()).plan(targets)
    return request


def edited(payload: bytes, change: Any) -> bytes:
    data = json.loads(payload)
    change(data)
    return json.dumps(data).encode()


# -- plan and credentials -------------------------------------------------------------


def test_plan_sends_each_username_alone_and_spends_the_research_budget() -> None:
    names = ["aliceoseman", "kitconnor", "joelocke03"]
    requests = collector().plan([Target("account", n, n) for n in names])
    assert len(requests) == 3
    assert [r.json for r in requests] == [{"username": n} for n in names]
    for r in requests:
        assert (r.method, r.url) == ("POST", f"https://open.tiktokapis.com{USER_INFO}")
        assert r.params == (("fields", FIELDS),)
        assert (r.budget, r.cost) == (RESEARCH, 1)


def test_plan_asks_a_hashtag_of_the_web_endpoint_without_a_budget() -> None:
    request = only([TAG, Target("hashtag", "#HeartStopper", "again")])
    assert request.url == f"https://www.tiktok.com{CHALLENGE}"
    assert request.params == (("challengeName", "heartstopper"),)
    assert request.budget == "" and len(request.targets) == 2


def test_missing_names_both_env_vars_only_when_both_are_absent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TIKTOK_RESEARCH_TOKEN")
    assert collector().missing() is None
    monkeypatch.delenv("TIKTOK_MS_TOKEN")
    why = collector().missing()
    assert why is not None
    assert "TIKTOK_RESEARCH_TOKEN" in why and "TIKTOK_MS_TOKEN" in why


@pytest.mark.parametrize(
    ("absent", "failing", "going", "needed"),
    [
        ("TIKTOK_RESEARCH_TOKEN", ALICE, TAG, "TIKTOK_RESEARCH_TOKEN"),
        ("TIKTOK_MS_TOKEN", TAG, ALICE, "TIKTOK_MS_TOKEN"),
    ],
)
def test_a_half_without_its_credential_fails_its_own_targets_only(
    monkeypatch: pytest.MonkeyPatch, absent: str, failing: Target, going: Target, needed: str
) -> None:
    monkeypatch.delenv(absent)
    c = collector(base_url="http://127.0.0.1:9", web_url="http://127.0.0.1:9")
    requests = c.plan([ALICE, TAG])  # plan raises nothing
    refused = [r for r in requests if failing in r.targets]
    sent = [r for r in requests if going in r.targets]
    assert len(refused) == len(sent) == 1 and refused[0].budget == ""
    # Refused in the plan: the runner records the reason, spends nothing and sends nothing.
    assert needed in refused[0].refusal
    assert not sent[0].refusal
    assert sent[0].url.startswith("http://127.0.0.1:9")


async def _fetch(c: TikTokCollector, request: Request) -> httpx.Response:
    async with httpx.AsyncClient(timeout=1.0) as client:
        return await c.fetch(client, request)


def test_budget_is_the_utc_day_and_follows_the_setting() -> None:
    assert collector().quotas[RESEARCH] == Quota(1000, zone="UTC")
    assert collector(daily_requests=250).quotas[RESEARCH].limit == 250
    assert (
        collector().credential_id(RESEARCH) == "1c7663c5a4fe"
    )  # sha256 of the credential, first 12 hex digits (`printf %s VALUE | sha256sum`)


# -- parse and error ------------------------------------------------------------------


def test_user_info_is_keyed_by_username_because_the_api_has_no_id() -> None:
    parsed = collector().parse(only([ALICE]), USER, AT)
    assert parsed.failures == {}
    got = {o.metric: (o.key, o.value, o.label, o.sig) for o in parsed.observations}
    assert got == {
        "followers": ("aliceoseman", 412345, "aliceoseman", None),
        "likes": ("aliceoseman", 9876543, "aliceoseman", None),
        "videos": ("aliceoseman", 321, "aliceoseman", None),
    }


def test_an_account_with_its_id_is_keyed_by_it_and_a_rename_keeps_the_series() -> None:
    before = Target("account", "@AliceOseman", "Alice Oseman", (("id", "6881290705605477381"),))
    after = Target("account", "alice.oseman", "Alice Oseman", (("id", "6881290705605477381"),))
    # The same answer read under the old and the new name (the API echoes no name).
    first = collector().parse(only([before]), USER, AT)
    second = collector().parse(only([after]), USER, AT)
    keys = {o.key for o in first.observations} | {o.key for o in second.observations}
    assert keys == {"6881290705605477381"}
    assert {o.label for o in first.observations} == {"aliceoseman"}
    assert {o.label for o in second.observations} == {"alice.oseman"}


def test_an_id_that_is_not_digits_is_refused_in_the_plan() -> None:
    bad = Target("account", "aliceoseman", "Alice Oseman", (("id", "@aliceoseman"),))
    request = only([bad])
    assert request.refusal == "id '@aliceoseman' is not a TikTok user id (digits only)"


def test_user_info_without_data_or_counts_fails_never_zero() -> None:
    c = collector()
    empty = c.parse(only([ALICE]), edited(USER, lambda d: d.update(data={})), AT)
    assert empty.observations == [] and "not found" in empty.failures[ALICE.name]
    partial = c.parse(only([ALICE]), edited(USER, lambda d: d["data"].pop("likes_count")), AT)
    assert partial.observations == [] and "likes_count" in partial.failures[ALICE.name]


def test_hashtag_prefers_the_exact_statsv2_strings() -> None:
    parsed = collector().parse(only([TAG]), DETAIL, AT)
    got = {o.metric: (o.key, o.value, o.label, o.sig) for o in parsed.observations}
    assert got == {
        "hashtag_views": ("1654117473185797", 4_412_345_678, "#heartstopper", None),
        "hashtag_videos": ("1654117473185797", 250_312, "#heartstopper", None),
    }


def test_hashtag_falls_back_to_display_rounded_stats_and_keeps_their_precision() -> None:
    body = edited(DETAIL, lambda d: d["challengeInfo"].pop("statsV2"))
    parsed = collector().parse(only([TAG]), body, AT)
    got = {o.metric: (o.value, o.sig) for o in parsed.observations}
    assert got == {"hashtag_views": (4_400_000_000, 2), "hashtag_videos": (250_300, 4)}


def test_a_renamed_hashtag_title_keeps_its_challenge_id() -> None:
    body = edited(DETAIL, lambda d: d["challengeInfo"]["challenge"].update(title="Heartstopper"))
    before = collector().parse(only([TAG]), DETAIL, AT).observations[0]
    after = collector().parse(only([TAG]), body, AT).observations[0]
    assert before.key == after.key and (before.label, after.label) == (
        "#heartstopper",
        "#Heartstopper",
    )


@pytest.mark.parametrize(
    "body",
    [b"", b"  ", BLOCKED, b"<html>captcha</html>", b'{"challengeInfo": {}, "statusCode": 0}'],
)
def test_blocked_or_empty_hashtag_answers_fail_and_name_the_cookie(body: bytes) -> None:
    with pytest.raises(BadPayload, match="^blocked or empty answer — check TIKTOK_MS_TOKEN"):
        collector().parse(only([TAG]), body, AT)


def test_rate_limit_is_quota_exhausted_until_next_utc_midnight() -> None:
    for clock in (AT, datetime(2022, 5, 20, 23, 59, 59, tzinfo=UTC)):
        error = collector(clock).error(429, {}, RATE_LIMITED)
        assert isinstance(error, QuotaExhausted)
        assert error.reset_at == NEXT_MIDNIGHT


def test_research_errors() -> None:
    c = collector()

    def body(code: str, message: str = "m") -> bytes:
        return json.dumps({"data": {}, "error": {"code": code, "message": message}}).encode()

    token = c.error(401, {}, body("access_token_invalid"))
    assert type(token) is SourceError and "TIKTOK_RESEARCH_TOKEN" in token.cause
    assert RESEARCH_TOKEN not in token.cause
    assert isinstance(c.error(400, {}, body("invalid_params", "no user")), NotFound)
    assert type(c.error(500, {}, body("internal_error"))) is TemporaryError
    assert type(c.error(403, {}, body("scope_not_authorized"))) is SourceError
    assert c.error(200, {}, USER) is None and c.error(200, {}, DETAIL) is None


# -- over real sockets ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    server = FakeTikTok(RESEARCH_TOKEN, MS_TOKEN)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def collect(fake: FakeTikTok, targets: Sequence[Target]) -> list[Parsed | SourceError]:
    c = collector(base_url=fake.url, web_url=fake.url)

    async def run() -> list[Parsed | SourceError]:
        outcomes: list[Parsed | SourceError] = []
        async with httpx.AsyncClient(timeout=1.0) as client:
            for request in c.plan(targets):
                try:
                    response = await c.fetch(client, request)
                    error = c.error(response.status_code, response.headers, response.content)
                    outcomes.append(error or c.parse(request, response.content, AT))
                except SourceError as exc:
                    outcomes.append(exc)
        return outcomes

    return asyncio.run(run())


def test_round_trip_over_sockets(fake: FakeTikTok) -> None:
    fake.add_user("aliceoseman", 412_345, 9_876_543, 321)
    tag_id = fake.add_tag("heartstopper", 4_412_345_678, 250_312)
    account, hashtag = collect(fake, [ALICE, TAG])
    assert isinstance(account, Parsed) and isinstance(hashtag, Parsed)
    assert {o.metric: o.value for o in account.observations} == {
        "followers": 412_345, "likes": 9_876_543, "videos": 321,
    }  # fmt: skip
    assert {(o.key, o.metric): o.value for o in hashtag.observations} == {
        (tag_id, "hashtag_views"): 4_412_345_678,
        (tag_id, "hashtag_videos"): 250_312,
    }
    research, web = fake.requests
    assert research.headers["authorization"] == f"Bearer {RESEARCH_TOKEN}"
    assert json.loads(research.body) == {"username": "aliceoseman"}
    assert web.headers["cookie"] == f"msToken={MS_TOKEN}" and "authorization" not in web.headers
    assert all(
        RESEARCH_TOKEN not in str(s.query) and MS_TOKEN not in str(s.query) for s in [research, web]
    )


def test_stats_only_answers_keep_their_rounding_over_sockets(fake: FakeTikTok) -> None:
    fake.add_tag("heartstopper", 4_412_345_678, 250_312, v2=False)
    (hashtag,) = collect(fake, [TAG])
    assert isinstance(hashtag, Parsed)
    assert {o.metric: (o.value, o.sig) for o in hashtag.observations} == {
        "hashtag_views": (4_400_000_000, 2),
        "hashtag_videos": (250_300, 4),
    }


def test_daily_quota_over_sockets(fake: FakeTikTok) -> None:
    fake.daily = 1
    fake.add_user("aliceoseman", 1)
    fake.add_user("kitconnor", 2)
    first, second = collect(fake, [ALICE, Target("account", "kitconnor", "Kit Connor")])
    assert isinstance(first, Parsed)
    assert isinstance(second, QuotaExhausted) and second.reset_at == NEXT_MIDNIGHT


def test_unknown_user_and_wrong_token_over_sockets(fake: FakeTikTok) -> None:
    (unknown,) = collect(fake, [ALICE])
    assert isinstance(unknown, NotFound)
    fake.research_token = "another"
    (refused,) = collect(fake, [ALICE])
    assert type(refused) is SourceError and "expired" in refused.cause


@pytest.mark.parametrize("blocked", [True, False])
def test_blocked_web_or_unknown_tag_is_a_failure_not_zero(fake: FakeTikTok, blocked: bool) -> None:
    fake.blocked = blocked  # False: the tag is unknown and TikTok answers statusCode 10205
    (outcome,) = collect(fake, [TAG])
    assert isinstance(outcome, BadPayload) and "TIKTOK_MS_TOKEN" in outcome.cause


def test_plain_http_failures_over_sockets(fake: FakeTikTok) -> None:
    fake.fail_next(Reply(503, {}, b"<html>busy</html>"))
    (outcome,) = collect(fake, [TAG])
    assert type(outcome) is TemporaryError
