"""`[[alerts]]` rules: what to watch, when it fires, and where it goes.

    kind = "threshold"  above = N | below = N            the latest value crosses N
    kind = "growth"     percent = P | by = N, window     grown that much within the window
                        times = X, baseline = NAME       X times a campaign baseline
    kind = "chart"      event = enters | leaves | best | top   (a rank series: 1 is the top)
    kind = "claim"      claim = NAME (empty: every claim)      a claim's verdict changes
    kind = "failing"    rounds = N and/or no_success_for = 1d  a source keeps failing
    kind = "quota"      spent = 0.9                      a credential's budget nearly spent

Series are selected by subject / platform / metric / labels (empty: any). The destination is
an Apprise URL read from the environment variable `url_env` or the file `url_file`, like
every other credential: it is never written in the config itself.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tracker.bounds import (
    MAX_METRIC,
    MAX_NAME,
    MAX_SOURCE,
    MAX_SUBJECT,
    bounded,
    duration_setting,
    refuse_hostile,
)
from tracker.core import parse_amount
from tracker.errors import ConfigError

if TYPE_CHECKING:
    from tracker.config import Config

Kind = Literal["threshold", "growth", "chart", "claim", "failing", "quota"]
ChartEvent = Literal["enters", "leaves", "best", "top"]
DEFAULT_URL_ENV = "ALERT_APPRISE_URL"
# Which settings each kind reads; any other kind-specific one given is a mistake to name.
_OWN: dict[str, set[str]] = {
    "threshold": {"above", "below"},
    "growth": {"percent", "by", "times", "window", "baseline"},
    "chart": {"event"},
    "claim": {"claim"},
    "failing": {"rounds", "no_success_for"},
    "quota": {"spent"},
}


class Rule(BaseModel):
    """One `[[alerts]]` table."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=MAX_NAME)
    kind: Kind
    # Which series: every one matching all that are given.
    subject: str = Field(default="", max_length=MAX_SUBJECT)
    platform: str = Field(default="", max_length=MAX_SOURCE)
    metric: str = Field(default="", max_length=MAX_METRIC)
    labels: dict[str, str] = {}
    # threshold
    above: int | str | None = None
    below: int | str | None = None
    # growth
    percent: float | None = Field(default=None, gt=0, le=1_000_000, allow_inf_nan=False)
    by: int | str | None = None
    times: float | None = Field(default=None, gt=1, le=1_000_000, allow_inf_nan=False)
    window: timedelta | None = None
    baseline: str = Field(default="", max_length=MAX_NAME)
    # chart
    event: ChartEvent | None = None
    # claim
    claim: str = Field(default="", max_length=MAX_NAME)
    # failing
    rounds: int | None = Field(default=None, ge=1, le=10_000)
    no_success_for: timedelta | None = None
    # quota: the share of the budget spent (0.9 = 90%)
    spent: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)
    # No spam: how far back past the line a value must go before the rule can fire again
    # (a share of the line: 0.05 = 5%).
    hysteresis: float = Field(default=0.05, ge=0, le=0.9, allow_inf_nan=False)
    # Delivery: the Apprise URL(s), from the environment or a secret file.
    url_env: str = Field(default=DEFAULT_URL_ENV, max_length=MAX_NAME)
    url_file: str | None = Field(default=None, max_length=4096)
    # At most this many alerts per hour to one destination; the rest wait their turn.
    per_hour: int = Field(default=20, ge=1, le=3600)
    # Attempts per alert before it is given up on (and the failure logged).
    retries: int = Field(default=5, ge=1, le=20)

    @field_validator("*")
    @classmethod
    def _total(cls, value: Any) -> Any:
        return refuse_hostile(value)

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not re.fullmatch(r"[\w.-]+", value):
            raise ValueError(f"{value!r}: a rule name is letters, digits, '.', '-' and '_' only")
        return value

    @field_validator("url_env")
    @classmethod
    def _variable(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @field_validator("above", "below", "by")
    @classmethod
    def _amount(cls, value: int | str | None) -> int | str | None:
        if value is not None:
            parse_amount(value)
        return value

    @field_validator("window", "no_success_for", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else duration_setting(value)

    @field_validator("window", "no_success_for")
    @classmethod
    def _span(cls, value: timedelta | None) -> timedelta | None:
        if value is None:
            return None
        return bounded(value, timedelta(minutes=1), timedelta(days=3650))

    @model_validator(mode="after")
    def _complete(self) -> Rule:
        given = {name for name in self.model_fields_set if any(name in s for s in _OWN.values())}
        stray = sorted(given - _OWN[self.kind])
        if stray:
            raise ValueError(f"{', '.join(stray)}: not a setting of a {self.kind} rule")
        if self.kind == "threshold" and (self.above is None) == (self.below is None):
            raise ValueError("a threshold rule takes one of above or below")
        if self.kind == "growth":
            ways = [w for w in ("percent", "by", "times") if getattr(self, w) is not None]
            if len(ways) != 1:
                raise ValueError("a growth rule takes one of percent, by or times")
            if ways[0] == "times" and not self.baseline:
                raise ValueError("times needs baseline: the name of a campaign baseline")
            if ways[0] != "times" and self.window is None:
                raise ValueError(f"{ways[0]} needs window: the span it grows in, e.g. 7d")
        if self.kind == "chart" and self.event is None:
            raise ValueError("a chart rule takes event: enters, leaves, best or top")
        if self.kind == "failing" and self.rounds is None and self.no_success_for is None:
            raise ValueError("a failing rule takes rounds (in a row) or no_success_for")
        if self.kind == "quota" and self.spent is None:
            raise ValueError("a quota rule takes spent: the share of the budget, e.g. 0.9")
        if not self.url_env and not self.url_file:
            raise ValueError("give url_env or url_file: where the Apprise URL is read from")
        return self

    def amount(self, name: str) -> tuple[int, int | None]:
        """A numeric setting (above, below, by) as (value, significant figures)."""
        value = getattr(self, name)
        assert value is not None, name
        return parse_amount(value)

    @property
    def destination(self) -> str:
        """Where the URL comes from, fit to show and store (the URL itself is a secret)."""
        where = [f"env {self.url_env}" if self.url_env else "", f"file {self.url_file or ''}"]
        return " or ".join(w for w in where if w and w != "file ")


def check_rules(config: Config, where: Path) -> None:
    """Rule names are unique; the baselines and claims they name exist in the campaign."""
    seen: set[str] = set()
    campaign = config.campaign
    baselines = {b.name for b in campaign.baselines} if campaign else set()
    claims = {c.name for c in campaign.claims} if campaign else set()
    for i, rule in enumerate(config.alerts):
        if rule.name in seen:
            raise ConfigError(str(where), f"alerts[{i}].name", f"{rule.name!r} is named twice")
        seen.add(rule.name)
        if rule.baseline and rule.baseline not in baselines:
            known = ", ".join(sorted(baselines)) or "none"
            why = f"no campaign baseline named {rule.baseline!r} (known: {known})"
            raise ConfigError(str(where), f"alerts[{i}].baseline", why)
        if rule.claim and rule.claim not in claims:
            known = ", ".join(sorted(claims)) or "none"
            why = f"no campaign claim named {rule.claim!r} (known: {known})"
            raise ConfigError(str(where), f"alerts[{i}].claim", why)
