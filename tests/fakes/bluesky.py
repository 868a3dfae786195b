"""A fake Bluesky AppView: getProfiles / getProfile with the real answers and headers."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from .server import FakePlatform, Reply, Seen

LIMIT = 3000  # requests per window per IP, as the AppView advertises
WINDOW = 300  # seconds
MAX_ACTORS = 25


def did_for(handle: str) -> str:
    """A stable did:plc-shaped identifier (24 base32 characters) for a handle."""
    digest = hashlib.sha256(handle.encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "did:plc:" + "".join(alphabet[b % 32] for b in digest[:24])


def xrpc_error(status: int, error: str, message: str, headers: dict[str, str]) -> Reply:
    return Reply.json({"error": error, "message": message}, status, headers)


class FakeBluesky(FakePlatform):
    def __init__(self) -> None:
        super().__init__()
        self.profiles: dict[str, dict[str, Any]] = {}  # did -> profileViewDetailed
        self._count_lock = threading.Lock()
        self._served = 0

    # -- data ------------------------------------------------------------------------
    def add(self, handle: str, followers: int, *, did: str | None = None, **extra: Any) -> str:
        did = did or did_for(handle)
        self.profiles[did] = {
            "did": did,
            "handle": handle,
            "displayName": extra.pop("displayName", handle.split(".")[0].title()),
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkreia@jpeg",
            "associated": {"lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": False},
            "labels": [],
            "createdAt": "2023-04-26T17:12:00.000Z",
            "description": "",
            "indexedAt": "2024-11-20T09:41:12.415Z",
            "followersCount": followers,
            "followsCount": 120,
            "postsCount": 42,
            **extra,
        }
        return did

    def set_followers(self, actor: str, followers: int) -> None:
        self._find(actor)["followersCount"] = followers

    def rename(self, old_handle: str, new_handle: str) -> None:
        self._find(old_handle)["handle"] = new_handle

    def _find(self, actor: str) -> dict[str, Any]:
        profile = self.lookup(actor)
        if profile is None:
            raise KeyError(actor)
        return profile

    def lookup(self, actor: str) -> dict[str, Any] | None:
        if actor in self.profiles:
            return self.profiles[actor]
        wanted = actor.lower()
        return next((p for p in self.profiles.values() if p["handle"].lower() == wanted), None)

    # -- protocol --------------------------------------------------------------------
    def limit_headers(self, remaining: int | None = None, reset_in: int = WINDOW) -> dict[str, str]:
        with self._count_lock:
            self._served += 1
            left = max(0, LIMIT - self._served) if remaining is None else remaining
        return {
            "ratelimit-limit": str(LIMIT),
            "ratelimit-remaining": str(left),
            "ratelimit-reset": str(int(time.time()) + reset_in),
            "ratelimit-policy": f"{LIMIT};w={WINDOW}",
        }

    def too_many(self, reset_in: int = 60) -> Reply:
        """The 429 the AppView sends once the window is spent."""
        headers = self.limit_headers(remaining=0, reset_in=reset_in)
        return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)

    def route(self, seen: Seen) -> Reply:
        headers = self.limit_headers()
        if seen.path == "/xrpc/app.bsky.actor.getProfiles":
            actors = seen.params("actors")
            if not actors:
                message = 'Error: Params must have the property "actors"'
                return xrpc_error(400, "InvalidRequest", message, headers)
            if len(actors) > MAX_ACTORS:
                message = f"Error: actors must not have more than {MAX_ACTORS} elements"
                return xrpc_error(400, "InvalidRequest", message, headers)
            found: dict[str, dict[str, Any]] = {}
            for actor in actors:
                profile = self.lookup(actor)
                if profile is not None:
                    found.setdefault(profile["did"], profile)
            return Reply.json({"profiles": list(found.values())}, headers=headers)
        if seen.path == "/xrpc/app.bsky.actor.getProfile":
            profile = self.lookup(seen.param("actor") or "")
            if profile is None:
                return xrpc_error(400, "InvalidRequest", "Profile not found", headers)
            return Reply.json(profile, headers=headers)
        return xrpc_error(501, "MethodNotImplemented", "Method Not Implemented", headers)
