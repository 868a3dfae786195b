"""The collector interface.

A collector turns targets (accounts, hashtags, charts, pages) into observations in three steps:

    plan(targets)            pure: group targets into as few requests as the platform allows
    fetch(client, request)   network I/O through the shared httpx client; no retries here
    error(status, headers, body) -> SourceError | None
                             pure: recognise the platform's error answers
    parse(request, body, at) pure: payload bytes -> observations + per-target failures

Retries, rate limits, storage and bookkeeping belong to the runner (`tracker.round`), so a
collector stays small and its `parse` can be tested on recorded payloads alone.

Everything tracker needs to know about a platform lives on its collector, as hooks with
defaults, so a new platform is one module plus its entry point:

    handle_prefix, normalize_handle(handle)   how the config writes an account handle
    refusal(kind)                             which target kinds it refuses, and why
    default_for                               the kinds an entry that names no source means
    aliases, answers(alias, key, labels)      other names claims may give the source
    keeps_history(), history_start(launch),   how `tracker backfill` reads its past
    history(targets, since, until)
    credentials                               its secrets: missing() and credential_id() follow

The class-level hooks need neither settings nor credentials: the editor and config
validation call them on the class.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

# The domain types live in tracker.core; a plugin imports everything it needs from here.
from tracker.core import (
    HttpURL,
    Observation,
    Parsed,
    Request,
    SourceSettings,
    Target,
    http_url,
    normalize_tag,
    parse_amount,
)
from tracker.errors import BadPayload, NotFound, RateLimited, SourceError, TemporaryError
from tracker.limits import wait_seconds
from tracker.quota import Quota
from tracker.secrets import fingerprint, redact, secret
from tracker.timeutil import now

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Collector",
    "Credential",
    "HistoryChunk",
    "HttpURL",
    "Observation",
    "Parsed",
    "Request",
    "SourceSettings",
    "Target",
    "as_count",
    "error_json",
    "http_error",
    "http_url",
    "load_json",
    "load_object",
    "normalize_tag",
    "one_line",
    "parse_amount",
    "require",
    "summarize",
]


@dataclass(frozen=True, slots=True)
class Credential:
    """A secret a collector reads: from the environment variable its settings name in
    `<setting>_env`, else from the file in `<setting>_file` (see tracker.secrets).

    A collector lists them in `credentials`; the first is the one quota budgets are kept
    per (`credential_id`). The registry refuses a plugin whose settings lack either field.
    """

    setting: str  # "api_key" -> settings.api_key_env, settings.api_key_file
    # Used when set, never asked for: `missing()` does not name it (e.g. a token that
    # raises a public API's limits).
    optional: bool = False

    @property
    def fields(self) -> tuple[str, str]:
        return f"{self.setting}_env", f"{self.setting}_file"


@dataclass(frozen=True, slots=True)
class HistoryChunk:
    """One request of a backfill (`Collector.history`) and what it covers."""

    label: str  # shown in progress and failures, e.g. "Kit_Connor 2022-01-01..2022-12-31"
    request: Request
    # For skipping on resume: the (metric, key) series and the days that make it complete.
    series: tuple[str, str] | None = None
    days: tuple[date, date] | None = None
    # Keep only values of periods that end after this day (for answers that hold everything).
    since: date | None = None


class Collector(ABC):
    """Base of every collector; subclasses set `name`, `settings_model`, `kinds`."""

    name: ClassVar[str]
    settings_model: ClassVar[type[SourceSettings]]
    # The target kinds this collector measures, e.g. frozenset({"account", "hashtag"}).
    kinds: ClassVar[frozenset[str]]
    # Shown in docs, `tracker status` and the report's sources.
    description: ClassVar[str] = ""
    # The secrets it needs; `missing()` and `credential_id()` are derived from them.
    credentials: ClassVar[tuple[Credential, ...]] = ()
    # A character handles are written with that is not part of the name ("@").
    handle_prefix: ClassVar[str] = ""
    # Target kinds this source takes when a config entry or a command names no source.
    default_for: ClassVar[frozenset[str]] = frozenset()
    # Other names claims and baselines may give this source (a publisher it reads).
    aliases: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, settings: SourceSettings, clock: Callable[[], datetime] = now) -> None:
        self.settings = settings
        # plan() and error() may read the clock (date windows, reset times); parse() never
        # does. Tests pass a fixed one.
        self.clock = clock

    # -- platform hooks, on the class: no settings or credentials needed ------------------
    @classmethod
    def normalize_handle(cls, handle: str) -> str:
        """The handle as the config keeps it; ValueError with the reason when it is none."""
        text = handle.strip()
        if cls.handle_prefix:
            text = text.removeprefix(cls.handle_prefix)
        if not text or any(c.isspace() for c in text):
            raise ValueError("it must be one word, not empty")
        return text

    @classmethod
    def refusal(cls, kind: str) -> str | None:
        """Why this platform cannot measure targets of `kind`; None when it can."""
        if kind in cls.kinds:
            return None
        return f"{cls.name} measures {', '.join(sorted(cls.kinds))} only, not {kind}s"

    @classmethod
    def answers(cls, alias: str, key: str, labels: Mapping[str, str]) -> bool:
        """Whether a series of this source (`key`, `labels`) answers a claim that names the
        source `alias` (one of `aliases`): a generic reader holds other publishers' series."""
        return True

    @classmethod
    def keeps_history(cls) -> bool:
        """Whether `tracker backfill` can read this source's past (it overrides `history`)."""
        return cls.history is not Collector.history

    # -- history, for `tracker backfill` --------------------------------------------------
    def history_start(self, launch: date | None) -> date | None:
        """Where a backfill starts when none is given (`launch`: the campaign's, if any);
        None: everything the source keeps. ValueError with the reason when it needs a date."""
        return None

    def history(
        self, targets: Sequence[Target], since: date | None, until: date
    ) -> list[HistoryChunk]:
        """The requests that read the targets' past from `since` to `until` (inclusive).

        Sent like a round's requests (retries, quota budgets) and parsed by `parse`. The
        default: the source keeps no history tracker can fetch.
        """
        raise NotImplementedError(f"{self.name} keeps no history")

    # -- credentials ----------------------------------------------------------------------
    def credential(self, setting: str) -> str | None:
        """The secret of `credentials` entry `setting`, or None when it is not set."""
        env, file = Credential(setting).fields
        return secret(getattr(self.settings, env), getattr(self.settings, file))

    def need(self, setting: str) -> str:
        """What to set for `setting`: 'YOUTUBE_API_KEY (or sources.youtube.api_key_file)'."""
        env, file = Credential(setting).fields
        return f"{getattr(self.settings, env)} (or sources.{self.name}.{file})"

    def missing(self) -> str | None:
        """Why this collector cannot run as configured (e.g. 'set YOUTUBE_API_KEY'), or None.

        The default: every one of `credentials` that is not optional is needed."""
        absent = [
            self.need(c.setting)
            for c in self.credentials
            if not c.optional and not self.credential(c.setting)
        ]
        return "set " + " and ".join(absent) if absent else None

    @property
    def quotas(self) -> Mapping[str, Quota]:
        """Named quota budgets the requests spend (see Request.budget), per credential."""
        return {}

    def credential_id(self, budget: str) -> str:
        """Whose allowance `budget` is: a fingerprint of the first of `credentials`."""
        value = self.credential(self.credentials[0].setting) if self.credentials else None
        return fingerprint(value) if value else "anonymous"

    # -- the contract -------------------------------------------------------------------
    @abstractmethod
    def plan(self, targets: Sequence[Target]) -> list[Request]:
        """Group targets into as few requests as the platform allows."""

    async def fetch(self, client: httpx.AsyncClient, request: Request) -> httpx.Response:
        return await client.request(
            request.method,
            request.url,
            params=list(request.params) or None,
            json=request.json,
            headers=dict(request.headers) or None,
        )

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        """The error a response stands for, or None when it is a normal answer.

        Overrides recognise the platform's own error bodies and end with
        `super().error(...)`, the generic HTTP classification."""
        return http_error(status, headers, body, self.clock())

    @abstractmethod
    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        """Payload -> observations. Pure; raises BadPayload when the body is not the format."""


