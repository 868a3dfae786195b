"""The one httpx client factory and the one retry policy.

Retry only what is temporary (connect errors, timeouts, 5xx, 429), honour the platform's
Retry-After or reset header, log each attempt, bound the total wait, re-raise at the end.
Collectors never retry on their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Protocol

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from tracker.config import HttpSettings
from tracker.core import Request
from tracker.errors import BadPayload, RateLimited, SourceError, TemporaryError

log = logging.getLogger("tracker.http")


class Exchanger(Protocol):
    """What the HTTP layer needs of a source: how to send a request, how to read an answer.

    Every collector is one (`tracker.collectors.base.Collector`); this layer knows no more.
    """

    async def fetch(self, client: httpx.AsyncClient, request: Request) -> httpx.Response: ...

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None: ...


def make_client(
    settings: HttpSettings,
    contact: str = "",
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    max_connections: int = 32,
) -> httpx.AsyncClient:
    """The client every collector shares: timeouts, pooling, redirects, an honest User-Agent."""
    agent = settings.user_agent + (f" contact: {contact}" if contact else "")
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=16),
        headers={"User-Agent": agent, "Accept-Encoding": "gzip, deflate"},
        follow_redirects=True,
        transport=transport,
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


async def exchange(client: httpx.AsyncClient, source: Exchanger, request: Request) -> bytes:
    """One attempt: send, classify the answer, return the body of a normal answer."""
    try:
        response = await source.fetch(client, request)
        body = await response.aread() if not response.is_stream_consumed else response.content
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
    error = source.error(response.status_code, response.headers, body)
    if error is not None:
        raise error
    return body


async def fetch_body(
    client: httpx.AsyncClient, source: Exchanger, request: Request, policy: AsyncRetrying
) -> bytes:
    """`exchange` under the retry policy; raises the last SourceError when it gives up."""
    async for attempt in policy.copy():
        with attempt:
            return await exchange(client, source, request)
    raise SourceError("retry policy ended without an outcome")  # pragma: no cover


def _where(request: Request) -> str:
    return httpx.URL(request.url).host or request.url
