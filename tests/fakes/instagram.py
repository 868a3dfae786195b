"""A fake Graph API: business discovery on your own IG user, with Meta's error shapes and
usage headers (`X-App-Usage`, `X-Business-Use-Case-Usage`)."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from .server import FakePlatform, Reply, Seen

VERSION = "v25.0"
OWN_ID = "17841405309211844"
_DISCOVERY = re.compile(r"^business_discovery\.username\(([^)]*)\)\{([^}]*)\}$")


def graph_error(status: int, headers: dict[str, str], **error: Any) -> Reply:
    body = {"type": "OAuthException", "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUv", **error}
    return Reply.json({"error": body}, status, headers)


class FakeInstagram(FakePlatform):
    def __init__(self, token: str = "EAAGtest-token-0001", own_id: str = OWN_ID) -> None:
        super().__init__()
        self.token = token
        self.own_id = own_id
        self.accounts: dict[str, dict[str, Any]] = {}  # lower-case username -> IG User
        self.limit = 200  # calls per hour for the token, like the collector's default
        self.regain_minutes = 17  # what the BUC header says once throttled
        self._lock_calls = threading.Lock()
        self.calls = 0
        self._next_id = 17841400000000000

    # -- data ------------------------------------------------------------------------
    def add(self, username: str, followers: int, media: int = 300, *, business: bool = True) -> str:
        self._next_id += 1
        user_id = str(self._next_id)
        self.accounts[username.lower()] = {
            "id": user_id,
            "username": username,
            "name": username.replace(".", " ").title(),
            "followers_count": followers,
            "follows_count": 512,
            "media_count": media,
            "biography": "",
            "_business": business,
        }
        return user_id

    def rename(self, old: str, new: str) -> None:
        account = self.accounts.pop(old.lower())
        account["username"] = new
        self.accounts[new.lower()] = account

    # -- protocol --------------------------------------------------------------------
    def usage_headers(self, regain: int = 0) -> dict[str, str]:
        pct = min(100, self.calls * 100 // max(1, self.limit))
        buc = {
            self.own_id: [
                {
                    "type": "instagram",
                    "call_count": pct,
                    "total_cputime": 1,
                    "total_time": 1,
                    "estimated_time_to_regain_access": regain,
                }
            ]
        }
        app = {"call_count": pct, "total_cputime": 1, "total_time": 1}
        return {"X-Business-Use-Case-Usage": json.dumps(buc), "X-App-Usage": json.dumps(app)}

    def throttled(self) -> Reply:
        return graph_error(
            400,
            self.usage_headers(self.regain_minutes),
            message="(#4) Application request limit reached",
            code=4,
            is_transient=True,
        )

    def route(self, seen: Seen) -> Reply:
        with self._lock_calls:
            self.calls += 1
        bearer = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if (seen.param("access_token") or bearer) != self.token:
            return graph_error(
                400,
                {},
                message="Error validating access token: Session has expired.",
                code=190,
                error_subcode=463,
            )
        if self.calls > self.limit:
            return self.throttled()
        headers = self.usage_headers()
        if seen.path != f"/{VERSION}/{self.own_id}":
            return graph_error(
                400,
                headers,
                message="Unsupported get request. Object does not exist.",
                code=100,
                error_subcode=33,
            )
        match = _DISCOVERY.match(seen.param("fields") or "")
        if not match:
            return graph_error(400, headers, message="(#100) Invalid fields", code=100)
        username, fields = match.group(1), match.group(2).split(",")
        account = self.accounts.get(username.lower())
        if account is None or not account["_business"]:
            return graph_error(
                400,
                headers,
                message="Invalid user id",
                code=110,
                error_subcode=2207013,
                is_transient=False,
                error_user_title="Cannot find User",
                error_user_msg=f"The user with username: {username} cannot be found.",
            )
        found = {f: account[f] for f in fields if f in account and not f.startswith("_")}
        found["id"] = account["id"]
        return Reply.json({"business_discovery": found, "id": self.own_id}, headers=headers)
