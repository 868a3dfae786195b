"""The one httpx client factory and the one retry policy.

Retry only what is temporary (connect errors, timeouts, 5xx, 429), honour the platform's
Retry-After or reset header, log each attempt, bound the total wait, re-raise at the end.
Collectors never retry on their own.

Every exchange is bounded in time and size, whatever the other side sends: `http.deadline`
seconds for the whole answer (not only between bytes, so a body sent one byte a second ends),
and `max_body` bytes read from the socket and again after decompression (the client decodes
gzip and deflate itself, in bounded steps, so a 2 MB gzip bomb stops at the limit instead of
inflating to gigabytes; an endless chunked stream stops there too). No other coding is asked
for, and an answer in one (brotli, zstd: their decoders have no bound per step) is refused.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any, Protocol

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from tracker.config import DEFAULT_DEADLINE, HttpSettings
from tracker.core import Request
from tracker.errors import BadPayload, RateLimited, SourceError, TemporaryError

log = logging.getLogger("tracker.http")

# The size limit of the exchange in flight, when its source sets its own (`max_body`).
_max_body: ContextVar[int | None] = ContextVar("tracker_max_body", default=None)
# Decompressed in steps of at most this many bytes, so no one step can balloon.
_STEP = 1 << 16
# Told when the exchange in flight has written its request (see `when_sent`).
_on_sent: ContextVar[Callable[[], None] | None] = ContextVar("tracker_on_sent", default=None)


@contextmanager
def when_sent(callback: Callable[[], None]) -> Iterator[None]:
    """Call `callback` once the request of each exchange started inside has been written to
    the connection (its last byte handed to the socket), or, for a transport that does not
    say (a mock), when its answer comes or it fails. A round holds its parsing until the
    requests that took the freed slots are out. The callback may be called more than once
    (retries): it counts once itself."""
    token = _on_sent.set(callback)
    try:
        yield
    finally:
        _on_sent.reset(token)


def _tracer(sent: Callable[[], None], inner: Any) -> Callable[[str, Any], Any]:
    """An httpcore trace callback that says `sent` when the request's body is written,
    and passes every event on to a trace the caller set, if one was."""

    async def trace(event: str, info: Any) -> None:
        if event.endswith("send_request_body.complete"):
            sent()
        if inner is not None:
            await inner(event, info)

    return trace


class BodyTooLarge(Exception):
    """An answer past the size limit; raised inside the client, turned into a SourceError."""

    def __init__(self, limit: int, decoded: bool) -> None:
        self.limit, self.decoded = limit, decoded
        what = "decompressed" if decoded else "sent"
        super().__init__(f"answer larger than {limit:,} bytes ({what}); the limit is max_body")


class _Bounded(httpx.AsyncBaseTransport):
    """Wraps the real transport: counts and decodes response bodies within the size limit."""

    def __init__(self, inner: httpx.AsyncBaseTransport, max_body: int) -> None:
        self._inner = inner
        self._max_body = max_body

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = _on_sent.get()
        if sent is None:
            response = await self._inner.handle_async_request(request)
        else:
            inner = request.extensions.get("trace")
            request.extensions = {**request.extensions, "trace": _tracer(sent, inner)}
            try:
                response = await self._inner.handle_async_request(request)
            finally:
                sent()
        limit = _max_body.get() or self._max_body
        length = response.headers.get("content-length", "")
        if length.isascii() and length.isdigit() and int(length) > limit:
            await response.aclose()
            raise BodyTooLarge(limit, decoded=False)
        named = [c.strip().lower() for c in response.headers.get_list("content-encoding", True)]
        refused = [c for c in named if c in _UNBOUNDED]
        if refused:
            # Never handed to httpx: with `brotli` or `zstandard` installed it would decode
            # the whole body in one step, however large it inflates.
            await response.aclose()
            raise httpx.DecodingError(
                f"answer encoded as {refused[0]!r}, which tracker does not decode "
                "(it asks for gzip or deflate only)",
                request=request,
            )
        # Any other name (identity, or a server's mistake such as "utf-8") is no coding, as
        # httpx takes it. Decoded here, within the limit; httpx must not decode again.
        codings = [c for c in named if c in _DECODED]
        headers = httpx.Headers(
            [(k, v) for k, v in response.headers.multi_items()
             if k.lower() not in ("content-encoding", "content-length")]
        ) if named else response.headers  # fmt: skip
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=_Limited(response.stream, codings, limit),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


# The codings decoded here, in bounded steps. No other is asked for (Accept-Encoding), and
# a compression one a server sends anyway is refused unread: brotli and zstd decoders (the
# `brotli` and `zstandard` packages httpx would use) offer no bound on what one step
# inflates to, and the rest of the registry's (compress, exi, ...) no decoder here at all.
_DECODED = ("gzip", "x-gzip", "deflate")
_UNBOUNDED = frozenset(
    ("br", "zstd", "compress", "x-compress", "exi", "pack200-gzip", "aes128gcm", "dcb", "dcz")
)
ACCEPT_ENCODING = "gzip, deflate"


class _Limited(httpx.AsyncByteStream):
    """The body as read from the socket, at most `limit` bytes, decoded layer by layer with
    each layer's output at most `limit` bytes too."""

    def __init__(self, raw: httpx.AsyncByteStream, codings: list[str], limit: int) -> None:
        self._raw, self._codings, self._limit = raw, codings, limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self._sent()
        for coding in reversed(self._codings):  # the last coding applied comes off first
            stream = _decoded(stream, coding, self._limit)
        async for chunk in stream:
            yield chunk

    async def _sent(self) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in self._raw:
            sent += len(chunk)
            if sent > self._limit:
                raise BodyTooLarge(self._limit, decoded=False)
            yield chunk

    async def aclose(self) -> None:
        await self._raw.aclose()


