"""The collector interface.

A collector turns targets (accounts, hashtags, charts, pages) into observations in three steps:

    plan(targets)            pure: group targets into as few requests as the platform allows
    fetch(client, request)   network I/O through the shared httpx client; no retries here
    error(status, headers, body) -> SourceError | None
                             pure: recognise the platform's error answers
    parse(request, body, at) pure: payload bytes -> observations + per-target failures

Retries, rate limits, storage and bookkeeping belong to the runner (`tracker.round`), so a
collector stays small and its `parse` can be tested on recorded payloads alone.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

# The domain types live in tracker.core; a plugin imports everything it needs from here.
from tracker.core import (
    HttpURL,
    Observation,
    Parsed,
    Request,
    SourceSettings,
    Target,
    http_url,
    normalize_tag,
    parse_amount,
)
from tracker.errors import BadPayload, NotFound, RateLimited, SourceError, TemporaryError
from tracker.limits import wait_seconds
from tracker.quota import Quota
from tracker.timeutil import now

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Collector",
    "HttpURL",
    "Observation",
    "Parsed",
    "Request",
    "SourceSettings",
    "Target",
    "as_count",
    "http_error",
    "http_url",
    "load_json",
    "normalize_tag",
    "parse_amount",
    "require",
    "summarize",
]


class Collector(ABC):
    """Base of every collector; subclasses set `name`, `settings_model`, `kinds`."""

    name: ClassVar[str]
    settings_model: ClassVar[type[SourceSettings]]
    # The target kinds this collector measures, e.g. frozenset({"account", "hashtag"}).
    kinds: ClassVar[frozenset[str]]
    # Shown in docs and `tracker status`.
    description: ClassVar[str] = ""

    def __init__(self, settings: SourceSettings, clock: Callable[[], datetime] = now) -> None:
        self.settings = settings
        # plan() and error() may read the clock (date windows, reset times); parse() never
        # does. Tests pass a fixed one.
        self.clock = clock

    def missing(self) -> str | None:
        """Why this collector cannot run as configured (e.g. 'set YOUTUBE_API_KEY'), or None."""
        return None

    @property
    def quotas(self) -> Mapping[str, Quota]:
        """Named quota budgets the requests spend (see Request.budget), per credential."""
        return {}

    def credential_id(self, budget: str) -> str:
        """Whose allowance `budget` is: a fingerprint of the credential (see tracker.secrets)."""
        return "anonymous"

    @abstractmethod
    def plan(self, targets: Sequence[Target]) -> list[Request]:
        """Group targets into as few requests as the platform allows."""

    async def fetch(self, client: httpx.AsyncClient, request: Request) -> httpx.Response:
        return await client.request(
            request.method,
            request.url,
            params=list(request.params) or None,
            json=request.json,
            headers=dict(request.headers) or None,
        )

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        """The error a response stands for, or None when it is a normal answer."""
        return http_error(status, headers, body)

    @abstractmethod
    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        """Payload -> observations. Pure; raises BadPayload when the body is not the format."""


def http_error(status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
    """Generic HTTP classification shared by all collectors."""
    if 200 <= status < 300:
        return None
    snippet = summarize(body)
    if status == 429:
        return RateLimited(f"HTTP 429 Too Many Requests{snippet}", wait_seconds(headers, now()))
    if status >= 500 or status == 408:
        return TemporaryError(f"HTTP {status}{snippet}")
    if status in (404, 410):
        return NotFound(f"HTTP {status} not found{snippet}")
    return SourceError(f"HTTP {status}{snippet}")


def summarize(body: bytes, limit: int = 120) -> str:
    """A short, single-line excerpt of a body for an error cause ('' when empty)."""
    text = body[: limit * 2].decode("utf-8", "replace").strip()
    if not text:
        return ""
    text = " ".join(text.split())
    return f": {text[:limit]}"


def load_json(body: bytes) -> Any:
    """Decode a JSON body, refusing the shapes a blocked or broken endpoint sends."""
    stripped = body.strip()
    if not stripped:
        raise BadPayload("empty body")
    if stripped[:1] == b"<":
        raise BadPayload(f"HTML where JSON was expected{summarize(stripped, 60)}")
    try:
        data = json.loads(stripped)
    except ValueError as exc:
        raise BadPayload(f"invalid JSON: {exc}") from None
    if data is None:
        raise BadPayload("body is JSON null")
    return data


def require(data: Any, *path: str | int) -> Any:
    """Walk `path` into decoded JSON; a missing step is schema drift, reported as such."""
    node = data
    walked: list[str] = []
    for step in path:
        walked.append(str(step))
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            raise BadPayload(f"missing field {'.'.join(walked)}") from None
    return node


def as_count(value: Any, where: str) -> int:
    """A non-negative integer count from an int or a digit string; anything else is drift."""
    if isinstance(value, bool):
        raise BadPayload(f"{where}: expected a count, got {value!r}")
    if isinstance(value, int):
        count = value
    elif isinstance(value, str) and value.strip().isdigit():
        count = int(value.strip())
    else:
        raise BadPayload(f"{where}: expected a count, got {value!r}")
    if count < 0:
        raise BadPayload(f"{where}: negative count {count}")
    return count
