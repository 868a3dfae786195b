"""A fake Mastodon instance: account lookup and tag history in the real string format.

One fake plays every instance (the collector's base_url has no `{instance}` in tests), so
accounts are stored by full `user@domain`.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from .server import FakePlatform, Reply, Seen

LIMIT = 300
WINDOW = timedelta(minutes=5)


def _history(today: date, uses: list[int], accounts: list[int]) -> list[dict[str, str]]:
    """Newest day first, each day's unix midnight and counts as strings, like Mastodon."""
    rows = []
    for back, (n_uses, n_accounts) in enumerate(zip(uses, accounts, strict=True)):
        midnight = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(back)
        rows.append(
            {
                "day": str(int(midnight.timestamp())),
                "accounts": str(n_accounts),
                "uses": str(n_uses),
            }
        )
    return rows


class FakeMastodon(FakePlatform):
    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[str, dict[str, Any]] = {}  # "user@domain" -> Account entity
        self.tags: dict[str, dict[str, Any]] = {}  # lower-case name -> Tag entity
        self._count_lock = threading.Lock()
        self._served = 0
        self._next_id = 109_000_000_000_000_000
        # When set, the API is closed to anonymous clients: only this bearer token gets in.
        self.token: str | None = None

    # -- data ------------------------------------------------------------------------
    def add_account(self, acct: str, followers: int, **extra: Any) -> str:
        user, _, domain = acct.lstrip("@").partition("@")
        self._next_id += 1
        account_id = str(self._next_id)
        self.accounts[f"{user}@{domain}".lower()] = {
            "id": account_id,
            "username": user,
            "acct": user,  # the home instance shows its own accounts without a domain
            "display_name": user.title(),
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": "2022-04-22T00:00:00.000Z",
            "note": "<p></p>",
            "url": f"https://{domain}/@{user}",
            "avatar": f"https://{domain}/avatars/original/missing.png",
            "header": f"https://{domain}/headers/original/missing.png",
            "followers_count": followers,
            "following_count": 12,
            "statuses_count": 340,
            "last_status_at": "2024-11-19",
            "emojis": [],
            "fields": [],
            **extra,
        }
        return account_id

    def set_followers(self, acct: str, followers: int) -> None:
        self.accounts[acct.lstrip("@").lower()]["followers_count"] = followers

    def add_tag(
        self,
        name: str,
        uses: list[int],
        accounts: list[int],
        *,
        today: date,
        domain: str = "mastodon.social",
    ) -> None:
        self.tags[name.lower()] = {
            "id": str(len(self.tags) + 1000),
            "name": name,
            "url": f"https://{domain}/tags/{name}",
            "history": _history(today, uses, accounts),
        }

    # -- protocol --------------------------------------------------------------------
    def limit_headers(self, remaining: int | None = None, reset_in: float = 300) -> dict[str, str]:
        with self._count_lock:
            self._served += 1
            left = max(0, LIMIT - self._served) if remaining is None else remaining
        reset = datetime.now(UTC) + timedelta(seconds=reset_in)
        return {
            "X-RateLimit-Limit": str(LIMIT),
            "X-RateLimit-Remaining": str(left),
            # Mastodon writes microseconds and a Z, e.g. 2024-11-20T09:45:00.000000Z
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }

    def too_many(self, reset_in: float = 60) -> Reply:
        headers = self.limit_headers(remaining=0, reset_in=reset_in)
        return Reply.json({"error": "Too many requests"}, 429, headers)

    def route(self, seen: Seen) -> Reply:
        headers = self.limit_headers()
        if self.token is not None:
            sent = seen.headers.get("authorization", "")
            if not sent:
                # What an instance with DISALLOW_UNAUTHENTICATED_API_ACCESS answers.
                error = "This method requires an authenticated user"
                return Reply.json({"error": error}, 401, headers)
            if sent != f"Bearer {self.token}":
                # Mastodon's answer to a bad token, as recorded by Mastodon.py.
                challenge = 'Bearer realm="Doorkeeper", error="invalid_token"'
                headers = {**headers, "WWW-Authenticate": challenge}
                return Reply.json({"error": "The access token is invalid"}, 401, headers)
        not_found = Reply.json({"error": "Record not found"}, 404, headers)
        if seen.path == "/api/v1/accounts/lookup":
            account = self.accounts.get((seen.param("acct") or "").lstrip("@").lower())
            return Reply.json(account, headers=headers) if account else not_found
        prefix = "/api/v1/tags/"
        if seen.path.startswith(prefix):
            tag = self.tags.get(unquote(seen.path[len(prefix) :]).lower())
            return Reply.json(tag, headers=headers) if tag else not_found
        return not_found
