"""A fake TikTok: the Research API's user info (bearer token, daily quota, `error` object in
every answer) and the web challenge endpoint (msToken cookie; an empty 200 or a `statusCode`
when it blocks or does not know the tag), both on one server."""

from __future__ import annotations

import hashlib
import json
import threading
from http.cookies import SimpleCookie
from typing import Any

from .server import FakePlatform, Reply, Seen

USER_INFO = "/v2/research/user/info/"
CHALLENGE = "/api/challenge/detail/"
DAILY = 1000


def log_id(text: str) -> str:
    return "202205201200" + hashlib.sha256(text.encode()).hexdigest()[:22].upper()


def research(data: dict[str, Any], code: str = "ok", message: str = "", status: int = 200) -> Reply:
    body = {"data": data, "error": {"code": code, "message": message, "log_id": log_id(code)}}
    return Reply.json(body, status)


class FakeTikTok(FakePlatform):
    def __init__(
        self, research_token: str = "clt.research-0001", ms_token: str = "ms-0001"
    ) -> None:
        super().__init__()
        self.research_token = research_token
        self.ms_token = ms_token
        self.users: dict[str, dict[str, Any]] = {}  # username -> user info (all fields)
        self.tags: dict[str, dict[str, Any]] = {}  # lower-case name -> challengeInfo
        self.daily = DAILY
        self.blocked = False  # the web endpoint answers an empty 200, as when it blocks
        self._count_lock = threading.Lock()
        self.research_calls = 0

    # -- data ------------------------------------------------------------------------
    def add_user(self, username: str, followers: int, likes: int = 0, videos: int = 0) -> None:
        self.users[username.lower()] = {
            "display_name": username.title(),
            "bio_description": "",
            "avatar_url": f"https://p16-sign.tiktokcdn-us.com/{username}.jpeg",
            "is_verified": False,
            "follower_count": followers,
            "following_count": 12,
            "likes_count": likes,
            "video_count": videos,
        }

    def add_tag(self, title: str, views: int, videos: int, *, v2: bool = True) -> str:
        challenge_id = str(1_600_000_000_000_000 + len(self.tags))
        info: dict[str, Any] = {
            "challenge": {
                "id": challenge_id,
                "title": title,
                "desc": "",
                "profileLarger": "",
                "coverLarger": "",
                "isCommerce": False,
            },
            # The int figures are rounded for display, as TikTok's web answers do.
            "stats": {"videoCount": _display(videos), "viewCount": _display(views)},
        }
        if v2:
            info["statsV2"] = {"videoCount": str(videos), "viewCount": str(views)}
        self.tags[title.lower()] = info
        return challenge_id

    # -- protocol --------------------------------------------------------------------
    def route(self, seen: Seen) -> Reply:
        if seen.path == USER_INFO and seen.method == "POST":
            return self._user_info(seen)
        if seen.path == CHALLENGE and seen.method == "GET":
            return self._challenge(seen)
        return Reply(404, {"Content-Type": "text/html"}, b"<html>Not Found</html>")

    def _user_info(self, seen: Seen) -> Reply:
        if seen.headers.get("authorization") != f"Bearer {self.research_token}":
            message = "The access token is invalid or not found in the request."
            return research({}, "access_token_invalid", message, 401)
        with self._count_lock:
            self.research_calls += 1
            over = self.research_calls > self.daily
        if over:
            message = "API rate limit exceeded, please retry tomorrow."
            return research({}, "rate_limit_exceeded", message, 429)
        try:
            username = json.loads(seen.body)["username"]
        except (ValueError, KeyError, TypeError):
            return research({}, "invalid_params", "Invalid request body", 400)
        user = self.users.get(str(username).lower())
        if user is None:
            message = f"User {username} does not exist or is not public"
            return research({}, "invalid_params", message, 400)
        fields = (seen.param("fields") or "").split(",")
        return research({f: user[f] for f in fields if f in user})

    def _challenge(self, seen: Seen) -> Reply:
        cookie = SimpleCookie(seen.headers.get("cookie", ""))
        token = cookie["msToken"].value if "msToken" in cookie else ""
        if self.blocked or token != self.ms_token:
            return Reply(200, {"Content-Type": "application/json"}, b"")
        info = self.tags.get((seen.param("challengeName") or "").lower())
        if info is None:
            body = {"challengeInfo": {}, "statusCode": 10205, "status_code": 10205,
                    "status_msg": "", "extra": {"now": 1653048000000}}  # fmt: skip
            return Reply.json(body)
        body = {
            "challengeInfo": info,
            "extra": {"fatal_item_ids": [], "logid": log_id("web"), "now": 1653048000000},
            "log_pb": {"impr_id": log_id("web")},
            "shareMeta": {"desc": "", "title": f"#{info['challenge']['title']} on TikTok"},
            "statusCode": 0,
            "status_code": 0,
            "status_msg": "",
        }
        return Reply.json(body)


def _display(value: int) -> int:
    """How TikTok rounds a figure for display: one decimal of K, M or B."""
    for unit in (1_000_000_000, 1_000_000, 1_000):
        if value >= unit:
            step = unit // 10
            return (value + step // 2) // step * step
    return value