async def _decoded(chunks: AsyncIterator[bytes], coding: str, limit: int) -> AsyncIterator[bytes]:
    decoded = 0
    decoder: zlib._Decompress | None = None
    async for chunk in chunks:
        try:
            if decoder is None:
                if not chunk:
                    continue
                # Servers send zlib-wrapped or raw deflate under the one name.
                raw = coding == "deflate" and chunk[0] & 0x0F != 8
                decoder = _decoder("raw-deflate" if raw else coding)
            pending = chunk
            while pending:
                data = decoder.decompress(pending, _STEP)
                pending = decoder.unconsumed_tail
                decoded += len(data)
                if decoded > limit:
                    raise BodyTooLarge(limit, decoded=True)
                if data:
                    yield data
                if decoder.eof:
                    break
        except zlib.error as exc:
            raise httpx.DecodingError(f"{coding} body cannot be decoded: {exc}") from None
    if decoder is not None:
        data = decoder.flush()
        decoded += len(data)
        if decoded > limit:
            raise BodyTooLarge(limit, decoded=True)
        if data:
            yield data


def _decoder(encoding: str) -> zlib._Decompress:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if encoding == "deflate":
        return zlib.decompressobj()
    return zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate


class Client(httpx.AsyncClient):
    """The shared client, which knows the deadline of one answer (`http.deadline`)."""

    def __init__(self, deadline: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deadline = deadline


class Exchanger(Protocol):
    """What the HTTP layer needs of a source: how to send a request, how to read an answer.

    Every collector is one (`tracker.collectors.base.Collector`); this layer knows no more.
    """

    async def fetch(self, client: httpx.AsyncClient, request: Request) -> httpx.Response: ...

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None: ...


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's roots, or SSL_CERT_FILE / SSL_CERT_DIR as the
    process started with them), made once per process: loading the roots costs ~17 ms of CPU,
    which every round's client paid again."""
    return httpx.create_ssl_context()


def make_client(
    settings: HttpSettings,
    contact: str = "",
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    max_connections: int = 32,
) -> httpx.AsyncClient:
    """The client every collector shares: timeouts, pooling, redirects, an honest User-Agent."""
    agent = settings.user_agent + (f" contact: {contact}" if contact else "")
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=16)
    inner = transport or httpx.AsyncHTTPTransport(limits=limits, verify=tls_context())
    return Client(
        settings.deadline,
        timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
        limits=limits,
        headers={"User-Agent": agent, "Accept-Encoding": ACCEPT_ENCODING},
        follow_redirects=True,
        transport=_Bounded(inner, settings.max_body),
    )


