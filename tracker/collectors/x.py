"""X (Twitter) follower counts and daily hashtag post counts through the X API v2.

Followers: `/2/users/by?usernames=` takes 100 names a request; a target whose `id` option
holds the numeric user id is read through `/2/users?ids=` instead, so it survives a rename
(same key, new label). Names X cannot answer for come back in a top-level `errors` array and
become that target's failure. Hashtags: `/2/tweets/counts/recent` gives buckets for the last
7 days (tracker asks for days; an answer in hours or minutes is summed per UTC day). Only
whole, finished UTC days are kept; an answer with none says so as the target's failure. It is
not on the free tier.
Both endpoints have 15-minute windows per app; a 429 is honoured until `x-rate-limit-reset`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
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
from tracker.errors import BadPayload, QuotaExhausted, SourceError
from tracker.quota import Quota

if TYPE_CHECKING:
    import httpx

MAX_BATCH = 100  # usernames or ids per users lookup
DAY = timedelta(days=1)
WINDOW = timedelta(minutes=15)

_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
# The key of buckets that cross midnight: they complete no day.
_ACROSS = datetime.min.replace(tzinfo=UTC)
_USER_ID = re.compile(r"^[0-9]{1,20}$")


class XSettings(SourceSettings):
    base_url: str = "https://api.x.com"
    bearer_token_env: str = "X_BEARER_TOKEN"
    bearer_token_file: str | None = None
    batch_size: int = Field(default=MAX_BATCH, ge=1, le=MAX_BATCH)
    # Requests per 15-minute window per app, as X's rate-limit table gives them.
    users_per_15min: int = Field(default=300, ge=1, le=MAX_ALLOWANCE)
    counts_per_15min: int = Field(default=300, ge=1, le=MAX_ALLOWANCE)


def username_of(target: Target) -> str:
    return target.name.strip().lstrip("@")


def tag_of(target: Target) -> str:
    return target.name.strip().lstrip("#").lower()


def user_id_of(target: Target) -> str | None:
    value = target.option("id").strip()
    return value if _USER_ID.match(value) else None


class XCollector(Collector):
    name: ClassVar[str] = "x"
    settings_model: ClassVar[type[SourceSettings]] = XSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"account", "hashtag"})
    description: ClassVar[str] = "X followers (users lookup) and daily hashtag post counts"
    credentials: ClassVar[tuple[Credential, ...]] = (Credential("bearer_token"),)
    handle_prefix: ClassVar[str] = "@"

    settings: XSettings

    @property
    def quotas(self) -> Mapping[str, Quota]:
        # The limits are settings, so the budgets are per instance, not per class.
        return {
            "users": Quota(self.settings.users_per_15min, every=WINDOW),
            "counts": Quota(self.settings.counts_per_15min, every=WINDOW),
        }

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        by_id: dict[str, list[Target]] = {}
        by_name: dict[str, list[Target]] = {}
        tags: list[Target] = []
        for target in targets:
            if target.kind == "hashtag":
                tags.append(target)
            elif target.kind == "account":
                user_id = user_id_of(target)
                if user_id:
                    by_id.setdefault(user_id, []).append(target)
                else:
                    by_name.setdefault(username_of(target).lower(), []).append(target)
        size = self.settings.batch_size
        valid = [name for name in by_name if _USERNAME.match(name)]
        ids = list(by_id)
        requests = [
            self._users("usernames", valid[i : i + size], by_name)
            for i in range(0, len(valid), size)
        ]
        # X refuses the whole list for one malformed name, so each of those travels alone.
        malformed = [name for name in by_name if not _USERNAME.match(name)]
        requests += [self._users("usernames", [n], by_name) for n in malformed]
        requests += [self._users("ids", ids[i : i + size], by_id) for i in range(0, len(ids), size)]
        requests += [
            Request(
                targets=(tag,),
                url=f"{self.settings.base_url}/2/tweets/counts/recent",
                params=(("query", f"#{tag_of(tag)}"), ("granularity", "day")),
                budget="counts",
            )
            for tag in tags
        ]
        return requests

    def _users(self, kind: str, keys: list[str], groups: Mapping[str, list[Target]]) -> Request:
        path = "/2/users/by" if kind == "usernames" else "/2/users"
        return Request(
            targets=tuple(t for key in keys for t in groups[key]),
            url=f"{self.settings.base_url}{path}",
            params=((kind, ",".join(keys)), ("user.fields", "public_metrics")),
            budget="users",
        )

    async def fetch(self, client: httpx.AsyncClient, request: Request) -> httpx.Response:
        # The token joins the headers only here, so no Request (or its repr) ever holds it.
        token = self.credential("bearer_token") or ""
        headers = {**dict(request.headers), "Authorization": f"Bearer {token}"}
        return await client.request(
            request.method, request.url, params=list(request.params), headers=headers
        )

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        problem, text = _problem(body)
        tail = f": {text}" if text else ""
        if status == 401:
            return SourceError(f"X refused the bearer token (401 Unauthorized){tail}")
        if status == 402 or (status == 429 and "usage-capped" in str(problem.get("type"))):
            # The plan's monthly cap (or pay-per-use credit) is spent; X sends no reset time.
            return QuotaExhausted(f"X usage cap reached{tail}")
        if status == 403 and _plan_refusal(problem, text):
            return SourceError(
                "X: the API plan of this bearer token does not include this endpoint "
                f"(tweets/counts/recent is not on the free tier){tail}"
            )
        if status in (400, 403):
            return SourceError(f"X refused the request ({status}){tail}")
        return super().error(status, headers, body)

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        data = load_json(body)
        if not isinstance(data, dict):
            raise BadPayload(f"expected a JSON object, got {type(data).__name__}")
        if request.url.endswith("/2/tweets/counts/recent"):
            return _parse_counts(data, request.targets, at)
        return _parse_users(data, request, at)


def _parse_users(data: dict[str, Any], request: Request, at: datetime) -> Parsed:
    users = data.get("data", [])
    errors = data.get("errors", [])
    if "data" not in data and "errors" not in data:
        raise BadPayload("neither data nor errors in the users answer")
    if not isinstance(users, list) or not isinstance(errors, list):
        raise BadPayload("data and errors must be lists")
    by_ids = request.url.endswith("/2/users")
    found: dict[str, dict[str, Any]] = {}
    for user in users:
        if not isinstance(user, dict):
            raise BadPayload(f"data[]: expected an object, got {user!r:.60}")
        found[str(user.get("id") if by_ids else user.get("username", "")).lower()] = user
    refused = {
        str(e["value"]).lower(): _detail(e) for e in errors if isinstance(e, dict) and "value" in e
    }
    parsed = Parsed()
    for target in request.targets:
        wanted = (user_id_of(target) if by_ids else None) or username_of(target).lower()
        user = found.get(wanted)
        if user is None:
            parsed.failures[target.name] = refused.get(wanted) or "not found: X left the user out"
            continue
        try:
            parsed.observations.append(_follower_observation(user, target, at))
        except BadPayload as exc:
            parsed.failures[target.name] = exc.cause
    return parsed


def _follower_observation(user: dict[str, Any], target: Target, at: datetime) -> Observation:
    user_id = require(user, "id")
    if not isinstance(user_id, str) or not _USER_ID.match(user_id):
        raise BadPayload(f"id: expected a numeric string id, got {user_id!r:.60}")
    metrics = user.get("public_metrics")
    followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
    if type(followers) is not int or followers < 0:  # not the plain count X sends: say why
        followers = as_count(require(user, "public_metrics", "followers_count"), "followers_count")
    label = str(user.get("username") or "")
    return Observation("followers", user_id, followers, at, target.subject, label)


def _parse_counts(data: dict[str, Any], targets: Sequence[Target], at: datetime) -> Parsed:
    buckets = require(data, "data")
    if not isinstance(buckets, list):
        raise BadPayload(f"data: expected a list, got {type(buckets).__name__}")
    days, why = _whole_days(buckets, at)
    parsed = Parsed()
    for target in targets:
        tag = tag_of(target)
        if not days:
            parsed.failures[target.name] = why
        for day, count in days:
            parsed.observations.append(
                Observation("hashtag_posts", tag, count, day, target.subject, f"#{tag}", period=DAY)
            )
    return parsed


def _whole_days(buckets: list[Any], at: datetime) -> tuple[list[tuple[datetime, int]], str]:
    """(UTC day, posts) for each finished day the buckets cover whole, and why none, if none.

    Buckets may be days, hours or minutes. The first starts 7 days back mid-hour and the last
    ends at the request time: those days are partial, and a day not yet over is still growing.
    """
    parsed = []
    for i, bucket in enumerate(buckets):
        start, end = (_time(require(bucket, f), f"data[{i}].{f}") for f in ("start", "end"))
        count = as_count(require(bucket, "tweet_count"), f"data[{i}].tweet_count")
        parsed.append((start, end, count))
    if not parsed:
        return [], "no buckets in the answer: X counted nothing for the last 7 days"
    spans: dict[datetime, list[tuple[datetime, datetime, int]]] = {}
    for start, end, count in parsed:
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        # A bucket across midnight belongs to no single day: both days stay incomplete.
        spans.setdefault(day if end <= day + DAY else _ACROSS, []).append((start, end, count))
    whole = []
    for day, parts in sorted(spans.items()):
        parts.sort()
        edges = [day, *(end for _, end, _ in parts)]
        if [s for s, _, _ in parts] == edges[:-1] and edges[-1] == day + DAY <= at:
            whole.append((day, sum(count for _, _, count in parts)))
    width = max(end - start for start, end, _ in parsed)
    why = (
        f"no whole finished UTC day in {len(parsed)} bucket(s) of up to {width} from "
        f"{parsed[0][0]:%Y-%m-%d %H:%M} to {parsed[-1][1]:%Y-%m-%d %H:%M} UTC: nothing to store"
    )
    return whole, "" if whole else why


def _time(value: Any, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadPayload(f"{where}: expected an ISO time, got {value!r:.40}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _problem(body: bytes) -> tuple[dict[str, Any], str]:
    """An X problem body (v2 `{title, detail, ...}` or v1.1 `{errors: [...]}`) and its text."""
    problem = error_json(body)
    return problem, one_line(_detail(problem), 200)


def _detail(problem: Mapping[str, Any]) -> str:
    """The most specific message a problem (or one entry of its `errors`) carries."""
    for entry in problem.get("errors") or []:
        if isinstance(entry, dict) and entry.get("message"):
            return str(entry["message"])
    return str(problem.get("detail") or problem.get("title") or problem.get("reason") or "")


def _plan_refusal(problem: Mapping[str, Any], text: str) -> bool:
    codes = {e.get("code") for e in problem.get("errors") or [] if isinstance(e, dict)}
    words = ("access level", "subset of", "attached to a Project")
    return (
        problem.get("reason") == "client-not-enrolled"
        or 453 in codes
        or any(w in text for w in words)
    )
