"""Bluesky: parse on recorded payloads, then plan -> fetch -> error -> parse over real sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tests.fakes.bluesky import FakeBluesky
from tests.fakes.server import Reply
from tracker.collectors.base import Parsed, Request, Target
from tracker.collectors.bluesky import BlueskyCollector, BlueskySettings
from tracker.errors import BadPayload, NotFound, RateLimited, SourceError, TemporaryError

AT = datetime(2024, 11, 20, 12, 0, tzinfo=UTC)
PAYLOAD = (Path(__file__).parent / "payloads" / "bluesky" / "getProfiles.json").read_bytes()
BSKY_DID = "did:plc:z72i7hdynmk6r22z27h6tvur"


def account(name: str, subject: str = "heartstopper") -> Target:
    return Target("account", name, subject)


def collector(**settings: Any) -> BlueskyCollector:
    return BlueskyCollector(BlueskySettings(**settings))


def parse(targets: Sequence[Target], body: bytes) -> Parsed:
    c = collector()
    (request,) = c.plan(targets)
    return c.parse(request, body, AT)


def edited(change: Any) -> bytes:
    data = json.loads(PAYLOAD)
    change(data["profiles"][0])
    return json.dumps(data).encode()


# -- parse ----------------------------------------------------------------------------


def test_parse_matches_by_handle_any_case_and_by_did() -> None:
    targets = [account("bsky.app"), account("@PFrazee.com"), account(BSKY_DID, "platform")]
    parsed = parse(targets, PAYLOAD)
    assert parsed.failures == {}
    got = {(o.subject, o.key): (o.value, o.label, o.metric, o.at) for o in parsed.observations}
    assert got == {
        ("heartstopper", BSKY_DID): (23458123, "bsky.app", "followers", AT),
        ("heartstopper", "did:plc:ragtjsm2j2vknwkz3zp4oxrd"): (
            212544,
            "pfrazee.com",
            "followers",
            AT,
        ),
        ("platform", BSKY_DID): (23458123, "bsky.app", "followers", AT),
    }


def test_actor_left_out_of_the_answer_is_a_failure_not_zero() -> None:
    parsed = parse([account("bsky.app"), account("gone.bsky.social")], PAYLOAD)
    assert [o.label for o in parsed.observations] == ["bsky.app"]
    assert parsed.failures["gone.bsky.social"].startswith("not found")


def test_missing_followers_count_fails_that_target_only() -> None:
    body = edited(lambda p: p.pop("followersCount"))
    parsed = parse([account("bsky.app"), account("pfrazee.com")], body)
    assert [o.label for o in parsed.observations] == ["pfrazee.com"]
    assert "followersCount" in parsed.failures["bsky.app"]


@pytest.mark.parametrize("value", ["lots", None, -3, 1.5, True])
def test_non_count_followers_is_a_failure(value: Any) -> None:
    body = edited(lambda p: p.update(followersCount=value))
    parsed = parse([account("bsky.app")], body)
    assert parsed.observations == []
    assert "followersCount" in parsed.failures["bsky.app"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "^empty body$"),
        (b"  \n", "^empty body$"),
        (b"null", "^body is JSON null$"),
        (b"<!DOCTYPE html><html><body>Blocked</body></html>", "^HTML where JSON was expected"),
        (b"{}", "^missing field profiles$"),
        (b'{"profiles": "none"}', "^profiles: expected a list, got str$"),
        (b'{"profiles": [42]}', r"^profiles\[\]: expected an object, got 42$"),
        (b"{not json", "^invalid JSON: "),
    ],
)
def test_bodies_that_are_not_the_format_raise_bad_payload(body: bytes, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse([account("bsky.app")], body)


def test_plan_batches_sixty_handles_into_three_requests() -> None:
    handles = [f"fan{i}.bsky.social" for i in range(60)]
    requests = collector().plan([account(h) for h in handles])
    assert [len(r.params) for r in requests] == [25, 25, 10]
    assert all(
        r.url == "https://public.api.bsky.app/xrpc/app.bsky.actor.getProfiles" for r in requests
    )
    assert [v for r in requests for _, v in r.params] == handles
    assert {k for r in requests for k, _ in r.params} == {"actors"}


def test_plan_sends_a_shared_actor_once_and_a_malformed_one_alone() -> None:
    targets = [
        account("A.bsky.social", "x"),
        account("@a.bsky.social", "y"),
        account("not a handle"),
    ]
    first, second = collector(batch_size=10).plan(targets)
    assert first.params == (("actors", "a.bsky.social"),)
    assert [t.subject for t in first.targets] == ["x", "y"]
    assert second.targets == (targets[2],)


def test_batch_size_cannot_exceed_the_lexicon_limit() -> None:
    with pytest.raises(ValidationError, match=r"batch_size\n.*less than or equal to 25"):
        BlueskySettings(batch_size=26)


def test_error_recognises_bluesky_answers() -> None:
    c = collector()
    not_found = b'{"error":"InvalidRequest","message":"Profile not found"}'
    assert isinstance(c.error(400, {}, not_found), NotFound)
    taken_down = b'{"error":"AccountTakedown","message":"Account has been suspended"}'
    assert isinstance(c.error(400, {}, taken_down), NotFound)
    bad = c.error(400, {}, b'{"error":"InvalidRequest","message":"Error: actors/0 must be valid"}')
    assert type(bad) is SourceError and "actors/0" in bad.cause
    assert c.error(200, {}, PAYLOAD) is None


# -- over real sockets ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    server = FakeBluesky()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _collect(c: BlueskyCollector, targets: Sequence[Target]) -> list[Parsed | SourceError]:
    outcomes: list[Parsed | SourceError] = []
    async with httpx.AsyncClient(timeout=1.0) as client:
        for request in c.plan(targets):
            response = await c.fetch(client, request)
            error = c.error(response.status_code, response.headers, response.content)
            outcomes.append(error or c.parse(request, response.content, AT))
    return outcomes


def collect(fake: FakeBluesky, targets: Sequence[Target]) -> list[Parsed | SourceError]:
    return asyncio.run(_collect(collector(base_url=fake.url), targets))


def test_round_trip_over_sockets(fake: FakeBluesky) -> None:
    dids = [fake.add(f"fan{i}.bsky.social", 1000 + i) for i in range(30)]
    outcomes = collect(fake, [account(f"fan{i}.bsky.social") for i in range(30)])
    assert len(fake.requests) == 2
    assert max(len(seen.params("actors")) for seen in fake.requests) == 25
    observations = [o for p in outcomes if isinstance(p, Parsed) for o in p.observations]
    assert {o.key: o.value for o in observations} == {d: 1000 + i for i, d in enumerate(dids)}


def test_a_did_survives_a_rename_and_the_old_handle_fails(fake: FakeBluesky) -> None:
    did = fake.add("nick.bsky.social", 5000)
    fake.rename("nick.bsky.social", "nicholas.bsky.social")
    fake.set_followers(did, 5100)
    (parsed,) = collect(fake, [account(did), account("nick.bsky.social")])
    assert isinstance(parsed, Parsed)
    assert [(o.key, o.value, o.label) for o in parsed.observations] == [
        (did, 5100, "nicholas.bsky.social")
    ]
    assert parsed.failures["nick.bsky.social"].startswith("not found")


def test_too_many_actors_is_refused_by_the_fake(fake: FakeBluesky) -> None:
    request = Request(
        (),
        f"{fake.url}/xrpc/app.bsky.actor.getProfiles",
        params=tuple(("actors", f"a{i}.bsky.social") for i in range(26)),
    )
    c = collector(base_url=fake.url)

    async def run() -> SourceError | None:
        async with httpx.AsyncClient(timeout=1.0) as client:
            response = await c.fetch(client, request)
        return c.error(response.status_code, response.headers, response.content)

    error = asyncio.run(run())
    assert type(error) is SourceError and "25" in error.cause


def test_429_is_rate_limited_until_the_reset_epoch(fake: FakeBluesky) -> None:
    fake.add("bsky.app", 1)
    fake.fail_next(fake.too_many(reset_in=60))
    (error,) = collect(fake, [account("bsky.app")])
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None and 50 <= error.retry_after <= 61


def test_500_is_temporary_and_404_not_found(fake: FakeBluesky) -> None:
    fake.fail_next(Reply(500, {}, b"upstream failure"), Reply(404, {}, b""))
    first, second = (collect(fake, [account("bsky.app")])[0] for _ in range(2))
    assert type(first) is TemporaryError
    assert isinstance(second, NotFound)


def test_single_profile_lookup_of_unknown_actor_is_not_found(fake: FakeBluesky) -> None:
    c = collector(base_url=fake.url)
    request = Request(
        (account("nobody.bsky.social"),),
        f"{fake.url}/xrpc/app.bsky.actor.getProfile",
        params=(("actor", "nobody.bsky.social"),),
    )

    async def run() -> SourceError | None:
        async with httpx.AsyncClient(timeout=1.0) as client:
            response = await c.fetch(client, request)
        return c.error(response.status_code, response.headers, response.content)

    assert isinstance(asyncio.run(run()), NotFound)
