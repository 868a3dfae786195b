"""The retry policy and the exchange over real sockets: what is retried, how long it waits.

No test really sleeps: `retry_policy(..., sleep=recorder)` records the waits tenacity asks for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tests.conftest import closed_port
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.netflix import PREFIX, FakeNetflix
from tests.fakes.server import FakePlatform, Fault, Reply
from tracker.collectors.base import Collector, Target
from tracker.collectors.bluesky import BlueskyCollector, BlueskySettings
from tracker.collectors.netflix import NetflixCollector, NetflixSettings
from tracker.config import HttpSettings
from tracker.errors import BadPayload, NotFound, RateLimited, SourceError, TemporaryError
from tracker.http import fetch_body, make_client, retry_policy, when_sent

KIT = Target("account", "kit.bsky.social", "Kit Connor")
HEARTSTOPPER = Target("chart", "Heartstopper", "Heartstopper")
PROFILES = "/xrpc/app.bsky.actor.getProfiles"


class Sleeps:
    """A `sleep` for the retry policy that records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    server = FakeBluesky()
    server.start()
    server.add("kit.bsky.social", 1800)
    try:
        yield server
    finally:
        server.stop()


def settings(**changes: float) -> HttpSettings:
    base: dict[str, float] = {"timeout": 2.0, "connect_timeout": 1.0}
    return HttpSettings(**(base | changes))  # type: ignore[arg-type]


def fetch(
    base_url: str,
    http: HttpSettings,
    sleeps: Sleeps,
    collector: Collector | None = None,
    target: Target = KIT,
) -> bytes:
    """The first request the collector (Bluesky by default) plans for `target`, under the policy."""
    bluesky = collector or BlueskyCollector(BlueskySettings(base_url=base_url))
    (request, *_) = bluesky.plan([target])

    async def run() -> bytes:
        async with make_client(http, "tests@example.org") as client:
            return await fetch_body(client, bluesky, request, retry_policy(http, sleep=sleeps))

    return asyncio.run(run())


def test_503_then_200_succeeds_after_one_retry(fake: FakeBluesky) -> None:
    fake.fail_next(Reply(503, {}, b"upstream busy"))
    sleeps = Sleeps()
    body = fetch(fake.url, settings(max_attempts=3), sleeps)
    assert b'"followersCount": 1800' in body
    assert [seen.path for seen in fake.requests] == [PROFILES, PROFILES]
    assert len(sleeps.waits) == 1 and 0.5 <= sleeps.waits[0] <= 1.0  # backoff 0.5 + jitter


def test_requests_carry_the_user_agent_and_contact(fake: FakeBluesky) -> None:
    fetch(fake.url, settings(), Sleeps())
    agent = fake.requests[0].headers["user-agent"]
    assert agent.startswith("tracker/") and agent.endswith("contact: tests@example.org")


def _seconds(seconds: int) -> str:
    return str(seconds)


def _http_date(seconds: int) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


def _epoch(seconds: int) -> str:
    return str(int(time.time()) + seconds)


@pytest.mark.parametrize(
    ("header", "when", "wait"),
    [
        pytest.param("Retry-After", _seconds, 7, id="retry-after-seconds"),
        pytest.param("Retry-After", _http_date, 45, id="retry-after-http-date"),
        pytest.param("ratelimit-reset", _epoch, 30, id="ratelimit-reset-epoch"),
    ],
)
def test_429_waits_at_least_what_the_platform_asks(
    fake: FakeBluesky, header: str, when: Callable[[int], str], wait: int
) -> None:
    # Whole-second headers: the wait asked for is between wait - 1 and wait seconds, less the
    # time that passed before the answer was read (seconds, on a busy machine).
    started = time.monotonic()
    fake.fail_next(Reply.json({"error": "RateLimitExceeded"}, 429, {header: when(wait)}))
    sleeps = Sleeps()
    body = fetch(fake.url, settings(max_attempts=3, max_wait=60), sleeps)
    passed = time.monotonic() - started
    assert b"kit.bsky.social" in body
    assert len(fake.requests) == 2
    assert len(sleeps.waits) == 1
    assert wait - 1 - passed <= sleeps.waits[0] <= wait + 1  # + backoff jitter, when longer


