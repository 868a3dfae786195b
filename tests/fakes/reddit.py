"""A fake Reddit: the application-only OAuth token endpoint and `/r/{sub}/about`, with Reddit's
error bodies (`reason`), its redirect to search for unknown names, and its rate headers
(`X-Ratelimit-Used/-Remaining/-Reset`, Reset in seconds from now)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, quote

from .server import FakePlatform, Reply, Seen

LIMIT = 600  # requests per 10-minute window per OAuth client
WINDOW = 600
GENERIC_AGENTS = ("python-httpx/", "python-requests/", "curl/")


def reddit_error(status: int, message: str, headers: dict[str, str], **extra: Any) -> Reply:
    return Reply.json({**extra, "message": message, "error": status}, status, headers)


class FakeReddit(FakePlatform):
    def __init__(
        self, client_id: str = "fake-client-id", client_secret: str = "s3cret-0001"
    ) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.subreddits: dict[str, dict[str, Any]] = {}  # lower-case name -> about `data`
        self.closed: dict[str, tuple[int, str]] = {}  # lower-case name -> (status, reason)
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.agents: list[str] = []
        self._count_lock = threading.Lock()
        self._used = 0
        self._window_start = time.time()

    # -- data ------------------------------------------------------------------------
    def add(self, name: str, subscribers: int, fullname: str | None = None) -> str:
        fullname = fullname or "t5_" + hashlib.sha256(name.lower().encode()).hexdigest()[:6]
        self.subreddits[name.lower()] = {
            "display_name": name,
            "display_name_prefixed": f"r/{name}",
            "name": fullname,
            "id": fullname.removeprefix("t5_"),
            "title": name,
            "subscribers": subscribers,
            "accounts_active": 123,
            "active_user_count": 123,
            "subreddit_type": "public",
            "over18": False,
            "quarantine": False,
            "created_utc": 1587340800.0,
            "url": f"/r/{name}/",
        }
        return fullname

    def close(self, name: str, status: int, reason: str) -> None:
        """Make a subreddit private (403), quarantined (403), banned (404)..."""
        self.closed[name.lower()] = (status, reason)

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    # -- protocol --------------------------------------------------------------------
    def rate_headers(self) -> dict[str, str]:
        with self._count_lock:
            elapsed = time.time() - self._window_start
            if elapsed >= WINDOW:
                self._window_start, self._used, elapsed = time.time(), 0, 0.0
            self._used += 1
            used = self._used
        return {
            "X-Ratelimit-Used": str(used),
            "X-Ratelimit-Remaining": f"{max(0, LIMIT - used):.1f}",
            "X-Ratelimit-Reset": str(int(WINDOW - elapsed)),
        }

    def route(self, seen: Seen) -> Reply:
        self.agents.append(seen.headers.get("user-agent", ""))
        if seen.headers.get("user-agent", "").startswith(GENERIC_AGENTS):
            return reddit_error(429, "Too Many Requests", {"Retry-After": "60"})
        if seen.path == "/api/v1/access_token" and seen.method == "POST":
            return self._access_token(seen)
        headers = self.rate_headers()
        bearer = seen.headers.get("authorization", "")
        if bearer.removeprefix("Bearer ").removeprefix("bearer ") not in self.tokens:
            headers["www-authenticate"] = 'Bearer realm="reddit", error="invalid_token"'
            return reddit_error(401, "Unauthorized", headers)
        parts = seen.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "r" and parts[2] == "about":
            return self._about(parts[1], headers)
        if seen.path == "/subreddits/search":
            listing = {"kind": "Listing", "data": {"after": None, "dist": 0, "children": []}}
            return Reply.json(listing, headers=headers)
        return reddit_error(404, "Not Found", headers)

    def _access_token(self, seen: Seen) -> Reply:
        self.token_requests += 1
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if seen.headers.get("authorization") != f"Basic {expected}":
            return reddit_error(401, "Unauthorized", {})
        form = dict(parse_qsl(seen.body.decode()))
        if form.get("grant_type") != "client_credentials":
            return Reply.json({"error": "unsupported_grant_type"})
        token = "-" + secrets.token_urlsafe(24)
        self.tokens.add(token)
        body = {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        return Reply.json(body)

    def _about(self, name: str, headers: dict[str, str]) -> Reply:
        key = name.lower()
        if key in self.closed:
            status, reason = self.closed[key]
            message = "Forbidden" if status == 403 else "Not Found"
            return reddit_error(status, message, headers, reason=reason)
        about = self.subreddits.get(key)
        if about is None:
            location = f"{self.url}/subreddits/search?q={quote(name)}"
            return Reply(302, {**headers, "Location": location}, b"")
        return Reply.json({"kind": "t5", "data": about}, headers=headers)
