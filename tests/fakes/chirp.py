"""A fake of Chirp, the made-up platform of the plugin test (tests/plugins/chirp/).

    GET /v1/users?names=a,b                        current follower counts, 10 names at most
    GET /v1/users/{name}/history?from=D&to=D       daily follower counts, 92 days at most

Both want `Authorization: Bearer <token>`; a wrong one answers 401 with an error object.
A user's followers on a day are `followers(day)`; today's count is today's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tests.fakes.server import FakePlatform, Reply, Seen

TOKEN = "chirp-test-token-1234"
ORIGIN = date(2020, 1, 1)
MAX_NAMES = 10
MAX_DAYS = 92


def followers(day: date, base: int = 1000) -> int:
    """The fake's count for a day: `base` on 2020-01-01, ten more each day."""
    return base + 10 * (day - ORIGIN).days


class FakeChirp(FakePlatform):
    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, tuple[str, int]] = {}  # name -> (id, base)

    def add(self, name: str, user_id: str, base: int = 1000) -> None:
        self.users[name] = (user_id, base)

    def route(self, seen: Seen) -> Reply:
        if seen.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply.json({"error": {"code": "bad_token", "message": "token refused"}}, 401)
        parts = seen.path.strip("/").split("/")
        if parts == ["v1", "users"]:
            names = (seen.param("names") or "").split(",")
            if len(names) > MAX_NAMES:
                return Reply.json({"error": {"code": "too_many", "message": "10 at most"}}, 400)
            today = datetime.now(UTC).date()
            return Reply.json(
                {
                    "users": [
                        {"id": uid, "name": name, "followers": followers(today, base)}
                        for name in names
                        if name in self.users
                        for uid, base in [self.users[name]]
                    ]
                }
            )
        if len(parts) == 4 and parts[:2] == ["v1", "users"] and parts[3] == "history":
            if parts[2] not in self.users:
                return Reply.json({"error": {"code": "no_user", "message": "no such user"}}, 404)
            uid, base = self.users[parts[2]]
            first = date.fromisoformat(seen.param("from") or "")
            last = date.fromisoformat(seen.param("to") or "")
            if (last - first).days >= MAX_DAYS:
                return Reply.json({"error": {"code": "range", "message": "92 days at most"}}, 400)
            days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
            return Reply.json(
                {
                    "user": {"id": uid, "name": parts[2]},
                    "days": [{"day": d.isoformat(), "followers": followers(d, base)} for d in days],
                }
            )
        return Reply.json({"error": {"code": "no_route", "message": seen.path}}, 404)
