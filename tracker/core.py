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
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMB]?)\s*$", re.IGNORECASE | re.ASCII)
_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9}
MAX_TAG_LENGTH = 100


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

    @field_validator("interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return duration_setting(value)

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
