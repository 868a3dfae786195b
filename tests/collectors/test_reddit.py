"""Reddit: parse on recorded-format payloads, then token + plan -> fetch -> error -> parse over
real sockets (through the shared client, whose User-Agent Reddit requires)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.reddit import FakeReddit
from tests.fakes.server import Reply
from tracker.collectors.base import Parsed, Request, Target
from tracker.collectors.reddit import REQUESTS, RedditCollector, RedditSettings
from tracker.config import HttpSettings
from tracker.errors import BadPayload, NotFound, RateLimited, SourceError, TemporaryError
from tracker.http import fetch_body, make_client, retry_policy
from tracker.quota import Quota

AT = datetime(2022, 5, 20, 12, 0, tzinfo=UTC)
PAYLOADS = Path(__file__).parent / "payloads" / "reddit"
ABOUT = (PAYLOADS / "about.json").read_bytes()
PRIVATE = (PAYLOADS / "private.json").read_bytes()
BANNED = (PAYLOADS / "banned.json").read_bytes()
CLIENT_ID, CLIENT_SECRET = "fake-client-id", "s3cret-0001"
SUB = Target("account", "r/Heartstopper", "Heartstopper")
HTTP = HttpSettings(timeout=2.0, connect_timeout=1.0, max_attempts=2, max_wait=5.0)


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDDIT_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", CLIENT_SECRET)


class Clock:
    def __init__(self) -> None:
        self.at = AT

    def __call__(self) -> datetime:
        return self.at


def collector(clock: Clock | None = None, **settings: Any) -> RedditCollector:
    return RedditCollector(RedditSettings(**settings), clock=clock or Clock())


def parse(body: bytes, target: Target = SUB) -> Parsed:
    c = collector()
    (request,) = c.plan([target])
    return c.parse(request, body, AT)


def edited(change: Any) -> bytes:
    data = json.loads(ABOUT)
    change(data)
    return json.dumps(data).encode()


# -- plan and credentials -------------------------------------------------------------


def test_plan_strips_r_slash_and_asks_each_subreddit_once_with_its_budget() -> None:
    targets = [SUB, Target("account", "/r/heartstopper/", "b"), Target("account", "Books", "c")]
    first, second = collector().plan(targets)
    assert first.url == "https://oauth.reddit.com/r/heartstopper/about"
    assert [t.subject for t in first.targets] == ["Heartstopper", "b"]
    assert second.url == "https://oauth.reddit.com/r/books/about"
    assert {(r.budget, r.cost) for r in (first, second)} == {(REQUESTS, 1)}
    assert all("User-Agent" not in dict(r.headers) for r in (first, second))


def test_missing_credentials_name_both_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    assert collector().missing() is None
    monkeypatch.delenv("REDDIT_CLIENT_SECRET")
    why = collector().missing()
    assert why is not None and "REDDIT_CLIENT_ID" in why and "REDDIT_CLIENT_SECRET" in why


def test_budget_is_per_minute_per_client() -> None:
    assert collector().quotas[REQUESTS] == Quota(60, every=timedelta(minutes=1))
    assert collector(requests_per_minute=30).quotas[REQUESTS].limit == 30
    assert (
        collector().credential_id(REQUESTS) == "926aab042f6b"
    )  # sha256 of the credential, first 12 hex digits (`printf %s VALUE | sha256sum`)


# -- parse and error ------------------------------------------------------------------


def test_parse_reads_exact_subscribers_keyed_by_the_t5_id() -> None:
    parsed = parse(ABOUT)
    assert parsed.failures == {}
    (o,) = parsed.observations
    assert (o.metric, o.key, o.value, o.label, o.subject, o.sig) == (
        "subscribers", "t5_2k9q7w", 61234, "Heartstopper", "Heartstopper", None,
    )  # fmt: skip


def test_a_new_display_name_keeps_the_key() -> None:
    body = edited(lambda d: d["data"].update(display_name="heartstopper"))
    (before,), (after,) = parse(ABOUT).observations, parse(body).observations
    assert before.key == after.key and (before.label, after.label) == (
        "Heartstopper",
        "heartstopper",
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["data"].update(subscribers=None),
        lambda d: d["data"].pop("name"),
        lambda d: d.update(kind="Listing"),
    ],
)
def test_odd_answers_are_failures_never_zero(change: Any) -> None:
    parsed = parse(edited(change))
    assert parsed.observations == [] and SUB.name in parsed.failures


@pytest.mark.parametrize(
    ("status", "body", "cause"),
    [
        (403, PRIVATE, "subreddit is private"),
        (403, b'{"reason": "quarantined", "message": "Forbidden", "error": 403}', "quarantined"),
        (404, BANNED, "subreddit is banned"),
        (404, b'{"message": "Not Found", "error": 404}', "no such subreddit"),
    ],
)
def test_closed_subreddits_are_not_found_with_the_reason(
    status: int, body: bytes, cause: str
) -> None:
    error = collector().error(status, {}, body)
    assert isinstance(error, NotFound) and cause in error.cause


def test_redirect_to_search_is_not_found_and_401_is_temporary() -> None:
    c = collector()
    location = {"Location": "https://oauth.reddit.com/subreddits/search?q=nope"}
    assert isinstance(c.error(302, location, b""), NotFound)
    assert type(c.error(302, {"Location": "https://elsewhere.example/"}, b"")) is SourceError
    unauthorized = c.error(401, {}, b'{"message": "Unauthorized", "error": 401}')
    assert type(unauthorized) is TemporaryError
    assert c.error(200, {}, ABOUT) is None


def test_429_waits_for_x_ratelimit_reset_seconds() -> None:
    headers = {"X-Ratelimit-Used": "600", "X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Reset": "42"}
    error = collector().error(429, headers, b'{"message": "Too Many Requests", "error": 429}')
    assert isinstance(error, RateLimited) and error.retry_after == 42


# -- over real sockets ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeReddit]:
    server = FakeReddit(CLIENT_ID, CLIENT_SECRET)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def urls(fake: FakeReddit) -> dict[str, str]:
    return {"base_url": fake.url, "auth_url": fake.url}


async def _outcome(
    c: RedditCollector, client: httpx.AsyncClient, r: Request
) -> Parsed | SourceError:
    try:
        response = await c.fetch(client, r)
    except SourceError as exc:
        return exc
    error = c.error(response.status_code, response.headers, response.content)
    return error or c.parse(r, response.content, AT)


def collect(
    c: RedditCollector, targets: Sequence[Target], rounds: int = 1, between: Any = None
) -> list[Parsed | SourceError]:
    async def run() -> list[Parsed | SourceError]:
        outcomes: list[Parsed | SourceError] = []
        async with make_client(HTTP, "tests@example.org") as client:
            for _ in range(rounds):
                outcomes += [await _outcome(c, client, r) for r in c.plan(targets)]
                if between:
                    between()
        return outcomes

    return asyncio.run(run())


def test_round_trip_with_one_cached_token_and_the_shared_user_agent(fake: FakeReddit) -> None:
    ids = [fake.add(name, 1000 + i) for i, name in enumerate(["Heartstopper", "Books", "netflix"])]
    c = collector(**urls(fake))
    targets = [Target("account", n, n) for n in ("r/Heartstopper", "books", "Netflix")]
    outcomes = collect(c, targets)
    assert [o.observations[0].key for o in outcomes if isinstance(o, Parsed)] == ids
    assert fake.token_requests == 1
    assert {agent.split(" ")[0] for agent in fake.agents} == {HTTP.user_agent.split(" ")[0]}
    assert all("tests@example.org" in agent for agent in fake.agents)


def test_the_token_is_kept_until_it_expires(fake: FakeReddit) -> None:
    fake.add("Heartstopper", 5)
    clock = Clock()

    def later() -> None:
        clock.at += timedelta(hours=12)

    c = collector(clock, **urls(fake))
    outcomes = collect(c, [SUB], rounds=3, between=later)  # at 0 h, 12 h and 24 h
    assert all(isinstance(o, Parsed) for o in outcomes)
    assert fake.token_requests == 2  # the 86400 s token is renewed before the third


def test_a_401_drops_the_token_and_the_retry_fetches_a_new_one(fake: FakeReddit) -> None:
    fake.add("Heartstopper", 7)
    c = collector(**urls(fake))
    (first,) = collect(c, [SUB])
    fake.revoke_tokens()
    (request,) = c.plan([SUB])

    async def nap(seconds: float) -> None:
        return None

    async def run() -> bytes:
        async with make_client(HTTP, "tests@example.org") as client:
            return await fetch_body(client, c, request, retry_policy(HTTP, sleep=nap))

    body = asyncio.run(run())
    assert isinstance(first, Parsed) and c.parse(request, body, AT).observations[0].value == 7
    assert fake.token_requests == 2


def test_wrong_client_secret_names_the_env_vars(fake: FakeReddit) -> None:
    fake.client_secret = "another"
    (outcome,) = collect(collector(**urls(fake)), [SUB])
    assert type(outcome) is SourceError
    assert "REDDIT_CLIENT_ID" in outcome.cause and CLIENT_SECRET not in outcome.cause


def test_unknown_private_and_banned_subreddits_over_sockets(fake: FakeReddit) -> None:
    fake.add("Heartstopper", 5)
    fake.add("Secret", 5)
    fake.close("Secret", 403, "private")
    fake.close("Gone", 404, "banned")
    names = ["Heartstopper", "NoSuchSub", "Secret", "Gone"]
    outcomes = collect(collector(**urls(fake)), [Target("account", n, n) for n in names])
    found, unknown, private, banned = outcomes
    assert isinstance(found, Parsed)
    assert isinstance(unknown, NotFound) and "search" in unknown.cause
    assert isinstance(private, NotFound) and private.cause == "subreddit is private"
    assert isinstance(banned, NotFound) and banned.cause == "subreddit is banned"


def test_a_search_listing_is_never_read_as_a_count(fake: FakeReddit) -> None:
    c = collector(**urls(fake))
    request = Request((SUB,), f"{fake.url}/subreddits/search", params=(("q", "x"),))
    with pytest.raises(BadPayload, match="^empty body$"):
        c.parse(request, b"", AT)
    (outcome,) = collect(c, [SUB])  # the token
    listing = asyncio.run(_listing(c, request))
    assert isinstance(outcome, NotFound) and isinstance(listing, Parsed)
    assert listing.observations == [] and "not found" in listing.failures[SUB.name]


async def _listing(c: RedditCollector, request: Request) -> Parsed | SourceError:
    async with make_client(HTTP) as client:
        return await _outcome(c, client, request)


def test_rate_limits_over_sockets(fake: FakeReddit) -> None:
    fake.add("Heartstopper", 5)
    too_many = Reply.json(
        {"message": "Too Many Requests", "error": 429},
        429,
        {"X-Ratelimit-Used": "600", "X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Reset": "30"},
    )
    c = collector(**urls(fake))
    fake.fail_next(too_many)  # answers the token request
    (on_token,) = collect(c, [SUB])
    (found,) = collect(c, [SUB])
    fake.fail_next(too_many)  # answers the data call: the token is cached by now
    (on_data,) = collect(c, [SUB])
    assert isinstance(on_token, RateLimited) and "token request" in on_token.cause
    assert isinstance(found, Parsed)
    assert isinstance(on_data, RateLimited) and on_data.retry_after == 30
    assert on_token.retry_after == 30 and fake.token_requests == 1


def test_concurrent_requests_share_one_token_request(fake: FakeReddit) -> None:
    names = [f"Sub{i}" for i in range(4)]
    for name in names:
        fake.add(name, 10)
    c = collector(**urls(fake))

    async def run() -> list[Parsed | SourceError]:
        async with make_client(HTTP, "tests@example.org") as client:
            requests = c.plan([Target("account", n, n) for n in names])
            return list(await asyncio.gather(*(_outcome(c, client, r) for r in requests)))

    assert all(isinstance(o, Parsed) for o in asyncio.run(run()))
    assert fake.token_requests == 1
