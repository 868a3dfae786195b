"""Instagram followers and post counts through the Graph API's business discovery.

    GET {base}/{version}/{your IG user id}?fields=business_discovery.username(NAME){...}

Business discovery reads another account's public counts through your own Instagram business
or creator account, one username per request. Only business and creator accounts resolve: a
personal account answers "Invalid user id" (code 110, subcode 2207013), recorded as not found.
Instagram has no hashtag counts at all (a hashtag node carries only an id and a name), so this
collector measures accounts only. The token travels in the Authorization header, which the
Graph API accepts in place of the `access_token` query parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
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
from tracker.errors import BadPayload, NotFound, QuotaExhausted, SourceError, TemporaryError
from tracker.quota import Quota

if TYPE_CHECKING:
    import httpx

CALLS = "calls"
HOUR = timedelta(hours=1)
FIELDS = "followers_count,media_count,id,username"
METRICS = (("followers_count", "followers"), ("media_count", "posts"))
# Throttling: app (4), user (17), page (32), API-specific (613), Instagram account (80002).
_THROTTLED = {4, 17, 32, 613, 80002}
_NOT_BUSINESS = 2207013
_EXPIRED = 190
_USERNAME = re.compile(r"^[a-z0-9._]{1,30}$")
NO_HASHTAGS = (
    "Instagram exposes no post or view count for a hashtag (a hashtag node has only id and name)"
)


class InstagramSettings(SourceSettings):
    base_url: str = "https://graph.facebook.com"
    api_version: str = Field(default="v25.0", pattern=r"^v\d+\.\d+$")
    access_token_env: str = "INSTAGRAM_ACCESS_TOKEN"
    access_token_file: str | None = None
    # Your own business or creator account, through which every lookup is made.
    ig_user_id_env: str = "INSTAGRAM_USER_ID"
    ig_user_id_file: str | None = None
    calls_per_hour: int = Field(default=200, ge=1, le=MAX_ALLOWANCE)


def username_of(target: Target) -> str:
    return target.name.strip().lstrip("@").lower()


class InstagramCollector(Collector):
    name: ClassVar[str] = "instagram"
    settings_model: ClassVar[type[SourceSettings]] = InstagramSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"account"})
    description: ClassVar[str] = "Instagram followers and posts via Graph API business discovery"
    # The token is whose allowance `calls` is; the user id is the account asking.
    credentials: ClassVar[tuple[Credential, ...]] = (
        Credential("access_token"),
        Credential("ig_user_id"),
    )
    handle_prefix: ClassVar[str] = "@"

    settings: InstagramSettings

    @property
    def quotas(self) -> Mapping[str, Quota]:
        # The allowance is a setting, so it is read per instance, not fixed on the class.
        return {CALLS: Quota(self.settings.calls_per_hour, every=HOUR)}

    @classmethod
    def refusal(cls, kind: str) -> str | None:
        return NO_HASHTAGS if kind == "hashtag" else super().refusal(kind)

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        user_id, why = self.credential("ig_user_id"), self.missing()
        by_name: dict[str, list[Target]] = {}
        requests: list[Request] = []
        for target in targets:
            name = username_of(target)
            if target.kind != "account":
                requests.append(Request((target,), "", refusal=NO_HASHTAGS))
            elif not _USERNAME.match(name):
                cause = f"{target.name!r} is not an Instagram username"
                requests.append(Request((target,), "", refusal=cause))
            else:
                by_name.setdefault(name, []).append(target)
        for name, group in by_name.items():
            if why:
                requests.append(Request(tuple(group), "", refusal=why))
                continue
            requests.append(
                Request(
                    targets=tuple(group),
                    url=f"{self.settings.base_url}/{self.settings.api_version}/{user_id}",
                    params=(("fields", f"business_discovery.username({name}){{{FIELDS}}}"),),
                    budget=CALLS,
                )
            )
        return requests

    async def fetch(self, client: httpx.AsyncClient, request: Request) -> httpx.Response:
        token = self.credential("access_token")
        if not token:
            raise SourceError(str(self.missing()))
        headers = {**dict(request.headers), "Authorization": f"Bearer {token}"}
        return await client.request(
            request.method, request.url, params=list(request.params), headers=headers
        )

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        err = error_json(body, "error")
        if not err:
            return super().error(status, headers, body)
        code, subcode = _int(err.get("code")), _int(err.get("error_subcode"))
        message = one_line(err.get("message"))
        if code in _THROTTLED:
            return QuotaExhausted(
                f"Instagram throttled the token (code {code}): {message}", self._reset_at(headers)
            )
        if code == _EXPIRED:
            # The message may quote the token's details: never repeat it.
            return SourceError(f"Instagram: access token invalid or expired (code {code})")
        if subcode == _NOT_BUSINESS or code == 110 or "invalid user id" in message.lower():
            detail = str(err.get("error_user_msg") or message)
            return NotFound(
                "not found: only Instagram business or creator accounts resolve through "
                f"business discovery ({detail})"
            )
        if err.get("is_transient") is True or code in (1, 2):
            return TemporaryError(f"Instagram: temporary error (code {code}): {message}")
        return SourceError(f"Instagram refused the request (code {code}): {message}")

    def _reset_at(self, headers: Mapping[str, str]) -> datetime:
        """When the token may call again: Meta's estimate in minutes, else an hour."""
        lowered = {k.lower(): v for k, v in headers.items()}
        minutes = max(
            _regain_minutes(lowered.get("x-business-use-case-usage", "")),
            _regain_minutes(lowered.get("x-app-usage", "")),
        )
        return self.clock() + (timedelta(minutes=minutes) if minutes > 0 else HOUR)

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        data = load_json(body)
        if not isinstance(data, dict):
            raise BadPayload(f"expected a JSON object, got {type(data).__name__}")
        found = data.get("business_discovery")
        parsed = Parsed()
        for target in request.targets:
            if not isinstance(found, dict):
                parsed.failures[target.name] = "not found: no business_discovery in the answer"
                continue
            try:
                observations, errors = _observations(found, target, at)
            except BadPayload as exc:
                parsed.failures[target.name] = exc.cause
                continue
            parsed.observations.extend(observations)
            if errors:
                # The fields that came are kept; the one that did not is said, never a zero.
                parsed.failures[target.name] = "; ".join(errors)
        return parsed