def test_429_from_the_fake_appview_waits_until_its_reset(fake: FakeBluesky) -> None:
    fake.fail_next(fake.too_many(reset_in=20))
    sleeps = Sleeps()
    fetch(fake.url, settings(max_wait=60), sleeps)
    assert len(fake.requests) == 2
    assert 18 <= sleeps.waits[0] <= 21


def test_429_gives_up_when_the_wait_exceeds_max_wait(fake: FakeBluesky) -> None:
    fake.fail_next(Reply.json({"error": "RateLimitExceeded"}, 429, {"Retry-After": "120"}))
    sleeps = Sleeps()
    with pytest.raises(RateLimited, match=r"\b429\b") as caught:
        fetch(fake.url, settings(max_attempts=4, max_wait=60), sleeps)
    assert caught.value.retry_after == 120
    assert "429" in caught.value.cause
    assert sleeps.waits == [] and len(fake.requests) == 1


def test_total_wait_is_bounded_by_max_wait(fake: FakeBluesky) -> None:
    fake.fail_next(*[Reply(503, {}, b"down")] * 10)
    sleeps = Sleeps()
    with pytest.raises(TemporaryError, match="HTTP 503"):
        fetch(fake.url, settings(max_attempts=10, max_wait=2.0), sleeps)
    assert 0 < sum(sleeps.waits) <= 2.0
    assert len(fake.requests) == len(sleeps.waits) + 1 < 10


def test_timeouts_are_retried_up_to_max_attempts(fake: FakeBluesky) -> None:
    fake.slow_seconds = 0.6  # the fake's handler thread outlives the client by this much
    fake.fail_next(Fault.TIMEOUT, Fault.TIMEOUT, Fault.TIMEOUT)
    sleeps = Sleeps()
    with pytest.raises(
        TemporaryError, match=r"^127\.0\.0\.1: timed out \(ReadTimeout\)$"
    ) as caught:
        fetch(fake.url, settings(timeout=0.2, max_attempts=3), sleeps)
    assert type(caught.value) is TemporaryError
    assert caught.value.cause == "127.0.0.1: timed out (ReadTimeout)"
    assert len(fake.requests) == 3 and len(sleeps.waits) == 2


def test_a_timeout_then_an_answer_succeeds(fake: FakeBluesky) -> None:
    fake.slow_seconds = 0.6
    fake.fail_next(Fault.TIMEOUT)
    sleeps = Sleeps()
    assert b"kit.bsky.social" in fetch(fake.url, settings(timeout=0.2, max_attempts=2), sleeps)
    assert len(fake.requests) == 2 and len(sleeps.waits) == 1


def test_connection_reset_is_temporary_and_retried(fake: FakeBluesky) -> None:
    fake.fail_next(Fault.RESET, Fault.RESET)
    sleeps = Sleeps()
    with pytest.raises(TemporaryError, match=r"^127\.0\.0\.1: RemoteProtocolError") as caught:
        fetch(fake.url, settings(max_attempts=2), sleeps)
    assert caught.value.cause.startswith("127.0.0.1: RemoteProtocolError")
    assert len(fake.requests) == 2 and len(sleeps.waits) == 1


def test_a_reset_then_an_answer_succeeds(fake: FakeBluesky) -> None:
    fake.fail_next(Fault.RESET)
    assert b"kit.bsky.social" in fetch(fake.url, settings(max_attempts=2), Sleeps())
    assert len(fake.requests) == 2


