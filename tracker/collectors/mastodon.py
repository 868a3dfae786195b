"""Mastodon follower counts and hashtag activity through the public REST API.

Accounts are looked up on their home instance (`/api/v1/accounts/lookup`), whose count is
authoritative; another instance only knows a cached copy. Hashtags have no global total:
each instance in `tag_instances` reports its own 7-day history (`/api/v1/tags/:name`), so
every series is keyed by instance.

Both endpoints are public on most instances. Some close their API to anonymous clients
(`DISALLOW_UNAUTHENTICATED_API_ACCESS`) and answer 401; the account lookup documents a user
token for that. An optional token (`MASTODON_ACCESS_TOKEN` or `access_token_file`) goes only to
`token_instance`, the instance that issued it, never to another host.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from pydantic import Field, field_validator

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
    require,
    summarize,
)
from tracker.errors import BadPayload, ConfigError, NotFound, SourceError

if TYPE_CHECKING:
    import httpx

DAY = timedelta(days=1)
_WRITTEN = "a Mastodon account is written user@domain, e.g. alice@mastodon.social"
# Glitch-soc and other forks send -1 when the owner hides the count; it is not a count.
_HIDDEN = -1


class MastodonSettings(SourceSettings):
    # `{instance}` is replaced per request; without it every request goes to base_url as is.
    base_url: str = "https://{instance}"
    # One account per request: 8 in flight keeps a round near the ideal (benchmarks/batching.py).
    concurrency: int = Field(default=8, ge=1, le=64)
    # Each is one request per hashtag per round: a hundred is already a crawl.
    tag_instances: list[str] = Field(
        default_factory=lambda: ["mastodon.social"], min_length=1, max_length=100
    )
    # Optional: a user access token, for instances that refuse anonymous API calls. It is sent
    # only to `token_instance` (default: the first of tag_instances), the instance it is for.
    access_token_env: str = "MASTODON_ACCESS_TOKEN"
    access_token_file: str | None = None
    token_instance: str = ""

    @field_validator("tag_instances")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        return [_host(host) for host in value]

    @field_validator("token_instance")
    @classmethod
    def _token_host(cls, value: str) -> str:
        return _host(value) if value.strip() else ""


def _host(text: str) -> str:
    host = text.strip().lower()
    if not host or "/" in host or "@" in host:
        raise ValueError(f"{host!r} is not an instance host name like mastodon.social")
    return host


def split_acct(name: str) -> tuple[str, str]:
    """'@user@domain' or 'user@domain' -> ('user', 'domain'); ValueError otherwise."""
    user, _, domain = name.strip().lstrip("@").partition("@")
    if not user or not domain or "@" in domain or "/" in domain:
        raise ValueError(f"{name!r} is not a Mastodon account like user@mastodon.social")
    return user, domain.lower()


class MastodonCollector(Collector):
    name: ClassVar[str] = "mastodon"
    settings_model: ClassVar[type[SourceSettings]] = MastodonSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"account", "hashtag"})
    description: ClassVar[str] = "Mastodon followers and per-instance hashtag history"
    # `tracker hashtags add` without --platform means Mastodon: it needs no credentials.
    default_for: ClassVar[frozenset[str]] = frozenset({"hashtag"})
    # A user token only some instances need: used when set, never missing.
    credentials: ClassVar[tuple[Credential, ...]] = (Credential("access_token", optional=True),)

    settings: MastodonSettings

    @classmethod
    def normalize_handle(cls, handle: str) -> str:
        """'@Bob@Mastodon.Social' -> 'Bob@mastodon.social': the '@' between is the address."""
        if any(c.isspace() for c in handle.strip()):
            raise ValueError(_WRITTEN)
        try:
            user, domain = split_acct(handle)
        except ValueError:
            raise ValueError(_WRITTEN) from None
        return f"{user}@{domain}"

    def base(self, instance: str) -> str:
        return self.settings.base_url.replace("{instance}", instance)

    def _token(self) -> str | None:
        return self.credential("access_token")

    def _token_instance(self) -> str:
        return self.settings.token_instance or self.settings.tag_instances[0]

    async def fetch(self, client: httpx.AsyncClient, request: Request) -> httpx.Response:
        token = self._token()
        # The instance a request goes to is the one its target was tagged with in plan().
        instance = request.targets[0].option("instance") if request.targets else ""
        if not token or instance != self._token_instance():
            return await super().fetch(client, request)
        return await client.request(
            request.method,
            request.url,
            params=list(request.params) or None,
            headers={**dict(request.headers), "Authorization": f"Bearer {token}"},
        )

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        requests: list[Request] = []
        for target in targets:
            if target.kind == "account":
                requests.append(self._account_request(target))
            elif target.kind == "hashtag":
                name = target.name.lstrip("#")
                for instance in self.settings.tag_instances:
                    requests.append(
                        Request(
                            targets=(_on(target, instance),),
                            url=f"{self.base(instance)}/api/v1/tags/{quote(name, safe='')}",
                        )
                    )
        return requests

    def _account_request(self, target: Target) -> Request:
        try:
            user, domain = split_acct(target.name)
        except ValueError as exc:
            raise ConfigError("sources.mastodon", target.name, str(exc)) from None
        # An account whose domain only delegates WebFinger lives on another host; the
        # target's `instance` option names it.
        instance = target.option("instance") or domain
        return Request(
            targets=(_on(target, instance),),
            url=f"{self.base(instance)}/api/v1/accounts/lookup",
            params=(("acct", f"{user}@{domain}"),),
        )

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        message = _error_message(body)
        if status == 404 and message:
            return NotFound(f"Mastodon: {message}")
        if status == 410:
            return NotFound(f"Mastodon: account gone{': ' + message if message else ''}")
        if status == 401:
            return SourceError(self._unauthorized(message or f"HTTP 401{summarize(body)}"))
        if status == 403 and message:
            return SourceError(f"Mastodon instance refused access: {message}")
        return super().error(status, headers, body)

    def _unauthorized(self, message: str) -> str:
        need, where = self.need("access_token"), self._token_instance()
        if self._token():
            return (
                f"Mastodon answered 401 ({message}): the token in {need} is invalid or "
                f"revoked, or this instance is not {where}, the one it is sent to "
                "(sources.mastodon.token_instance)"
            )
        return (
            f"Mastodon answered 401 ({message}): this instance refuses anonymous API calls; "
            f"set {need} to a user token of it and sources.mastodon.token_instance to its host"
        )

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        data = load_json(body)
        if not isinstance(data, dict):
            raise BadPayload(f"expected a JSON object, got {type(data).__name__}")
        parsed = Parsed()
        for target in request.targets:
            if target.kind == "account":
                instance = target.option("instance") or split_acct(target.name)[1]
                _parse_account(data, target, instance, at, parsed)
            else:
                instance = target.option("instance") or self.settings.tag_instances[0]
                _parse_tag(data, target, instance, parsed, at)
        return parsed


def _on(target: Target, instance: str) -> Target:
    """The target tagged with the instance asked, so a pure parse can key its series."""
    options = tuple(kv for kv in target.options if kv[0] != "instance")
    return dataclasses.replace(target, options=(*options, ("instance", instance)))


def _parse_account(
    data: dict[str, Any], target: Target, instance: str, at: datetime, parsed: Parsed
) -> None:
    account_id = require(data, "id")
    if not isinstance(account_id, str | int) or isinstance(account_id, bool):
        raise BadPayload(f"id: expected a string id, got {account_id!r:.60}")
    if data.get("suspended") is True:
        parsed.failures[target.name] = "suspended on its instance"
        return
    raw = require(data, "followers_count")
    if raw == _HIDDEN:
        parsed.failures[target.name] = "hidden: the owner hides the follower count"
        return
    user, domain = split_acct(target.name)
    parsed.observations.append(
        Observation(
            metric="followers",
            key=f"{instance}:{account_id}",
            value=as_count(raw, "followers_count"),
            at=at,
            subject=target.subject,
            label=f"{user}@{domain}",
        )
    )


def _parse_tag(
    data: dict[str, Any], target: Target, instance: str, parsed: Parsed, at: datetime
) -> None:
    history = require(data, "history")
    if not isinstance(history, list):
        raise BadPayload(f"history: expected a list, got {type(history).__name__}")
    if not history:
        parsed.failures[target.name] = f"empty history from {instance}"
        return
    tag = target.name.lstrip("#")
    for i, entry in enumerate(history):
        day = datetime.fromtimestamp(as_count(require(entry, "day"), f"history[{i}].day"), UTC)
        if day + DAY > at:
            # Today's count is still growing, and a stored point never changes: wait for it.
            continue
        for field, metric in (("uses", "hashtag_uses"), ("accounts", "hashtag_accounts")):
            parsed.observations.append(
                Observation(
                    metric=metric,
                    key=f"{instance}:{tag}",
                    value=as_count(require(entry, field), f"history[{i}].{field}"),
                    at=day,
                    subject=target.subject,
                    label=f"#{tag}",
                    labels={"instance": instance},
                    period=DAY,
                )
            )


def _error_message(body: bytes) -> str:
    """The `error` string of a Mastodon error body; '' when the body is not one."""
    return str(error_json(body).get("error") or "")
