"""A fake YouTube Data API v3: channels.list by id or forHandle, with the real error bodies.

Counts are stored exact and served the way YouTube serves them: strings, with
subscriberCount rounded down to three significant figures and left out when hidden. Each
call spends one unit of the key's daily quota; a spent quota answers 403 quotaExceeded.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from typing import Any

from .server import FakePlatform, Reply, Seen

KEY = "AIzaSyFakeKeyForTests0123456789abcdefg"
QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)
HEADERS = {"Vary": "Origin, X-Origin, Referer"}


def channel_id_for(handle: str) -> str:
    """A stable UC + 22 base64url characters id for a handle."""
    digest = hashlib.sha256(handle.lower().encode()).digest()
    return "UC" + base64.urlsafe_b64encode(digest).decode()[:22]


def round_down(value: int, sig: int = 3) -> int:
    """`value` rounded down to `sig` significant figures, as YouTube shows subscribers."""
    step = 10 ** max(0, len(str(value)) - sig)
    return value // step * step


def google_error(status: int, message: str, reason: str, domain: str = "global") -> Reply:
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason}],
    }
    return Reply.json({"error": error}, status, HEADERS)


def key_invalid() -> Reply:
    message = "API key not valid. Please pass a valid API key."
    error = {
        "code": 400,
        "message": message,
        "errors": [{"message": message, "domain": "global", "reason": "badRequest"}],
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "youtube.googleapis.com"},
            }
        ],
    }
    return Reply.json({"error": error}, 400, HEADERS)


def quota_exceeded() -> Reply:
    return google_error(403, QUOTA_MESSAGE, "quotaExceeded", "youtube.quota")


class FakeYouTube(FakePlatform):
    def __init__(self, key: str = KEY, daily_quota: int = 10_000) -> None:
        super().__init__()
        self.key = key
        self.daily_quota = daily_quota
        self.channels: dict[str, dict[str, Any]] = {}  # id -> stored channel
        self.units: dict[str, int] = {}  # api key -> units spent today
        self._lock_units = threading.Lock()

    # -- data ------------------------------------------------------------------------
    def add(
        self,
        handle: str,
        subscribers: int,
        *,
        videos: int = 120,
        views: int = 1_000_000,
        hidden: bool = False,
        channel_id: str | None = None,
    ) -> str:
        handle = "@" + handle.lstrip("@").lower()
        channel_id = channel_id or channel_id_for(handle)
        self.channels[channel_id] = {
            "handle": handle,
            "title": handle[1:].title(),
            "subscribers": subscribers,
            "videos": videos,
            "views": views,
            "hidden": hidden,
        }
        return channel_id

    def rename(self, channel_id: str, new_handle: str) -> None:
        self.channels[channel_id]["handle"] = "@" + new_handle.lstrip("@").lower()

    def set_subscribers(self, channel_id: str, subscribers: int) -> None:
        self.channels[channel_id]["subscribers"] = subscribers

    def _resource(self, channel_id: str) -> dict[str, Any]:
        stored = self.channels[channel_id]
        statistics: dict[str, Any] = {"viewCount": str(stored["views"])}
        if not stored["hidden"]:
            statistics["subscriberCount"] = str(round_down(stored["subscribers"]))
        statistics["hiddenSubscriberCount"] = stored["hidden"]
        statistics["videoCount"] = str(stored["videos"])
        return {
            "kind": "youtube#channel",
            "etag": hashlib.md5(channel_id.encode()).hexdigest()[:27],
            "id": channel_id,
            "snippet": {
                "title": stored["title"],
                "description": "",
                "customUrl": stored["handle"],
                "publishedAt": "2015-03-02T10:11:12Z",
                "localized": {"title": stored["title"], "description": ""},
            },
            "statistics": statistics,
        }

    # -- protocol --------------------------------------------------------------------
    def route(self, seen: Seen) -> Reply:
        if seen.path != "/youtube/v3/channels":
            return google_error(404, "Not Found", "notFound")
        key = seen.param("key")
        if not key:
            message = (
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to "
                "call this API."
            )
            return google_error(403, message, "forbidden")
        if key != self.key:
            return key_invalid()
        with self._lock_units:
            if self.units.get(key, 0) >= self.daily_quota:
                return quota_exceeded()
            self.units[key] = self.units.get(key, 0) + 1
        if not seen.param("part"):
            return google_error(400, "Required parameter: part", "required")
        if seen.param("id") is not None:
            wanted = [i for i in (seen.param("id") or "").split(",") if i]
            found = [i for i in dict.fromkeys(wanted) if i in self.channels]
        elif seen.param("forHandle") is not None:
            handle = "@" + (seen.param("forHandle") or "").lstrip("@").lower()
            found = [i for i, c in self.channels.items() if c["handle"] == handle][:1]
        else:
            message = (
                "No filter selected. Expected one of: forUsername, managedByMe, categoryId, "
                "mine, mySubscribers, id, idParam, forHandle"
            )
            return google_error(400, message, "missingRequiredParameter", "youtube.parameter")
        body: dict[str, Any] = {
            "kind": "youtube#channelListResponse",
            "etag": hashlib.md5(",".join(found).encode()).hexdigest()[:27],
            "pageInfo": {"totalResults": len(found), "resultsPerPage": max(5, len(found))},
        }
        if found:  # YouTube leaves `items` out when nothing matched
            body["items"] = [self._resource(i) for i in found]
        return Reply.json(body)
