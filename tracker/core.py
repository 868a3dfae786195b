"""The domain: what tracker measures and stores, and the pure helpers those types need.

Everything else imports from here; this module imports nothing else of tracker except
`tracker.timeutil` and `tracker.bounds` (pure helpers: time, and the bounds of what is read).
Collectors, storage, the spool, HTTP, config and the scheduler all speak these types, so none
of them needs to import another's package.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from tracker.bounds import (
    MAX_INT64,
    MAX_INTERVAL,
    MAX_JITTER,
    MAX_KEY,
    MAX_LABEL,
    MAX_METRIC,
    MAX_SIG,
    MAX_SUBJECT,
    bounded,
    duration_setting,
    hostile,
)
from tracker.timeutil import shown

# Period lengths, in seconds (storage keeps integer UTC seconds).
DAY = 86400
WEEK = 7 * DAY
# 1970-01-01 was a Thursday: weeks aligned to Monday start 4 days after the epoch.
MONDAY = 4 * DAY

_TAG = re.compile(r"^\w+$")
# ASCII digits only: "١٢٣" and "１２" are not amounts a platform sends.
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMB]?)\s*$", re.IGNORECASE | re.ASCII)
_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9}
MAX_TAG_LENGTH = 100

# What the store can hold (the column sizes of tracker.store.models); the config refuses more
# and the round checks every value against these before it reaches the database.
INT64_MIN, INT64_MAX = -MAX_INT64 - 1, MAX_INT64
INT32_MAX = 2**31 - 1
# A period is of whole days (the store keeps it in days).
_DAY = timedelta(days=1)


def normalize_tag(text: str) -> str:
    """One normal form per tag: '#Heartstopper', 'heartstopper' and full-width letters agree."""
    folded = unicodedata.normalize("NFKC", text).strip()
    folded = folded.removeprefix("#").casefold()
    if not folded:
        raise ValueError("a hashtag cannot be empty")
    if len(folded) > MAX_TAG_LENGTH:
        raise ValueError(f"a hashtag is at most {MAX_TAG_LENGTH} characters, got {len(folded)}")
    if not _TAG.match(folded):
        raise ValueError(
            f"{text!r} is not a hashtag: use letters, digits and underscores only "
            "(no spaces, punctuation or emoji)"
        )
    if folded.isdigit():
        raise ValueError(f"{text!r} is not a hashtag: platforms ignore all-digit tags")
    return folded


def parse_amount(value: int | str) -> tuple[int, int | None]:
    """'3.4M' -> (3_400_000, 2 significant figures); 12 -> (12, None, exact)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number like 3400000 or '3.4M', got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"expected a non-negative number, got {value}")
        if value > MAX_INT64:
            raise ValueError(hostile(value))
        return value, None
    match = _AMOUNT.match(value) if len(value) <= 40 else None
    if not match:
        raise ValueError(f"expected a number like 3400000 or '3.4M', got {shown(value)}")
    mantissa, suffix = match.group(1), match.group(2).upper()
    digits = mantissa.replace(".", "").lstrip("0") or "0"
    whole, _, frac = mantissa.partition(".")
    scale = _SCALE[suffix]
    amount = int(whole) * scale + (int(frac) * scale // 10 ** len(frac) if frac else 0)
    if amount > MAX_INT64:
        raise ValueError(f"{value!r} is more than a 64-bit integer holds (2**63 - 1)")
    return amount, len(digits)


def http_url(value: str) -> str:
    """An http(s) URL without its trailing slash; anything else is a config error."""
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


# For URL settings beside base_url (a token endpoint, a second host).
HttpURL = Annotated[str, AfterValidator(http_url)]


class SourceSettings(BaseModel):
    """Settings every source has; a collector subclasses this with its own defaults."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    base_url: str
    interval: timedelta = timedelta(hours=1)
    jitter: timedelta = timedelta(minutes=2)
    # Requests of this source in flight at once.
    concurrency: int = Field(default=4, ge=1, le=64)
    # The most one answer of this source may be, in bytes, sent and decompressed (default:
    # http.max_body).
    max_body: int | None = Field(default=None, ge=1024, le=1024**3)
    # A round of this source is cancelled after this long, what it has stored and the rest
    # recorded as failed (default: its interval, so a stuck round never delays the next).
    round_deadline: timedelta | None = None

    @field_validator("interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return duration_setting(value)

    @field_validator("round_deadline", mode="before")
    @classmethod
    def _deadline(cls, value: Any) -> Any:
        return None if value is None else duration_setting(value)

    @field_validator("round_deadline")
    @classmethod
    def _deadline_range(cls, value: timedelta | None) -> timedelta | None:
        return None if value is None else bounded(value, timedelta(seconds=1), timedelta(days=7))

    @property
    def deadline(self) -> timedelta:
        """How long a round of this source may take."""
        return self.round_deadline or self.interval

    @field_validator("jitter", mode="before")
    @classmethod
    def _jitter(cls, value: Any) -> Any:
        # 0 turns jitter off: 0, "0" and "0s" all say so.
        return duration_setting(value, zero=True)

    @field_validator("interval")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        # The scheduler counts whole seconds: less than one would run the source back to back.
        return bounded(value, timedelta(seconds=1), MAX_INTERVAL)

    @field_validator("jitter")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        return bounded(value, timedelta(0), MAX_JITTER)

    @field_validator("*")
    @classmethod
    def _total(cls, value: Any) -> Any:
        # Every field of every collector's settings, those written later included.
        why = hostile(value)
        if why:
            raise ValueError(why)
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value)


@dataclass(frozen=True, slots=True)
class Target:
    """Something to measure, as the config names it."""

    kind: str  # account | hashtag | chart | page
    name: str  # handle, normalised tag, chart title, article
    subject: str
    options: tuple[tuple[str, str], ...] = ()

    def option(self, key: str, default: str = "") -> str:
        return dict(self.options).get(key, default)


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request and the targets it answers for."""

    targets: tuple[Target, ...]
    url: str
    method: str = "GET"
    params: tuple[tuple[str, str], ...] = ()
    json: Mapping[str, Any] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    # Which of the collector's `quotas` this request spends, and how many units.
    budget: str = ""
    cost: int = 1
    # Set by plan() for targets it will not ask about (a missing credential, a target kind the
    # platform does not offer): the runner records this as their failure and sends nothing.
    refusal: str = ""


@dataclass(frozen=True, slots=True)
class Observation:
    """One value of one series, ready for the store."""

    metric: str
    key: str  # the platform's stable id (+ labels that split the series)
    value: int
    at: datetime  # timezone-aware; for periods, the start of the period
    subject: str
    label: str = ""  # the handle as it is today
    labels: Mapping[str, str] = field(default_factory=dict)
    period: timedelta | None = None
    sig: int | None = None  # significant figures when the platform rounds


@dataclass(slots=True)
class Parsed:
    """What one payload yielded: observations, and the targets it could not answer for."""

    observations: list[Observation] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # target name -> cause


@dataclass(frozen=True, slots=True)
class Sudden:
    """When a value is a sudden change from the one before it: beyond `factor` either way
    (a drop to under 1/factor, a jump to over factor times), once either is `floor` or more
    (small counts swing by nature)."""

    factor: float
    floor: int = 100

    def between(self, before: int, after: int) -> bool:
        if max(before, after) < self.floor or before <= 0:
            return False
        return after > before * self.factor or after * self.factor < before


def unstorable(obs: Observation) -> str:
    """Why the store cannot hold `obs` as it is ('' when it can): checked before the write,
    so one poison value fails its own target instead of the whole round's write."""
    value = obs.value
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{obs.metric}: value {value!r} is not an integer"
    if not INT64_MIN <= value <= INT64_MAX:
        return f"{obs.metric}: value {value} does not fit in 64 bits"
    if not _plain_text(obs) and (why := _text_problem(obs)):
        return why
    for label, text in obs.labels.items():
        if why := _untextual(str(label)) or _untextual(str(text)):
            return f"label {label!r} {why}"
    if obs.at.tzinfo is None:
        return f"{obs.metric}: time {obs.at.isoformat()} has no timezone"
    if obs.period is not None:
        if not 0 <= obs.period.total_seconds() <= INT32_MAX:
            return f"{obs.metric}: period {obs.period} out of range"
        if obs.period % _DAY:
            return (
                f"{obs.metric}: period {obs.period} is not a whole number of days "
                "(the store keeps a value's period in days)"
            )
    if obs.sig is not None and not 1 <= obs.sig <= MAX_SIG:
        return f"{obs.metric}: {obs.sig} significant figures is out of range (1 .. {MAX_SIG})"
    return ""


def _plain_text(obs: Observation) -> bool:
    """The common case, checked at once (this runs for every value a round parses): four
    strings within their limits, ASCII (so valid UTF-8) and without NUL."""
    metric, key, subject, label = obs.metric, obs.key, obs.subject, obs.label
    return (
        type(metric) is str
        and type(key) is str
        and type(subject) is str
        and type(label) is str
        and len(metric) <= MAX_METRIC
        and len(key) <= MAX_KEY
        and len(subject) <= MAX_SUBJECT
        and len(label) <= MAX_LABEL
        and (joined := metric + key + subject + label).isascii()
        and "\x00" not in joined
    )


def _text_problem(obs: Observation) -> str:
    """What is wrong with the metric, id, subject or label, in that order ('' if nothing)."""
    for name, text, limit in (
        ("metric", obs.metric, MAX_METRIC),
        ("id", obs.key, MAX_KEY),
        ("subject", obs.subject, MAX_SUBJECT),
        ("label", obs.label, MAX_LABEL),
    ):
        if not isinstance(text, str):
            return f"{name} {text!r} is not text"
        if len(text) > limit:
            return f"{name} is {len(text)} characters, the store holds at most {limit}"
        if why := _untextual(text):
            return f"{name} {why}"
    return ""


def _untextual(text: str) -> str:
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    return ""


def split_collisions(
    observations: list[Observation],
) -> tuple[list[Observation], int, list[list[Observation]]]:
    """(kept, repeated, clashes) of one file's observations: one series at one time twice.

    With the same value it is a repeated row: kept once, the repeats counted. With different
    values the rows differ by something the file does not carry (two different films of one
    title in one country's week): which one the series continues cannot be told, so every row
    of such a clash is refused, never one silently kept in place of the other.
    """
    first: dict[tuple[str, str, datetime], int] = {}
    again: dict[int, list[int]] = {}
    for i, obs in enumerate(observations):
        at = first.setdefault((obs.metric, obs.key, obs.at), i)
        if at != i:
            again.setdefault(at, []).append(i)
    if not again:
        return observations, 0, []
    drop: set[int] = set()
    repeated = 0
    clashes: list[list[Observation]] = []
    for at, more in again.items():
        group = [observations[i] for i in (at, *more)]
        if len({o.value for o in group}) == 1:
            drop.update(more)
            repeated += len(more)
        else:
            drop.update((at, *more))
            clashes.append(group)
    kept = [o for i, o in enumerate(observations) if i not in drop]
    return kept, repeated, clashes


def clash_examples(clashes: list[list[Observation]], most: int = 3) -> str:
    """A few clashes, for a message: key metric at day: value vs value."""
    shown = [
        f"{c[0].key} {c[0].metric} at {c[0].at:%Y-%m-%d}: " + " vs ".join(str(o.value) for o in c)
        for c in clashes[:most]
    ]
    more = f", and {len(clashes) - most} more" if len(clashes) > most else ""
    return "; ".join(shown) + more
