"""Reddit subreddit subscribers through the OAuth API.

    POST {auth}/api/v1/access_token   basic auth client id/secret, grant_type=client_credentials
    GET  {base}/r/{sub}/about         bearer token

The application-only token is fetched by `fetch` when there is none or it is about to expire,
and kept until then; a 401 on a data call drops it, so the retry fetches a new one. One
subreddit per request. A private, quarantined or gated subreddit answers 403 with a `reason`,
a banned one 404 with `reason: banned`, and a name that does not exist redirects to the search
page: each is recorded as that target's failure, never as zero. The User-Agent is the shared
client's, which names tracker and its contact as Reddit asks.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
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
    load_object,
    require,
    summarize,
)
from tracker.errors import BadPayload, NotFound, SourceError, TemporaryError
from tracker.quota import Quota
from tracker.timeutil import now

if TYPE_CHECKING:
    import httpx

REQUESTS = "requests"
MINUTE = timedelta(minutes=1)
_SUBREDDIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
_REDIRECTS = (301, 302, 303, 307, 308)


class RedditSettings(SourceSettings):
    base_url: str = "https://oauth.reddit.com"
    auth_url: HttpURL = "https://www.reddit.com"
    client_id_env: str = "REDDIT_CLIENT_ID"
    client_id_file: str | None = None
    client_secret_env: str = "REDDIT_CLIENT_SECRET"
    client_secret_file: str | None = None
    requests_per_minute: int = Field(default=60, ge=1, le=MAX_ALLOWANCE)


def subreddit_of(target: Target) -> str:
    """'r/Heartstopper', '/r/heartstopper/' or 'Heartstopper' -> 'heartstopper'."""
    name = target.name.strip().strip("/")
    for prefix in ("r/", "R/"):
        name = name.removeprefix(prefix)
    return name.lower()


class RedditCollector(Collector):
    name: ClassVar[str] = "reddit"
    settings_model: ClassVar[type[SourceSettings]] = RedditSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"account"})
    description: ClassVar[str] = "Reddit subreddit subscribers via the OAuth API"
    # Reddit counts requests per OAuth client: the client id comes first.
    credentials: ClassVar[tuple[Credential, ...]] = (
        Credential("client_id"),
        Credential("client_secret"),
    )
    handle_prefix: ClassVar[str] = "@"

    settings: RedditSettings

    def __init__(self, settings: SourceSettings, clock: Callable[[], datetime] = now) -> None:
        super().__init__(settings, clock)
        self._token: tuple[str, datetime] | None = None  # bearer, and when to renew it
        self._lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    @property
    def quotas(self) -> Mapping[str, Quota]:
        # The allowance is a setting, so it is read per instance, not fixed on the class.
        return {REQUESTS: Quota(self.settings.requests_per_minute, every=MINUTE)}

    def _credentials(self) -> tuple[str, str] | None:
        client_id, client_secret = self.credential("client_id"), self.credential("client_secret")
        return (client_id, client_secret) if client_id and client_secret else None

    def missing(self) -> str | None:
        # The id and the secret work only as a pair: name both.
        if self._credentials():
            return None
        return "set " + " and ".join(self.need(c.setting) for c in self.credentials)

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        by_name: dict[str, list[Target]] = {}
        requests: list[Request] = []
        for target in targets:
            name = subreddit_of(target)
            if target.kind != "account":
                cause = f"Reddit measures subreddits (as accounts), not {target.kind}s"
                requests.append(Request((target,), "", refusal=cause))
            elif not _SUBREDDIT.match(name):
                cause = f"{target.name!r} is not a subreddit name"
                requests.append(Request((target,), "", refusal=cause))
            else:
                by_name.setdefault(name, []).append(target)
        requests.extend(
            Request(
                targets=tuple(group),
                url=f"{self.settings.base_url}/r/{name}/about",
                budget=REQUESTS,
            )
            for name, group in by_name.items()
        )
        return requests

    async def fetch(self, client: httpx.AsyncClient, request: Request) -> httpx.Response:
        token = await self._bearer(client)
        response = await client.request(
            request.method,
            request.url,
            params=list(request.params),
            headers={**dict(request.headers), "Authorization": f"Bearer {token}"},
            # A name that does not exist redirects to search: error() reads the redirect.
            follow_redirects=False,
        )
        if response.status_code == 401 and self._token and self._token[0] == token:
            self._token = None
        return response

    async def _bearer(self, client: httpx.AsyncClient) -> str:
        """The cached application token, or a new one (one request at a time asks)."""
        async with self._token_lock():
            if self._token and self._token[1] > self.clock():
                return self._token[0]
            credentials = self._credentials()
            if credentials is None:
                raise SourceError(str(self.missing()))
            response = await client.post(
                f"{self.settings.auth_url}/api/v1/access_token",
                auth=credentials,
                data={"grant_type": "client_credentials"},
            )
            token, lifetime = self._token_answer(
                response.status_code, response.headers, response.content
            )
            margin = min(timedelta(minutes=1), lifetime / 2)
            self._token = (token, self.clock() + lifetime - margin)
            return token

    def _token_lock(self) -> asyncio.Lock:
        # An asyncio.Lock belongs to one event loop; each `asyncio.run` gets its own.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock[0] is not loop:
            self._lock = (loop, asyncio.Lock())
        return self._lock[1]

    def _token_answer(
        self, status: int, headers: Mapping[str, str], body: bytes
    ) -> tuple[str, timedelta]:
        s = self.settings
        if status in (400, 401, 403):
            raise SourceError(
                f"Reddit refused the client credentials (HTTP {status}): check "
                f"{s.client_id_env} and {s.client_secret_env}"
            )
        error = super().error(status, headers, body)
        if error is not None:
            error.cause = f"Reddit token request: {error.cause}"
            raise error
        data = load_object(body)
        if data.get("error"):
            raise SourceError(f"Reddit token request refused: {data['error']}")
        token = require(data, "access_token")
        if not isinstance(token, str) or not token:
            raise BadPayload("Reddit token answer: access_token is not a string")
        if str(data.get("token_type", "bearer")).lower() != "bearer":
            raise BadPayload(f"Reddit token answer: token_type {data.get('token_type')!r}")
        lifetime = as_count(data.get("expires_in", 3600), "Reddit token answer: expires_in")
        return token, timedelta(seconds=max(lifetime, 1))

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        if status in _REDIRECTS:
            location = {k.lower(): v for k, v in headers.items()}.get("location", "")
            if "/subreddits/search" in location:
                return NotFound("no such subreddit (Reddit redirected to search)")
            return SourceError(f"Reddit redirected to {location or 'nowhere'}")
        if status == 401:
            return TemporaryError("Reddit refused the bearer token (expired or revoked)")
        reason = _reason(body)
        if status in (403, 404) and reason:
            return NotFound(f"subreddit is {reason}")
        if status == 404:
            return NotFound(f"no such subreddit{summarize(body)}")
        return super().error(status, headers, body)

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        data = load_object(body)
        parsed = Parsed()
        for target in request.targets:
            if data.get("kind") != "t5":
                # Search results or a listing: Reddit did not find the subreddit.
                kind = data.get("kind") or "no kind"
                parsed.failures[target.name] = f"not found: Reddit answered a {kind}, not t5"
                continue
            try:
                parsed.observations.append(_observation(require(data, "data"), target, at))
            except BadPayload as exc:
                parsed.failures[target.name] = exc.cause
        return parsed


def _observation(about: Any, target: Target, at: datetime) -> Observation:
    fullname = require(about, "name")
    if not isinstance(fullname, str) or not fullname.startswith("t5_"):
        raise BadPayload(f"data.name: expected a t5_ id, got {fullname!r:.60}")
    return Observation(
        metric="subscribers",
        key=fullname,
        value=as_count(require(about, "subscribers"), "data.subscribers"),
        at=at,
        subject=target.subject,
        label=str(about.get("display_name") or subreddit_of(target)),
    )


def _reason(body: bytes) -> str:
    """The `reason` of a Reddit error body ('private', 'banned', 'quarantined'...); '' if none."""
    reason = error_json(body).get("reason")
    return reason if isinstance(reason, str) else ""
