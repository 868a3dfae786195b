"""YouTube subscriber, video and view counts through the Data API v3 (`channels.list`).

Channel ids (UC...) go 50 to a request; a handle ("@name") is resolved with `forHandle`, one
request each, so naming a channel by id (the target's `id` option) is cheaper. Every call
costs 1 unit of the API key's daily quota, which resets at midnight US Pacific.
`subscriberCount` is a string rounded down to 3 significant figures and is kept with sig=3;
a channel that hides its count, or an id YouTube leaves out, is a failure, never a zero.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from tracker.bounds import MAX_ALLOWANCE
from tracker.collectors.base import (
    Collector,
    Credential,
    Observation,
    Parsed,
    Request,
    SourceSettings,
    Target,
    as_count,
    error_json,
    load_json,
    one_line,
    require,
)
from tracker.errors import BadPayload, QuotaExhausted, RateLimited, SourceError
from tracker.limits import wait_seconds
from tracker.quota import Quota

if TYPE_CHECKING:
    import httpx

# channels.list answers for at most 50 ids at once.
MAX_BATCH = 50
# YouTube rounds subscriberCount down to three significant figures.
SUBSCRIBER_SIG = 3
BUDGET = "units"

_CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
_QUOTA = {"quotaExceeded", "dailyLimitExceeded"}
_RATE = {"rateLimitExceeded", "userRateLimitExceeded"}
_TAGS = re.compile(r"<[^>]+>")


class YouTubeSettings(SourceSettings):
    base_url: str = "https://www.googleapis.com"
    api_key_env: str = "YOUTUBE_API_KEY"
    api_key_file: str | None = None
    batch_size: int = Field(default=MAX_BATCH, ge=1, le=MAX_BATCH)
    # Units per API key per Pacific day; Google grants 10,000 unless you asked for more.
    daily_quota: int = Field(default=10_000, ge=1, le=MAX_ALLOWANCE)


def channel_id_of(target: Target) -> str | None:
    """The channel id a target names (its `id` option, or the name itself), else None."""
    for candidate in (target.option("id").strip(), target.name.strip()):
        if _CHANNEL_ID.match(candidate):
            return candidate
    return None


def handle_of(target: Target) -> str:
    """'@name' for a target named by handle (with or without its '@')."""
    return "@" + target.name.strip().lstrip("@")


def quota_reset(at: datetime) -> datetime:
    """When a quota spent at `at` comes back: the next midnight in America/Los_Angeles."""
    return Quota(1, zone="America/Los_Angeles").window(at)[1]


class YouTubeCollector(Collector):
    name: ClassVar[str] = "youtube"
    settings_model: ClassVar[type[SourceSettings]] = YouTubeSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"account"})
    description: ClassVar[str] = "YouTube subscribers, videos and views via Data API channels.list"
    credentials: ClassVar[tuple[Credential, ...]] = (Credential("api_key"),)
    handle_prefix: ClassVar[str] = "@"

    settings: YouTubeSettings

    @property
    def quotas(self) -> Mapping[str, Quota]:
        # The limit is a setting, so the budget is per instance, not per class.
        return {BUDGET: Quota(self.settings.daily_quota, zone="America/Los_Angeles")}

    @property
    def url(self) -> str:
        return f"{self.settings.base_url}/youtube/v3/channels"

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        by_id: dict[str, list[Target]] = {}
        by_handle: dict[str, list[Target]] = {}
        for target in targets:
            if target.kind not in self.kinds:
                continue
            channel = channel_id_of(target)
            if channel:
                by_id.setdefault(channel, []).append(target)
            else:
                by_handle.setdefault(handle_of(target).lower(), []).append(target)
        ids = list(by_id)
        size = self.settings.batch_size
        requests = [
            self._request(
                tuple(t for channel in batch for t in by_id[channel]), ("id", ",".join(batch))
            )
            for batch in (ids[i : i + size] for i in range(0, len(ids), size))
        ]
        for handle, named in by_handle.items():
            requests.append(self._request(tuple(named), ("forHandle", handle)))
        return requests

    def _request(self, targets: tuple[Target, ...], select: tuple[str, str]) -> Request:
        params = (("part", "statistics,snippet"), select)
        return Request(targets=targets, url=self.url, params=params, budget=BUDGET, cost=1)

    async def fetch(self, client: httpx.AsyncClient, request: Request) -> httpx.Response:
        # The key joins the query only here, so no Request (or its repr) ever holds it.
        params = (*request.params, ("key", self.credential("api_key") or ""))
        return await client.request(request.method, request.url, params=params)

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        if status in (400, 403):
            reasons, message = _google_error(body)
            if reasons & _QUOTA:
                cause = f"YouTube daily quota exhausted ({', '.join(sorted(reasons & _QUOTA))})"
                return QuotaExhausted(cause, quota_reset(self.clock()))
            if reasons & _RATE:
                return RateLimited(f"YouTube: {message}", wait_seconds(headers, self.clock()))
            if reasons:
                named = ", ".join(sorted(reasons))
                return SourceError(f"YouTube refused the request ({named}): {message}")
        return super().error(status, headers, body)

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        data = load_json(body)
        if not isinstance(data, dict) or data.get("kind") != "youtube#channelListResponse":
            raise BadPayload("not a youtube#channelListResponse")
        # YouTube leaves `items` out altogether when nothing matched.
        items = data.get("items", [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise BadPayload("items: expected a list of channel objects")
        by_id = {str(item.get("id")): item for item in items}
        # A forHandle answer holds the one channel the handle names, or nothing.
        resolved = (items[0] if items else None) if "forHandle" in dict(request.params) else None
        parsed = Parsed()
        for target in request.targets:
            item = resolved or by_id.get(channel_id_of(target) or "")
            if item is None:
                parsed.failures[target.name] = "not found: YouTube has no such channel"
                continue
            try:
                _observe(item, target, at, parsed)
            except BadPayload as exc:
                parsed.failures[target.name] = exc.cause
        return parsed


def _observe(item: dict[str, Any], target: Target, at: datetime, parsed: Parsed) -> None:
    channel = require(item, "id")
    if not isinstance(channel, str) or not _CHANNEL_ID.match(channel):
        raise BadPayload(f"id: expected a channel id, got {channel!r:.60}")
    stats = require(item, "statistics")
    snippet = item.get("snippet")
    snippet = snippet if isinstance(snippet, dict) else {}
    label = str(snippet.get("customUrl") or snippet.get("title") or "")
    videos, views = _count(stats, "videoCount"), _count(stats, "viewCount")
    subject, out = target.subject, parsed.observations
    if stats.get("hiddenSubscriberCount") is True:
        parsed.failures[target.name] = "subscriber count hidden by the channel owner"
    else:
        followers = _count(stats, "subscriberCount")
        out.append(
            Observation("followers", channel, followers, at, subject, label, sig=SUBSCRIBER_SIG)
        )
    out.append(Observation("videos", channel, videos, at, subject, label))
    out.append(Observation("views", channel, views, at, subject, label))


def _count(stats: Any, name: str) -> int:
    """A count of `statistics`: YouTube sends digit strings, read at once; anything else
    goes the long way, which says what is wrong."""
    value = stats.get(name) if isinstance(stats, dict) else None
    if type(value) is str and value.isdigit() and value.isascii():
        return int(value)
    return as_count(require(stats, name), name)


def _google_error(body: bytes) -> tuple[set[str], str]:
    """The reasons and message of a Google API error body; empty when it is not one."""
    error = error_json(body, "error")
    reasons = set()
    for entry in [*(error.get("errors") or []), *(error.get("details") or [])]:
        if isinstance(entry, dict) and isinstance(entry.get("reason"), str):
            reasons.add(entry["reason"])
    return reasons, one_line(_TAGS.sub("", str(error.get("message") or "")))
