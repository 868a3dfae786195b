"""Pure functions: a series' values against the campaign's baselines and the article's claims."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from tracker.store.models import Baseline
from tracker.timeutil import day_start, from_epoch, to_epoch

if TYPE_CHECKING:
    # Only for types: the read commands must not pay for loading pydantic-settings.
    from tracker.campaign import Reference
    from tracker.config import Config


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


@dataclass(frozen=True, slots=True)
class Between:
    """Two points of one series, either of which may be missing: a gap stays a gap.

    `before` and `after` are (ts, value); `*_sig` the significant figures of a rounded value.
    """

    before: tuple[int, int] | None
    after: tuple[int, int] | None
    before_sig: int | None = None
    after_sig: int | None = None

    @property
    def change(self) -> Change | None:
        if self.before is None or self.after is None:
            return None
        return Change(self.before[1], self.after[1])

    @property
    def per_day(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return per_day(self.before, self.after)

    @property
    def significant(self) -> bool:
        """Whether the change is larger than the two values' rounding could make."""
        change = self.change
        return change is not None and significant(change, self.before_sig, self.after_sig)


DAY = 86400


def days_since(ts: int, event: date) -> int:
    """Whole days from the start (00:00 UTC) of `event` to `ts`: 0 on the day, negative before."""
    return (ts - to_epoch(day_start(event))) // DAY


def end_of_day(event: date, days: int) -> int:
    """The last second of day `days` counted from `event` (day 0 is the event's own day)."""
    return to_epoch(day_start(event + timedelta(days=days))) + DAY - 1


def value_at(points: list[tuple[int, int]], moment: int) -> tuple[int, int] | None:
    """The last (ts, value) at or before `moment` of points sorted oldest first; no guessing."""
    found = None
    for point in points:
        if point[0] > moment:
            break
        found = point
    return found


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
    # Round first, so that 999,999,999 is "1B", not "1e+03M".
    rounded = float(f"{value:.{digits}g}")
    for factor, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if abs(rounded) >= factor:
            return f"{rounded / factor:.{digits}g}{suffix}"
    return f"{value:,}" if isinstance(value, int) else f"{value:.{digits}g}"
