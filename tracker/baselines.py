"""Pure functions: a series' values against the campaign's baselines and the article's claims."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tracker.models import Baseline
from tracker.timeutil import day_start, from_epoch, to_epoch

if TYPE_CHECKING:
    # Only for types: the read commands must not pay for loading pydantic-settings.
    from tracker.config import Config, Reference


def references(config: Config) -> list[Baseline]:
    """The campaign's baselines and claims as rows for the baseline table."""
    if config.campaign is None:
        return []
    rows = []
    for role, refs in (("baseline", config.campaign.baselines), ("claim", config.campaign.claims)):
        for ref in refs:
            rows.append(_row(config.campaign.name, role, ref))
    return rows


def _row(campaign: str, role: str, ref: Reference) -> Baseline:
    value, sig = ref.amount
    return Baseline(
        campaign=campaign,
        name=ref.name,
        role=role,
        subject=ref.subject,
        source=ref.source,
        metric=ref.metric,
        value=value,
        at=to_epoch(day_start(ref.at)),
        sig=sig,
        citation=ref.citation,
    )


@dataclass(frozen=True, slots=True)
class Change:
    """From `before` to `after`: the difference, the percentage and the multiple."""

    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before

    @property
    def percent(self) -> float | None:
        return None if self.before == 0 else 100.0 * self.delta / self.before

    @property
    def multiple(self) -> float | None:
        return None if self.before == 0 else self.after / self.before


def per_day(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    """Growth per day between two (ts, value) points; None when they share a moment."""
    days = (after[0] - before[0]) / 86400
    return None if days == 0 else (after[1] - before[1]) / days


def rounding(value: int, sig: int | None) -> int:
    """Half the last significant unit of a rounded figure: the smallest change it can show."""
    if sig is None or value == 0:
        return 0
    digits = len(str(abs(value)))
    return (10 ** max(digits - sig, 0)) // 2


def significant(change: Change, before_sig: int | None, after_sig: int | None = None) -> bool:
    """Whether a change is larger than what rounding alone could make."""
    slack = rounding(change.before, before_sig) + rounding(change.after, after_sig)
    return abs(change.delta) > slack


@dataclass(frozen=True, slots=True)
class Comparison:
    reference: Baseline
    measured: tuple[int, int] | None  # (ts, value), the latest
    series_label: str = ""

    @property
    def change(self) -> Change | None:
        return None if self.measured is None else Change(self.reference.value, self.measured[1])

    @property
    def measured_at(self) -> datetime | None:
        return None if self.measured is None else from_epoch(self.measured[0])

    @property
    def reference_at(self) -> datetime:
        return from_epoch(self.reference.at)


def human(value: float | int | None, digits: int = 3) -> str:
    """3400000 -> '3.4M'; for tables, not storage."""
    if value is None:
        return "—"
    magnitude = abs(value)
    for factor, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if magnitude >= factor:
            return f"{value / factor:.{digits}g}{suffix}"
    return f"{value:,}" if isinstance(value, int) else f"{value:.{digits}g}"
