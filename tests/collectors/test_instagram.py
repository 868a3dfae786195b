"""Instagram: parse on recorded payloads, then plan -> fetch -> error -> parse over real sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tests.fakes.instagram import OWN_ID, VERSION, FakeInstagram
from tests.fakes.server import Reply
from tracker.collectors.base import Parsed, Target
from tracker.collectors.instagram import (
    CALLS,
    NO_HASHTAGS,
    InstagramCollector,
    InstagramSettings,
)
from tracker.errors import NotFound, QuotaExhausted, SourceError, TemporaryError
from tracker.quota import Quota

AT = datetime(2022, 5, 20, 12, 0, tzinfo=UTC)
PAYLOADS = Path(__file__).parent / "payloads" / "instagram"
FOUND = (PAYLOADS / "business_discovery.json").read_bytes()
NOT_BUSINESS = (PAYLOADS / "error_not_business.json").read_bytes()
THROTTLED = (PAYLOADS / "error_throttled.json").read_bytes()
EXPIRED = (PAYLOADS / "error_token.json").read_bytes()
TOKEN = "EAAGtest-token-0001"
ENVS = ("INSTAGRAM_ACCESS_TOKEN", "INSTAGRAM_USER_ID")


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSTAGRAM_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("INSTAGRAM_USER_ID", OWN_ID)


def account(name: str, subject: str = "Kit Connor") -> Target:
    return Target("account", name, subject)


def collector(**settings: Any) -> InstagramCollector:
    return InstagramCollector(InstagramSettings(**settings), clock=lambda: AT)


def parse(targets: Sequence[Target], body: bytes) -> Parsed:
    c = collector()
    (request,) = c.plan(targets)
    return c.parse(request, body, AT)


# -- plan and credentials -------------------------------------------------------------


def test_plan_asks_one_username_per_request_on_your_own_user_with_its_budget() -> None:
    names = ["kit.connor", "joelocke03", "@Alice_Oseman"]
    requests = collector().plan([account(n) for n in names])
    assert len(requests) == 3
    assert {r.url for r in requests} == {f"https://graph.facebook.com/v25.0/{OWN_ID}"}
    assert [r.params for r in requests] == [
        (
            (
                "fields",
                f"business_discovery.username({n}){{followers_count,media_count,id,username}}",
            ),
        )
        for n in ("kit.connor", "joelocke03", "alice_oseman")
    ]
    assert all((r.budget, r.cost) == (CALLS, 1) for r in requests)


def test_one_username_for_two_subjects_is_asked_once() -> None:
    (request,) = collector().plan([account("kit.connor", "a"), account("Kit.Connor", "b")])
    assert [t.subject for t in request.targets] == ["a", "b"]


def test_the_token_is_never_in_a_planned_request() -> None:
    for request in collector().plan([account("kit.connor")]):
        assert TOKEN not in repr(request)


def test_missing_credentials_name_the_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    assert collector().missing() is None
    monkeypatch.delenv("INSTAGRAM_ACCESS_TOKEN")
    assert collector().missing() == (
        "set INSTAGRAM_ACCESS_TOKEN (or sources.instagram.access_token_file)"
    )
    monkeypatch.delenv("INSTAGRAM_USER_ID")
    why = collector().missing()
    assert why is not None and "INSTAGRAM_ACCESS_TOKEN" in why and "INSTAGRAM_USER_ID" in why


def test_credentials_can_come_from_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for env in ENVS:
        monkeypatch.delenv(env)
    token_file, id_file = tmp_path / "token", tmp_path / "id"
    token_file.write_text(TOKEN + "\n")
    id_file.write_text(OWN_ID)
    for path in (token_file, id_file):
        path.chmod(0o600)
    c = collector(access_token_file=str(token_file), ig_user_id_file=str(id_file))
    assert c.missing() is None
    assert (
        c.credential_id(CALLS) == "d3936f61c461"
    )  # sha256 of the credential, first 12 hex digits (`printf %s VALUE | sha256sum`)


def test_budget_follows_the_setting() -> None:
    assert collector(calls_per_hour=50).quotas[CALLS] == Quota(50, every=timedelta(hours=1))
    assert collector().quotas[CALLS].limit == 200
    with pytest.raises(ValidationError, match=r"api_version\n.*should match pattern"):
        InstagramSettings(api_version="25")


def test_hashtags_are_not_measured() -> None:
    assert "hashtag" not in InstagramCollector.kinds
    c = collector()
    (request,) = c.plan([Target("hashtag", "heartstopper", "#heartstopper")])
    # Refused in the plan: the runner records the reason and sends nothing.
    assert request.refusal == NO_HASHTAGS


async def _fetch_only(c: InstagramCollector, request: Any) -> None:
    async with httpx.AsyncClient(timeout=1.0) as client:
        await c.fetch(client, request)


# -- parse and error ------------------------------------------------------------------


def test_parse_reads_followers_and_posts_keyed_by_the_stable_id() -> None:
    parsed = parse([account("bluebottle", "Blue Bottle")], FOUND)
    assert parsed.failures == {}
    got = {o.metric: (o.key, o.value, o.label, o.subject, o.sig) for o in parsed.observations}
    assert got == {
        "followers": ("17841401441775531", 267793, "bluebottle", "Blue Bottle", None),
        "posts": ("17841401441775531", 1205, "bluebottle", "Blue Bottle", None),
    }


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("business_discovery"),
        lambda d: d["business_discovery"].update(id=None),
        lambda d: d["business_discovery"].pop("id"),
    ],
)
def test_an_answer_without_the_account_or_its_id_is_a_failure_never_zero(change: Any) -> None:
    data = json.loads(FOUND)
    change(data)
    parsed = parse([account("bluebottle")], json.dumps(data).encode())
    assert parsed.observations == [] and "bluebottle" in parsed.failures


@pytest.mark.parametrize(
    "change, kept, cause",
    [
        (
            lambda d: d["business_discovery"].pop("followers_count"),
            {"posts": 1205},
            "followers: missing field business_discovery.followers_count",
        ),
        (
            lambda d: d["business_discovery"].update(followers_count="lots"),
            {"posts": 1205},
            "followers: business_discovery.followers_count: expected a count, got 'lots'",
        ),
        (
            lambda d: d["business_discovery"].pop("media_count"),
            {"followers": 267793},
            "posts: missing field business_discovery.media_count",
        ),
        (
            lambda d: [d["business_discovery"].pop(f) for f in ("media_count", "followers_count")],
            {},
            "followers: missing field business_discovery.followers_count; "
            "posts: missing field business_discovery.media_count",
        ),
    ],
)
def test_one_missing_field_keeps_the_others_and_names_the_missing_one(
    change: Any, kept: dict[str, int], cause: str
) -> None:
    data = json.loads(FOUND)
    change(data)
    parsed = parse([account("bluebottle")], json.dumps(data).encode())
    assert {o.metric: o.value for o in parsed.observations} == kept
    assert {o.key for o in parsed.observations} <= {"17841401441775531"}
    assert parsed.failures == {"bluebottle": cause}


def test_a_recorded_answer_parses() -> None:
    body = (PAYLOADS / "recorded_business_discovery.json").read_bytes()
    parsed = parse([account("bhuvan.bam22", "Bhuvan Bam")], body)
    assert parsed.failures == {}
    got = {o.metric: (o.key, o.value, o.label) for o in parsed.observations}
    assert got == {
        "followers": ("17841402569541629", 14759582, "bhuvan.bam22"),
        "posts": ("17841402569541629", 1455, "bhuvan.bam22"),
    }


def test_personal_accounts_are_not_found_and_say_why() -> None:
    error = collector().error(400, {}, NOT_BUSINESS)
    assert isinstance(error, NotFound)
    assert "only Instagram business or creator accounts" in error.cause


def test_expired_token_is_a_source_error_that_quotes_nothing() -> None:
    error = collector().error(400, {}, EXPIRED)
    assert type(error) is SourceError
    assert error.cause == "Instagram: access token invalid or expired (code 190)"


def test_throttling_waits_for_the_business_use_case_estimate() -> None:
    buc = {OWN_ID: [{"type": "instagram", "call_count": 100, "total_cputime": 3,
                     "total_time": 4, "estimated_time_to_regain_access": 42}]}  # fmt: skip
    error = collector().error(400, {"x-business-use-case-usage": json.dumps(buc)}, THROTTLED)
    assert isinstance(error, QuotaExhausted)
    assert error.reset_at == AT + timedelta(minutes=42)


def test_throttling_reads_app_usage_then_defaults_to_an_hour() -> None:
    app = json.dumps({"call_count": 100, "estimated_time_to_regain_access": 5})
    error = collector().error(400, {"X-App-Usage": app}, THROTTLED)
    assert isinstance(error, QuotaExhausted) and error.reset_at == AT + timedelta(minutes=5)
    for code in (4, 17, 32, 613):
        body = json.dumps({"error": {"message": "limit", "code": code}}).encode()
        error = collector().error(400, {}, body)
        assert isinstance(error, QuotaExhausted) and error.reset_at == AT + timedelta(hours=1)


def test_transient_and_plain_http_errors() -> None:
    body = b'{"error":{"message":"An unexpected error has occurred.","code":2,"is_transient":true}}'
    assert type(collector().error(500, {}, body)) is TemporaryError
    assert type(collector().error(503, {}, b"<html>down</html>")) is TemporaryError
    assert collector().error(200, {}, FOUND) is None


# -- over real sockets ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeInstagram]:
    server = FakeInstagram(token=TOKEN)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def collect(fake: FakeInstagram, targets: Sequence[Target]) -> list[Parsed | SourceError]:
    c = collector(base_url=fake.url)

    async def run() -> list[Parsed | SourceError]:
        outcomes: list[Parsed | SourceError] = []
        async with httpx.AsyncClient(timeout=1.0) as client:
            for request in c.plan(targets):
                response = await c.fetch(client, request)
                error = c.error(response.status_code, response.headers, response.content)
                outcomes.append(error or c.parse(request, response.content, AT))
        return outcomes

    return asyncio.run(run())


def test_round_trip_over_sockets_with_the_token_in_a_header(fake: FakeInstagram) -> None:
    kit = fake.add("kit.connor", 3_412_345, 210)
    joe = fake.add("joelocke03", 2_500_017, 98)
    outcomes = collect(fake, [account("kit.connor"), account("joelocke03", "Joe Locke")])
    values = {
        (o.key, o.metric): (o.value, o.sig) for p in outcomes if isinstance(p, Parsed)
        for o in p.observations
    }  # fmt: skip
    assert values == {
        (kit, "followers"): (3_412_345, None),
        (kit, "posts"): (210, None),
        (joe, "followers"): (2_500_017, None),
        (joe, "posts"): (98, None),
    }
    assert len(fake.requests) == 2
    for seen in fake.requests:
        assert seen.path == f"/{VERSION}/{OWN_ID}" and seen.param("access_token") is None
        assert seen.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_renamed_account_keeps_its_key(fake: FakeInstagram) -> None:
    user_id = fake.add("kit.connor", 3_400_000)
    (before,) = collect(fake, [account("kit.connor")])
    fake.rename("kit.connor", "kitconnor")
    (after,) = collect(fake, [account("kitconnor")])
    (old_name,) = collect(fake, [account("kit.connor")])
    assert isinstance(before, Parsed) and isinstance(after, Parsed)
    assert {(o.key, o.label) for o in before.observations} == {(user_id, "kit.connor")}
    assert {(o.key, o.label) for o in after.observations} == {(user_id, "kitconnor")}
    assert isinstance(old_name, NotFound)


def test_personal_account_over_sockets_is_not_found(fake: FakeInstagram) -> None:
    fake.add("someone", 12, business=False)
    (outcome,) = collect(fake, [account("someone")])
    assert isinstance(outcome, NotFound) and "business or creator" in outcome.cause


def test_wrong_token_over_sockets(fake: FakeInstagram) -> None:
    fake.token = "another-token-9999"
    fake.add("kit.connor", 1)
    (outcome,) = collect(fake, [account("kit.connor")])
    assert type(outcome) is SourceError and "expired" in outcome.cause
    assert TOKEN not in outcome.cause


def test_throttled_over_sockets_parks_until_metas_estimate(fake: FakeInstagram) -> None:
    fake.add("kit.connor", 1)
    fake.limit, fake.regain_minutes = 1, 17
    first, second = collect(fake, [account("kit.connor"), account("joelocke03")])
    assert isinstance(first, Parsed)
    assert isinstance(second, QuotaExhausted)
    assert second.reset_at == AT + timedelta(minutes=17)


def test_server_errors_are_temporary(fake: FakeInstagram) -> None:
    fake.fail_next(Reply(502, {}, b"<html>Bad Gateway</html>"))
    (outcome,) = collect(fake, [account("kit.connor")])
    assert type(outcome) is TemporaryError
