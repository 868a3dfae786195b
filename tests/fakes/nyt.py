"""A fake NYT Books API: current and dated lists, the Apigee gateway's key and rate answers."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from typing import Any

from .server import FakePlatform, Reply, Seen

COPYRIGHT = "Copyright (c) 2022 The New York Times Company.  All Rights Reserved."
_LIST = re.compile(r"^/svc/books/v3/lists/(current|\d{4}-\d{2}-\d{2})/([a-z0-9-]+)\.json$")


def fault(status: int, faultstring: str, errorcode: str) -> Reply:
    """The Apigee gateway's error body, as api.nytimes.com sends it."""
    body = {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}
    return Reply.json(body, status)


def invalid_key() -> Reply:
    return fault(401, "Invalid ApiKey", "oauth.v2.InvalidApiKey")


def too_many(identifier: str = "_default") -> Reply:
    return fault(
        429,
        f"Rate limit quota violation. Quota limit  exceeded. Identifier : {identifier}",
        "policies.ratelimit.QuotaViolation",
    )


class FakeNYT(FakePlatform):
    """`lists[name]` = the `results` object of that list; keys in `keys` are accepted."""

    def __init__(self, keys: tuple[str, ...] = ("test-nyt-key",), per_minute: int = 5) -> None:
        super().__init__()
        self.keys = set(keys)
        self.per_minute = per_minute
        self.lists: dict[str, dict[str, Any]] = {}
        self.times: list[float] = []  # time.monotonic() of every list request
        self._recent: deque[float] = deque()
        self._count_lock = threading.Lock()

    # -- data ------------------------------------------------------------------------
    def add_list(
        self,
        name: str,
        books: list[dict[str, Any]],
        *,
        bestsellers_date: str = "2022-05-21",
        published_date: str = "2022-06-05",
        updated: str = "WEEKLY",
    ) -> None:
        self.lists[name] = {
            "list_name": name.replace("-", " ").title(),
            "list_name_encoded": name,
            "bestsellers_date": bestsellers_date,
            "published_date": published_date,
            "published_date_description": "latest",
            "next_published_date": "",
            "previous_published_date": "2022-05-29",
            "display_name": name.replace("-", " ").title(),
            "normal_list_ends_at": 10,
            "updated": updated,
            "books": books,
            "corrections": [],
        }

    @staticmethod
    def book(rank: int, title: str, isbn13: str, weeks: int = 1, **extra: Any) -> dict[str, Any]:
        return {
            "rank": rank,
            "rank_last_week": 0,
            "weeks_on_list": weeks,
            "asterisk": 0,
            "dagger": 0,
            "primary_isbn10": isbn13[3:],
            "primary_isbn13": isbn13,
            "publisher": "Example House",
            "description": "",
            "price": "0.00",
            "title": title,
            "author": "Test Author",
            "contributor": "by Test Author",
            "contributor_note": "",
            "isbns": [{"isbn10": isbn13[3:], "isbn13": isbn13}],
            **extra,
        }

    # -- protocol --------------------------------------------------------------------
    def _over_limit(self) -> bool:
        now = time.monotonic()
        with self._count_lock:
            self.times.append(now)
            while self._recent and now - self._recent[0] >= 60:
                self._recent.popleft()
            self._recent.append(now)
            return len(self._recent) > self.per_minute

    def route(self, seen: Seen) -> Reply:
        key = seen.param("api-key")
        if key is None:
            return fault(
                401,
                "Failed to resolve API Key variable request.queryparam.api-key",
                "steps.oauth.v2.FailedToResolveAPIKey",
            )
        if key not in self.keys:
            return invalid_key()
        match = _LIST.match(seen.path)
        if match is None:
            return Reply(404, {"Content-Type": "text/html"}, b"<html><body>Not Found</body></html>")
        if self._over_limit():
            return too_many()
        results = self.lists.get(match.group(2))
        if results is None:
            body = {
                "status": "ERROR",
                "copyright": COPYRIGHT,
                "errors": ["No list found for list name and/or date provided."],
                "results": [],
            }
            return Reply.json(body, 404)
        if match.group(1) != "current":
            results = {**results, "published_date_description": ""}
        body = {
            "status": "OK",
            "copyright": COPYRIGHT,
            "num_results": len(results["books"]),
            "last_modified": "2022-05-25T22:21:05-04:00",
            "results": results,
        }
        return Reply.json(body)