def http_error(
    status: int, headers: Mapping[str, str], body: bytes, at: datetime
) -> SourceError | None:
    """Generic HTTP classification shared by all collectors; `at` is now, for reset times."""
    if 200 <= status < 300:
        return None
    snippet = summarize(body)
    if status == 429:
        return RateLimited(f"HTTP 429 Too Many Requests{snippet}", wait_seconds(headers, at))
    if status >= 500 or status == 408:
        return TemporaryError(f"HTTP {status}{snippet}")
    if status in (404, 410):
        return NotFound(f"HTTP {status} not found{snippet}")
    return SourceError(f"HTTP {status}{snippet}")


def summarize(body: bytes, limit: int = 120) -> str:
    """A short, single-line excerpt of a body for an error cause ('' when empty)."""
    # Masked before it is cut: a secret the body echoes must not survive as a fragment. The
    # window read is wider than the excerpt so a secret straddling the cut is seen whole.
    text = redact(body[: limit * 4].decode("utf-8", "replace")).strip()
    if not text:
        return ""
    text = " ".join(text.split())
    return f": {text[:limit]}"


def load_json(body: bytes) -> Any:
    """Decode a JSON body, refusing the shapes a blocked or broken endpoint sends."""
    stripped = body.strip()
    if not stripped:
        raise BadPayload("empty body")
    if stripped[:1] == b"<":
        raise BadPayload(f"HTML where JSON was expected{summarize(stripped, 60)}")
    try:
        data = json.loads(stripped)
    except ValueError as exc:
        raise BadPayload(f"invalid JSON: {exc}") from None
    if data is None:
        raise BadPayload("body is JSON null")
    return data


def load_object(body: bytes) -> dict[str, Any]:
    """`load_json` for answers that must be a JSON object."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise BadPayload(f"expected a JSON object, got {type(data).__name__}")
    return data


def error_json(body: bytes, *path: str) -> dict[str, Any]:
    """The JSON object of an error answer (or the object at `path` inside it, e.g. "error");
    {} when the body is not one: an error page may be HTML, text, or empty."""
    try:
        node: Any = json.loads(body)
    except ValueError:
        return {}
    for step in path:
        node = node.get(step) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def one_line(value: Any, limit: int = 160) -> str:
    """A platform's message as one line of at most `limit` characters ('' for None)."""
    return " ".join(str(value if value is not None else "").split())[:limit]


def require(data: Any, *path: str | int) -> Any:
    """Walk `path` into decoded JSON; a missing step is schema drift, reported as such."""
    node = data
    walked: list[str] = []
    for step in path:
        walked.append(str(step))
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            raise BadPayload(f"missing field {'.'.join(walked)}") from None
    return node


def as_count(value: Any, where: str) -> int:
    """A non-negative integer count from an int or a digit string; anything else is drift."""
    if isinstance(value, bool):
        raise BadPayload(f"{where}: expected a count, got {value!r}")
    if isinstance(value, int):
        count = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        # ASCII only: int() would read "١٢٣" as 123 and "１２" as 12, and "²" passes isdigit()
        # but not int(): neither is a count a platform sends.
        count = int(value.strip())
    else:
        raise BadPayload(f"{where}: expected a count, got {value!r}")
    if count < 0:
        raise BadPayload(f"{where}: negative count {count}")
    return count
