"""A fake X API v2: users lookup by usernames or ids, and recent post counts per day.

It checks the bearer token, keeps a 15-minute request window per endpoint with the
`x-rate-limit-*` headers on every answer, puts unknown and suspended names in a top-level
`errors` array, and refuses the counts endpoint on the free tier as X does.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from .server import FakePlatform, Reply, Seen

TOKEN = "AAAAAAAAAAAAAAAAAAAAAFakeBearerTokenForTests%2Fabc123"
WINDOW = 900  # seconds
MAX_USERS = 100
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_ENDPOINTS = {"/2/users/by": "users", "/2/users": "users", "/2/tweets/counts/recent": "counts"}


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": kind, "status": status}


def client_forbidden() -> dict[str, Any]:
    """What X answers a free-tier app that calls an endpoint its plan lacks."""
    return {
        "client_id": "28659504",
        "detail": (
            "When authenticating requests to the Twitter API v2 endpoints, you must use keys "
            "and tokens from a Twitter developer App that is attached to a Project. You can "
            "create a project via the developer portal."
        ),
        "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
        "title": "Client Forbidden",
        "required_enrollment": "Appropriate Level of API Access",
        "reason": "client-not-enrolled",
        "type": "https://api.twitter.com/2/problems/client-forbidden",
    }


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeX(FakePlatform):
    def __init__(self, token: str = TOKEN, tier: str = "pro") -> None:
        super().__init__()
        self.token = token
        self.tier = tier  # "free" lacks tweets/counts/recent
        self.users: dict[str, dict[str, Any]] = {}  # id -> user object
        self.suspended: set[str] = set()  # lower-case usernames
        self.daily: dict[str, dict[str, int]] = {}  # tag -> "YYYY-MM-DD" -> posts that day
        self.limits = {"users": 300, "counts": 300}
        self.now: datetime | None = None  # the server's clock for counts; None = real time
        self._served: dict[str, int] = {}
        self._reset = int(time.time()) + WINDOW
        self._count_lock = threading.Lock()
        self._next_id = 1_480_000_000_000_000_000

    # -- data ------------------------------------------------------------------------
    def add(self, username: str, followers: int, *, user_id: str | None = None) -> str:
        self._next_id += 7919
        user_id = user_id or str(self._next_id)
        self.users[user_id] = {
            "id": user_id,
            "name": username.title(),
            "username": username,
            "public_metrics": {
                "followers_count": followers,
                "following_count": 321,
                "tweet_count": 4567,
                "listed_count": 89,
                "like_count": 1011,
            },
        }
        return user_id

    def rename(self, user_id: str, new_username: str) -> None:
        self.users[user_id]["username"] = new_username

    def set_followers(self, user_id: str, followers: int) -> None:
        self.users[user_id]["public_metrics"]["followers_count"] = followers

    def set_daily(self, tag: str, counts: dict[str, int]) -> None:
        self.daily[tag.lower()] = counts

    # -- protocol --------------------------------------------------------------------
    def limit_headers(self, endpoint: str, remaining: int | None = None) -> dict[str, str]:
        limit = self.limits[endpoint]
        left = max(0, limit - self._served.get(endpoint, 0)) if remaining is None else remaining
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(left),
            "x-rate-limit-reset": str(self._reset),
        }

    def too_many(self, reset_in: int = 60, remaining: int = 0) -> Reply:
        """A 429 as X sends it; X may send one while `remaining` still says otherwise."""
        headers = {
            "x-rate-limit-limit": "300",
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(time.time()) + reset_in),
        }
        body = problem(429, "Too Many Requests", "Too Many Requests")
        return Reply.json(body, 429, headers)

    def route(self, seen: Seen) -> Reply:
        if seen.headers.get("authorization") != f"Bearer {self.token}":
            return Reply.json(problem(401, "Unauthorized", "Unauthorized"), 401)
        endpoint = _ENDPOINTS.get(seen.path)
        if endpoint is None:
            return Reply.json(problem(404, "Not Found", "Not Found"), 404)
        with self._count_lock:
            if time.time() >= self._reset:
                self._served, self._reset = {}, int(time.time()) + WINDOW
            if self._served.get(endpoint, 0) >= self.limits[endpoint]:
                headers = self.limit_headers(endpoint, remaining=0)
                body = problem(429, "Too Many Requests", "Too Many Requests")
                return Reply.json(body, 429, headers)
            self._served[endpoint] = self._served.get(endpoint, 0) + 1
            headers = self.limit_headers(endpoint)
        if endpoint == "counts":
            if self.tier == "free":
                return Reply.json(client_forbidden(), 403, headers)
            return self._counts(seen, headers)
        return self._users(seen, headers)

    def _invalid(self, parameter: str, value: str, message: str, headers: dict[str, str]) -> Reply:
        body = {
            "errors": [{"parameters": {parameter: [value]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }
        return Reply.json(body, 400, headers)

    def _users(self, seen: Seen, headers: dict[str, str]) -> Reply:
        parameter = "usernames" if seen.path == "/2/users/by" else "ids"
        raw = seen.param(parameter) or ""
        values = [v for v in raw.split(",") if v]
        if not values or len(values) > MAX_USERS:
            message = (
                f"The number of values in the `{parameter}` query parameter list "
                f"[{len(values)}] is not between 1 and {MAX_USERS}"
            )
            return self._invalid(parameter, raw, message, headers)
        pattern = _USERNAME if parameter == "usernames" else re.compile(r"^[0-9]{1,19}$")
        for value in values:
            if not pattern.match(value):
                message = (
                    f"The `{parameter}` query parameter value [{value}] "
                    f"does not match {pattern.pattern}"
                )
                return self._invalid(parameter, value, message, headers)
        data: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for value in values:
            user = self._lookup(value, parameter)
            if user is not None and user["username"].lower() in self.suspended:
                title, detail = "Forbidden", f"User has been suspended: [{value}]."
            elif user is None:
                title, detail = (
                    "Not Found Error",
                    f"Could not find user with {parameter}: [{value}].",
                )
            else:
                data.append(user)
                continue
            errors.append(
                {
                    "value": value,
                    "detail": detail,
                    "title": title,
                    "resource_type": "user",
                    "parameter": parameter,
                    "resource_id": value,
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            )
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return Reply.json(body, 200, headers)

    def _lookup(self, value: str, parameter: str) -> dict[str, Any] | None:
        if parameter == "ids":
            return self.users.get(value)
        wanted = value.lower()
        return next((u for u in self.users.values() if u["username"].lower() == wanted), None)

    def _counts(self, seen: Seen, headers: dict[str, str]) -> Reply:
        query = seen.param("query") or ""
        if not query.startswith("#") or seen.param("granularity") != "day":
            return self._invalid("query", query, "this fake serves '#tag' by day only", headers)
        daily = self.daily.get(query[1:].lower(), {})
        # Defaults as X documents them: the last 7 days, ending 30 seconds ago.
        end = (self.now or datetime.now(UTC)) - timedelta(seconds=30)
        start = end - timedelta(days=7)
        buckets: list[dict[str, Any]] = []
        cursor = start
        while cursor < end:
            midnight = datetime(cursor.year, cursor.month, cursor.day, tzinfo=UTC)
            stop = min(midnight + timedelta(days=1), end)
            count = daily.get(midnight.date().isoformat(), 0)
            buckets.append({"end": _stamp(stop), "start": _stamp(cursor), "tweet_count": count})
            cursor = stop
        total = sum(b["tweet_count"] for b in buckets)
        return Reply.json({"data": buckets, "meta": {"total_tweet_count": total}}, 200, headers)
