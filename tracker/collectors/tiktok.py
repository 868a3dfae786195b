"""TikTok account counts (Research API) and hashtag totals (the web endpoint).

    POST {base}/v2/research/user/info/?fields=...   body {"username": NAME}, bearer token
    GET  {web}/api/challenge/detail/?challengeName=NAME   cookie msToken

The Research API answers one username per request, 1,000 requests per UTC day, and returns no
stable id (its user info fields are display_name, bio_description, avatar_url, is_verified,
bio_url and the counts). So the stable id is the config's: an account with `id` (TikTok's
numeric user id, as on the web profile) is keyed by it and survives a rename; without one the
key is the username, and a renamed account starts a new series.

Hashtags come from the web endpoint the community TikTokApi library calls. That library (v7,
2026) sends `challengeName` and `msToken` as query parameters from inside a real browser
session, adds its session parameters (aid=1988, app_name=tiktok_web, device_id, ...) and an
`X-Bogus` signature computed by TikTok's own page script. tracker runs no browser: it sends the
name, with the msToken as a cookie (kept out of URLs), and TikTok often answers such a request
with an empty body or a `statusCode` such as 10202/10205 -- recorded as blocked, never as zero.
Each half runs on its own credential and is skipped alone without it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from tracker.bounds import MAX_ALLOWANCE
from tracker.collectors.base import (
    Collector,
    Credential,
    HttpURL,
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
from tracker.errors import BadPayload, NotFound, QuotaExhausted, SourceError, TemporaryError
from tracker.quota import Quota

if TYPE_CHECKING:
    import httpx

RESEARCH = "research"
# The credential of each half; the research token is whose allowance `research` is.
TOKENS = {RESEARCH: "research_token", "web": "ms_token"}
FIELDS = "display_name,follower_count,following_count,likes_count,video_count"
ACCOUNT_METRICS = (
    ("follower_count", "followers"),
    ("likes_count", "likes"),
    ("video_count", "videos"),
)
TAG_METRICS = (("viewCount", "hashtag_views"), ("videoCount", "hashtag_videos"))
_USERNAME = re.compile(r"^[a-z0-9._]{1,24}$")


class TikTokSettings(SourceSettings):
    # The Research API (accounts).
    base_url: str = "https://open.tiktokapis.com"
    # The web site whose challenge endpoint gives hashtag totals.
    web_url: HttpURL = "https://www.tiktok.com"
    research_token_env: str = "TIKTOK_RESEARCH_TOKEN"
    research_token_file: str | None = None
    ms_token_env: str = "TIKTOK_MS_TOKEN"
    ms_token_file: str | None = None
    daily_requests: int = Field(default=1000, ge=1, le=MAX_ALLOWANCE)


class TikTokCollector(Collector):
    name: ClassVar[str] = "tiktok"
    settings_model: ClassVar[type[SourceSettings]] = TikTokSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"account", "hashtag"})
    description: ClassVar[str] = "TikTok accounts (Research API) and hashtag totals (web)"
    credentials: ClassVar[tuple[Credential, ...]] = tuple(Credential(c) for c in TOKENS.values())
    handle_prefix: ClassVar[str] = "@"

    settings: TikTokSettings

    @property
    def quotas(self) -> Mapping[str, Quota]:
        # The allowance is a setting, so it is read per instance, not fixed on the class.
        return {RESEARCH: Quota(self.settings.daily_requests, zone="UTC")}

    def _token(self, half: str) -> str | None:
        return self.credential(TOKENS[half])

    def _need(self, half: str) -> str:
        return self.need(TOKENS[half])

    def missing(self) -> str | None:
        # Each half runs on its own credential: one of them is enough to run.
        if self._token(RESEARCH) or self._token("web"):
            return None
        return f"set {self._need(RESEARCH)} for accounts, or {self._need('web')} for hashtags"

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        users: dict[str, list[Target]] = {}
        tags: dict[str, list[Target]] = {}
        requests: list[Request] = []
        for target in targets:
            if target.kind == "account":
                name = target.name.strip().lstrip("@").lower()
                user_id = target.option("id")
                if user_id and not user_id.isdigit():
                    cause = f"id {user_id!r} is not a TikTok user id (digits only)"
                elif _USERNAME.match(name):
                    users.setdefault(name, []).append(target)
                    continue
                else:
                    cause = f"{target.name!r} is not a TikTok username"
            elif target.kind == "hashtag":
                tags.setdefault(target.name.strip().lstrip("#").lower(), []).append(target)
                continue
            else:
                cause = f"TikTok has no {target.kind} measure"
            requests.append(Request((target,), "", refusal=cause))
        s = self.settings
        research_ok, web_ok = bool(self._token(RESEARCH)), bool(self._token("web"))
        for name, group in users.items():
            if not research_ok:
                cause = f"TikTok accounts need the Research API: set {self._need(RESEARCH)}"
                requests.append(Request(tuple(group), "", refusal=cause))
                continue
            url = f"{s.base_url}/v2/research/user/info/"
            body = {"username": name}
            requests.append(
                Request(tuple(group), url, "POST", (("fields", FIELDS),), body, budget=RESEARCH)
            )
        for tag, group in tags.items():
            if not web_ok:
                cause = f"TikTok hashtags need a web session cookie: set {self._need('web')}"
                requests.append(Request(tuple(group), "", refusal=cause))
                continue
            url = f"{s.web_url}/api/challenge/detail/"
            # msToken goes in by fetch(), as a cookie: kept out of URLs, which get logged.
            requests.append(Request(tuple(group), url, params=(("challengeName", tag),)))
        return requests

    async def fetch(self, client: httpx.AsyncClient, request: Request) -> httpx.Response:
        research = request.budget == RESEARCH
        token = self._token(RESEARCH if research else "web")
        if not token:
            raise SourceError(f"set {self._need(RESEARCH if research else 'web')}")
        auth = ("Authorization", f"Bearer {token}") if research else ("Cookie", f"msToken={token}")
        return await client.request(
            request.method,
            request.url,
            params=list(request.params),
            json=request.json,
            headers=dict([*request.headers, auth]),
        )

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        code, message = _research_error(body)
        if not code or code == "ok":
            return super().error(status, headers, body)
        where = f"TikTok Research API: {code}" + (f": {message}" if message else "")
        if code == "rate_limit_exceeded":
            reset = self.quotas[RESEARCH].window(self.clock())[1]
            daily = f"{self.settings.daily_requests} requests per UTC day"
            return QuotaExhausted(f"{where} ({daily}; resets 00:00 UTC)", reset)
        if code == "access_token_invalid":
            return SourceError(
                "TikTok Research API: access token invalid or expired (client-credentials "
                f"tokens last 2 hours): renew {self.settings.research_token_env}"
            )
        if code in ("invalid_params", "invalid_param"):
            return NotFound(f"{where} (no such public account?)")
        if code in ("internal_error", "timeout") or status >= 500:
            return TemporaryError(where)
        return SourceError(where)

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        if request.budget == RESEARCH:
            return _parse_user(request, body, at)
        return self._parse_tag(request, body, at)

    def _parse_tag(self, request: Request, body: bytes, at: datetime) -> Parsed:
        blocked = f"blocked or empty answer — check {self.settings.ms_token_env}"
        try:
            data = load_json(body)
        except BadPayload as exc:
            raise BadPayload(f"{blocked} ({exc.cause})") from None
        if not isinstance(data, dict):
            raise BadPayload(f"{blocked} (a JSON {type(data).__name__})")
        status = data.get("statusCode", data.get("status_code", 0))
        if status not in (0, None):
            raise BadPayload(f"{blocked} (statusCode {status})")
        info = data.get("challengeInfo")
        challenge = info.get("challenge") if isinstance(info, dict) else None
        if not isinstance(info, dict) or not isinstance(challenge, dict) or not challenge:
            raise BadPayload(f"{blocked} (no challengeInfo.challenge: no such hashtag?)")
        challenge_id = require(challenge, "id")
        if not isinstance(challenge_id, str) or not challenge_id.isdigit():
            raise BadPayload(f"challenge.id: expected a numeric id, got {challenge_id!r:.60}")
        label = "#" + str(challenge.get("title") or request.params[0][1])
        parsed = Parsed()
        for field, metric in TAG_METRICS:
            value, sig = _stat(info, field)
            parsed.observations.extend(
                Observation(metric, challenge_id, value, at, t.subject, label=label, sig=sig)
                for t in request.targets
            )
        return parsed


def _parse_user(request: Request, body: bytes, at: datetime) -> Parsed:
    data = load_json(body)
    if not isinstance(data, dict):
        raise BadPayload(f"expected a JSON object, got {type(data).__name__}")
    user = require(data, "data")
    parsed = Parsed()
    name = str((request.json or {}).get("username", ""))
    for target in request.targets:
        if not isinstance(user, dict) or not user:
            parsed.failures[target.name] = "not found: the Research API sent no user data"
            continue
        try:
            counts = [(m, as_count(require(user, f), f"data.{f}")) for f, m in ACCOUNT_METRICS]
        except BadPayload as exc:
            parsed.failures[target.name] = exc.cause
            continue
        # The Research API returns no id: the config's `id` is the stable key when given.
        key = target.option("id") or name
        parsed.observations.extend(
            Observation(metric, key, value, at, target.subject, label=name)
            for metric, value in counts
        )
    return parsed


def _stat(info: dict[str, Any], field: str) -> tuple[int, int | None]:
    """A challenge count: exact from `statsV2` (strings); `stats` ints may be display-rounded."""
    exact = info.get("statsV2")
    if isinstance(exact, dict) and field in exact:
        return as_count(exact[field], f"challengeInfo.statsV2.{field}"), None
    value = as_count(require(info, "stats", field), f"challengeInfo.stats.{field}")
    # TikTok's `stats` figures are rounded for display (427682 followers arrives as 427700),
    # so trailing zeros are not taken as significant.
    digits = str(value).rstrip("0")
    return value, (len(digits) if value >= 1000 and len(digits) < len(str(value)) else None)


def _research_error(body: bytes) -> tuple[str, str]:
    """`(code, message)` of a Research API answer's `error` object; empty strings otherwise."""
    err = error_json(body, "error")
    return str(err.get("code") or ""), one_line(err.get("message"))