def _observations(
    found: dict[str, Any], target: Target, at: datetime
) -> tuple[list[Observation], list[str]]:
    """The account's values, and a cause per metric that could not be read."""
    user_id = require(found, "id")
    if not isinstance(user_id, str) or not user_id.isdigit():
        raise BadPayload(f"business_discovery.id: expected a numeric id, got {user_id!r:.60}")
    label = str(found.get("username") or username_of(target))
    observations: list[Observation] = []
    errors: list[str] = []
    for field, metric in METRICS:
        try:
            if field not in found:
                raise BadPayload(f"missing field business_discovery.{field}")
            value = as_count(found[field], f"business_discovery.{field}")
        except BadPayload as exc:
            errors.append(f"{metric}: {exc.cause}")
            continue
        observations.append(Observation(metric, user_id, value, at, target.subject, label))
    return observations, errors


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _regain_minutes(header: str) -> float:
    """The largest `estimated_time_to_regain_access` in a usage header (BUC or app shape)."""
    try:
        data = json.loads(header) if header else None
    except ValueError:
        return 0.0
    entries: list[Any] = [data]
    if isinstance(data, dict):
        for value in data.values():
            entries.extend(value if isinstance(value, list) else [value])
    minutes = [
        entry.get("estimated_time_to_regain_access") for entry in entries if isinstance(entry, dict)
    ]
    return float(max((m for m in minutes if isinstance(m, int | float)), default=0))