def test_404_is_not_retried(fake: FakeBluesky) -> None:
    fake.fail_next(Reply(404, {}, b"no such route"))
    sleeps = Sleeps()
    with pytest.raises(NotFound, match="HTTP 404"):
        fetch(fake.url, settings(max_attempts=4), sleeps)
    assert len(fake.requests) == 1 and sleeps.waits == []


def test_bare_platform_404_is_not_retried() -> None:
    with FakePlatform() as bare:
        sleeps = Sleeps()
        with pytest.raises(NotFound, match=r"\b404\b"):
            fetch(bare.url, settings(max_attempts=4), sleeps)
        assert len(bare.requests) == 1 and sleeps.waits == []


def test_connection_refused_is_temporary_and_names_the_host() -> None:
    sleeps = Sleeps()
    with pytest.raises(TemporaryError, match=r"^127\.0\.0\.1: ConnectError") as caught:
        fetch(f"http://127.0.0.1:{closed_port()}", settings(max_attempts=3), sleeps)
    assert caught.value.cause.startswith("127.0.0.1: ConnectError")
    assert len(sleeps.waits) == 2


def test_a_body_that_cannot_be_decoded_is_bad_payload_not_a_crash(fake: FakeBluesky) -> None:
    gzip = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    fake.fail_next(Reply(200, gzip, b"this is not gzip"))
    sleeps = Sleeps()
    with pytest.raises(BadPayload, match="127.0.0.1"):
        fetch(fake.url, settings(max_attempts=3), sleeps)
    assert len(fake.requests) == 1 and sleeps.waits == []


def test_a_redirect_loop_is_a_source_error_not_a_crash() -> None:
    with FakeNetflix() as netflix:
        assert isinstance(netflix, FakeNetflix)
        netflix.moved[PREFIX] = PREFIX
        collector = NetflixCollector(NetflixSettings(base_url=netflix.url + PREFIX))
        sleeps = Sleeps()
        with pytest.raises(SourceError, match="redirect") as caught:
            fetch(netflix.url, settings(max_attempts=3), sleeps, collector, HEARTSTOPPER)
        assert not isinstance(caught.value, TemporaryError)
        assert sleeps.waits == []
        assert len(netflix.requests) == 21  # the first request and httpx's 20 redirects


def test_make_client_settings() -> None:
    async def run() -> httpx.AsyncClient:
        async with make_client(settings(timeout=3.0, connect_timeout=0.5)) as client:
            return client

    client = asyncio.run(run())
    assert client.timeout == httpx.Timeout(3.0, connect=0.5)
    assert client.follow_redirects is True
    assert client.is_closed


# -- bounds: a deadline per answer and a size limit, whatever the other side sends ----------


def test_a_body_sent_one_byte_at_a_time_ends_at_the_deadline(fake: FakeBluesky) -> None:
    """Each byte comes well inside the read timeout; only the total deadline stops it."""
    fake.trickle_seconds = 0.05  # 10,000 bytes: over 8 minutes at this pace
    fake.fail_next(Fault.TRICKLE)
    started = time.monotonic()
    with pytest.raises(TemporaryError, match=r"no complete answer within 1s \(http.deadline\)"):
        fetch(fake.url, settings(deadline=1.0, max_attempts=1, timeout=2.0), Sleeps())
    assert time.monotonic() - started < 10


def _bomb(decoded: int) -> bytes:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = b"\0" * (1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(decoded >> 20)) + packer.flush()


def test_a_gzip_bomb_stops_at_the_size_limit(fake: FakeBluesky) -> None:
    bomb = _bomb(256 << 20)  # 256 MiB of zeros in ~250 KB
    assert len(bomb) < (1 << 20)
    fake.fail_next(
        Reply(200, {"Content-Encoding": "gzip", "Content-Type": "application/json"}, bomb)
    )
    with pytest.raises(
        SourceError, match=r"larger than 1,048,576 bytes \(decompressed\)"
    ) as caught:
        fetch(fake.url, settings(max_body=1 << 20, max_attempts=1), Sleeps())
    assert not isinstance(caught.value, TemporaryError)  # not worth asking again
    assert len(fake.requests) == 1