class _Wait:
    """Exponential backoff with jitter, or what the platform asked for, whichever is longer."""

    def __init__(self, max_wait: float) -> None:
        # 0.5 * 2**n + U(0, 0.5), capped. Not wait_exponential_jitter: tenacity 9.2 deprecates
        # its `initial` (a DeprecationWarning per policy) and older releases lack `multiplier`.
        self._max = max(max_wait, 0.5)
        self._backoff = wait_exponential(multiplier=0.5, max=self._max) + wait_random(0, 0.5)

    def __call__(self, state: RetryCallState) -> float:
        backoff = min(self._backoff(state), self._max)
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return max(backoff, error.retry_after)
        return backoff


def _log_retry(state: RetryCallState) -> None:
    # Debug: an attempt that is retried is not news; the round's summary line says how the
    # request ended (a source that stays down would otherwise fill the log with these).
    error = state.outcome.exception() if state.outcome is not None else None
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    cause = getattr(error, "cause", error)
    log.debug(
        "attempt %d failed (%s); retrying in %.1fs",
        state.attempt_number,
        cause,
        wait,
        extra={"attempt": state.attempt_number, "cause": str(cause), "wait": round(wait, 3)},
    )


class _Budget:
    """Stop retrying when the next wait would take the request past its total bound."""

    def __init__(self, attempts: int, max_wait: float) -> None:
        self._attempts = stop_after_attempt(attempts)
        self._max_wait = max_wait

    def __call__(self, state: RetryCallState) -> bool:
        if self._attempts(state):
            return True
        upcoming = state.upcoming_sleep
        return state.idle_for + upcoming > self._max_wait


def retry_policy(
    settings: HttpSettings, sleep: Callable[[float], object] | None = None
) -> AsyncRetrying:
    kwargs = {"sleep": sleep} if sleep is not None else {}
    return AsyncRetrying(
        retry=retry_if_exception_type(TemporaryError),
        stop=_Budget(settings.max_attempts, settings.max_wait),
        wait=_Wait(settings.max_wait),
        before_sleep=_log_retry,
        reraise=True,
        **kwargs,  # type: ignore[arg-type]
    )


async def exchange(
    client: httpx.AsyncClient,
    source: Exchanger,
    request: Request,
    *,
    deadline: float | None = None,
    max_body: int | None = None,
) -> bytes:
    """One attempt: send, classify the answer, return the body of a normal answer.

    The whole attempt, the body's last byte included, ends within `deadline` seconds (else the
    client's `http.deadline`); the body may be at most `max_body` bytes (else the source's
    `max_body`, else the client's `http.max_body`)."""
    if deadline is None:
        deadline = getattr(client, "deadline", DEFAULT_DEADLINE)
    if max_body is None:
        max_body = getattr(getattr(source, "settings", None), "max_body", None)
    token = _max_body.set(max_body)
    try:
        async with asyncio.timeout(deadline):
            response = await source.fetch(client, request)
            body = await response.aread() if not response.is_stream_consumed else response.content
    except TimeoutError:
        raise TemporaryError(
            f"{_where(request)}: no complete answer within {deadline:g}s (http.deadline)"
        ) from None
    except BodyTooLarge as exc:
        raise SourceError(f"{_where(request)}: {exc}") from None
    except httpx.TimeoutException as exc:
        raise TemporaryError(f"{_where(request)}: timed out ({type(exc).__name__})") from None
    except httpx.TransportError as exc:
        detail = str(exc) or "connection failed"
        raise TemporaryError(f"{_where(request)}: {type(exc).__name__}: {detail}") from None
    # Not transport errors, so not retried, but still the source's failure, not a crash.
    except httpx.TooManyRedirects:
        raise SourceError(f"{_where(request)}: too many redirects (a redirect loop?)") from None
    except httpx.DecodingError as exc:
        raise BadPayload(f"{_where(request)}: body cannot be decoded: {exc}") from None
    finally:
        _max_body.reset(token)
    error = source.error(response.status_code, response.headers, body)
    if error is not None:
        raise error
    return body


async def fetch_body(
    client: httpx.AsyncClient,
    source: Exchanger,
    request: Request,
    policy: AsyncRetrying,
    *,
    deadline: float | None = None,
    max_body: int | None = None,
) -> bytes:
    """`exchange` under the retry policy; raises the last SourceError when it gives up."""
    async for attempt in policy.copy():
        with attempt:
            return await exchange(client, source, request, deadline=deadline, max_body=max_body)
    raise SourceError("retry policy ended without an outcome")  # pragma: no cover


def _where(request: Request) -> str:
    return httpx.URL(request.url).host or request.url