def test_an_endless_chunked_body_stops_at_the_size_limit(fake: FakeBluesky) -> None:
    fake.fail_next(Fault.ENDLESS)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"larger than 1,048,576 bytes \(sent\)"):
        fetch(fake.url, settings(max_body=1 << 20, max_attempts=1), Sleeps())
    assert time.monotonic() - started < 10


def test_a_declared_length_over_the_limit_is_refused_before_reading(fake: FakeBluesky) -> None:
    fake.fail_next(Reply(200, {"Content-Type": "application/json"}, b" " * 5000))
    with pytest.raises(SourceError, match=r"larger than 4,096 bytes \(sent\)"):
        fetch(fake.url, settings(max_body=4096, max_attempts=1), Sleeps())


def test_a_source_sets_its_own_size_limit(fake: FakeBluesky) -> None:
    small = BlueskyCollector(BlueskySettings(base_url=fake.url, max_body=1024))
    fake.fail_next(Reply(200, {"Content-Type": "application/json"}, b" " * 2000 + b"{}"))
    with pytest.raises(SourceError, match=r"larger than 1,024 bytes"):
        fetch(fake.url, settings(max_attempts=1), Sleeps(), collector=small)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_compressed_answers_within_the_limit_decode(fake: FakeBluesky, encoding: str) -> None:
    import json
    import zlib

    payload = json.dumps({"profiles": [], "pad": "x" * 200_000}).encode()
    wbits = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS, "raw-deflate": -zlib.MAX_WBITS}
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits[encoding])
    body = packer.compress(payload) + packer.flush()
    name = "deflate" if encoding == "raw-deflate" else encoding
    fake.fail_next(Reply(200, {"Content-Encoding": name, "Content-Type": "application/json"}, body))
    assert fetch(fake.url, settings(max_attempts=1), Sleeps()) == payload


def test_when_sent_says_the_request_is_written_before_its_answer_comes(fake: FakeBluesky) -> None:
    fake.delay = 0.3  # from the request's arrival, which is after it was written
    told: list[float] = []
    bluesky = BlueskyCollector(BlueskySettings(base_url=fake.url))
    (request,) = bluesky.plan([KIT])

    async def run() -> float:
        async with make_client(settings(), "tests@example.org") as client:
            with when_sent(lambda: told.append(time.perf_counter())):
                await fetch_body(client, bluesky, request, retry_policy(settings()))
            return time.perf_counter()

    answered = asyncio.run(run())
    assert told and answered - told[0] >= 0.3


def test_when_sent_without_a_trace_from_the_transport_says_it_when_the_exchange_ends() -> None:
    told: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        told.append("answering")
        return httpx.Response(200, json={"profiles": []})

    bluesky = BlueskyCollector(BlueskySettings(base_url="http://appview.test"))
    (request,) = bluesky.plan([KIT])

    async def run() -> None:
        transport = httpx.MockTransport(answer)
        async with make_client(settings(), transport=transport) as client:
            with when_sent(lambda: told.append("sent")):
                await fetch_body(client, bluesky, request, retry_policy(settings()))

    asyncio.run(run())
    assert told[:2] == ["answering", "sent"]


def test_clients_share_one_verifying_tls_context() -> None:
    # Loading the CA roots costs ~17 ms of CPU: done once per process, not per round's client.
    import ssl

    async def contexts() -> list[ssl.SSLContext]:
        found = []
        for _ in range(2):
            async with make_client(settings()) as client:
                pool = client._transport._inner._pool  # type: ignore[attr-defined]
                found.append(pool._ssl_context)
        return found

    first, second = asyncio.run(contexts())
    assert first is second
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    assert first.cert_store_stats()["x509_ca"] > 0  # the roots are loaded
