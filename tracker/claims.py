"""Pure functions: each claim of the article against the series measured for it.

The caller fetches the series (`tracker.read.claims`); nothing here does I/O. A claim is
computed from points, never typed in, and is only ever `confirmed` with measured evidence:

    countries_in_top10   distinct countries whose weekly Top 10 list (per-country series,
                         labels.list != "global") holds a chart_rank point in a week that
                         overlaps the launch .. the claim date; per-week counts as evidence
    weeks_at_number_one  the longest run of consecutive weeks at chart_rank 1 ending at or
                         before the claim date (on the global list, where a source has
                         per-country ones too)
    anything else        the value nearest the claim date (within NEAR), agreeing when it
                         rounds to the claimed figure at the precision the article used
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from tracker.baselines import DAY, human, rounding
from tracker.store.models import BACKFILLED
from tracker.timeutil import day_start, from_epoch, to_epoch

if TYPE_CHECKING:
    from tracker.campaign import Reference

CONFIRMED = "confirmed"
CONTRADICTED = "contradicted"
NOT_MEASURABLE = "not measurable yet"

WEEK = 7 * DAY
# 1970-01-01 was a Thursday; chart weeks start on Monday.
MONDAY = 4 * DAY
# A count measured further than this from the claim date says nothing about that date.
NEAR = 7 * DAY

# Metrics no public source publishes, and why.
NO_PUBLIC_SOURCE = {
    "weekly_sales_change_pct": (
        "no public source: US weekly book sales (Circana BookScan) are sold to subscribers, "
        "not published; best-seller lists give ranks, not sales"
    ),
}
_OVER = re.compile(r"\b(over|more than|at least|above)\s+[#$€£]?\d", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Point:
    ts: int
    value: int
    period: int | None = None
    sig: int | None = None
    flags: int | None = None

    @property
    def backfilled(self) -> bool:
        return bool((self.flags or 0) & BACKFILLED)


@dataclass(frozen=True, slots=True)
class Series:
    source: str
    metric: str
    key: str
    label: str
    labels: Mapping[str, str]
    points: Sequence[Point]


@dataclass(frozen=True, slots=True)
class Claim:
    name: str
    subject: str
    source: str
    metric: str
    value: int
    sig: int | None  # significant figures the article wrote; None = exact
    at: date
    text: str = ""
    citation: str = ""

    @classmethod
    def of(cls, ref: Reference) -> Claim:
        value, sig = ref.amount
        return cls(
            ref.name, ref.subject, ref.source, ref.metric, value, sig, ref.at, ref.text,
            ref.citation,
        )  # fmt: skip

    @property
    def figure(self) -> str:
        return human(self.value) if self.sig else f"{self.value:,}"


@dataclass(frozen=True, slots=True)
class Readiness:
    """What the caller found out about collecting a claim's source."""

    collector: bool  # a collector for the source is available
    missing: str = ""  # the collector's own "set X" when its credentials are absent
    collect: str = ""  # the command that would collect the data
    history: bool = False  # the source keeps history: a backfill reaches past dates
    note: str = ""  # anything else the user should know (e.g. its plugin failed to load)


@dataclass(frozen=True, slots=True)
class Evidence:
    what: str  # "countries in the Top 10", "global rank, TV (English)", "followers"
    start: date  # the day measured, or the first day of the period
    end: date | None  # the last day of the period (a chart week ends on Sunday)
    value: int
    backfilled: bool = False

    @property
    def when(self) -> str:
        return f"week ending {self.end}" if self.end else str(self.start)


@dataclass(frozen=True, slots=True)
class Verdict:
    claim: Claim
    status: str
    measured: int | None = None
    summary: str = ""
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)
    action: str = ""  # what would make it measurable


def check(claim: Claim, launch: date, series: Sequence[Series], ready: Readiness) -> Verdict:
    """The verdict on one claim from the series measured for its subject and source."""
    if claim.metric in NO_PUBLIC_SOURCE:
        return Verdict(claim, NOT_MEASURABLE, summary=NO_PUBLIC_SOURCE[claim.metric])
    if claim.metric == "countries_in_top10":
        verdict = _countries(claim, launch, series, ready)
    elif claim.metric == "weeks_at_number_one":
        verdict = _weeks_at_one(claim, series, ready)
    else:
        verdict = _nearest(claim, series, ready)
    return verdict or unmeasured(claim, ready)


def unmeasured(claim: Claim, ready: Readiness, found: str = "") -> Verdict:
    """Not measurable yet, with why and what to do about it."""
    nothing = found or f"no {claim.source} {claim.metric} values for {claim.subject} yet"
    if not ready.collector:
        why = f"{nothing}; no collector reads {claim.source!r}"
        return Verdict(claim, NOT_MEASURABLE, summary=why, action=ready.note)
    past = (
        "" if ready.history else f"; no backfill from {claim.source}: values start when collected"
    )
    if ready.missing:
        action = "; ".join(p for p in (ready.missing, ready.note) if p)
        need = "needs credentials" if ready.missing.startswith("set ") else "needs configuration"
        # Say what is stored too: "needs credentials" alone hides a value years off the date.
        summary = f"{found}; {need}{past}" if found else f"{need}{past}"
        return Verdict(claim, NOT_MEASURABLE, summary=summary, action=action)
    why = f"not collected yet: {nothing}{past}"
    return Verdict(claim, NOT_MEASURABLE, summary=why, action=ready.collect)


def _window(launch: date, at: date) -> tuple[int, int]:
    """[launch 00:00, the day after the claim 00:00) in epoch seconds."""
    return to_epoch(day_start(launch)), to_epoch(day_start(at)) + DAY


def _week(ts: int, period: int | None) -> tuple[date, date | None]:
    start = from_epoch(ts).date()
    return start, (start + timedelta(seconds=period - DAY) if period else None)


def _countries(
    claim: Claim, launch: date, series: Sequence[Series], ready: Readiness
) -> Verdict | None:
    ranks = [s for s in series if s.metric == "chart_rank"]
    countries = [s for s in ranks if s.labels.get("list", "global") != "global"]
    if not countries:
        return None
    lo, hi = _window(launch, claim.at)

    def inside(p: Point) -> bool:
        return p.ts < hi and p.ts + (p.period or WEEK) > lo

    weeks: dict[int, set[str]] = {}
    backfilled: dict[int, bool] = {}
    for s in countries:
        for p in filter(inside, s.points):
            weeks.setdefault(p.ts, set()).add(s.labels.get("list", s.key))
            backfilled[p.ts] = backfilled.get(p.ts, False) or p.backfilled
    distinct = set().union(*weeks.values()) if weeks else set()
    evidence = [
        Evidence("countries in the Top 10", *_week(ts, WEEK), len(weeks[ts]), backfilled[ts])
        for ts in sorted(weeks)
    ]
    for s in ranks:
        if s.labels.get("list") == "global":
            what = f"global rank, {s.labels.get('category', s.label)}"
            evidence += [
                Evidence(what, *_week(p.ts, p.period), p.value, p.backfilled)
                for p in s.points
                if inside(p)
            ]
    measured = len(distinct)
    span = f"{launch} .. {claim.at}"
    if weeks:
        first, last = _week(min(weeks), WEEK), _week(max(weeks), WEEK)
        span = f"weeks ending {first[1]} .. {last[1]}"
    summary = f"{measured} distinct countries in the weekly Top 10 lists, {span}"
    if measured == claim.value:
        return Verdict(claim, CONFIRMED, measured, summary, tuple(evidence))
    covered = max((p.ts + (p.period or 0) for s in series for p in s.points), default=0)
    if measured < claim.value and covered < hi:
        # More weeks may come in: a count short of the claim is not a contradiction yet.
        stored = from_epoch(covered - DAY).date() if covered else None
        found = f"{summary}, but the stored weeks end on {stored}"
        return unmeasured(claim, ready, found)
    return Verdict(claim, CONTRADICTED, measured, summary, tuple(evidence))


def _weekly(points: Sequence[Point], until: int) -> dict[int, Point]:
    """The last point of each Monday week before `until`, by week number."""
    out: dict[int, Point] = {}
    for p in points:
        if p.ts < until:
            out[(p.ts - MONDAY) // WEEK] = p
    return out


def _weeks_at_one(claim: Claim, series: Sequence[Series], ready: Readiness) -> Verdict | None:
    ranks = [s for s in series if s.metric == "chart_rank" and s.points]
    # A chart with per-country lists beside its global one: the global list's weeks count.
    ranks = [s for s in ranks if s.labels.get("list", "global") == "global"] or ranks
    _, hi = _window(claim.at, claim.at)
    best: tuple[int, Series, list[int], dict[int, Point]] | None = None
    for s in ranks:
        weekly = _weekly(s.points, hi)
        if not weekly:
            continue
        run: list[int] = []
        longest: list[int] = []
        for week in range(min(weekly), max(weekly) + 1):
            point = weekly.get(week)
            run = run + [week] if point is not None and point.value == 1 else []
            if len(run) > len(longest):
                longest = run
        if best is None or len(longest) > best[0]:
            best = (len(longest), s, longest, weekly)
    if best is None:
        return None
    measured, s, run, weekly = best
    what = f"rank on {s.label or s.key}"

    def evidence(week: int) -> Evidence:
        p = weekly[week]
        return Evidence(what, *_week(week * WEEK + MONDAY, WEEK), p.value, p.backfilled)

    # The week before the run, when there is one, shows where it started.
    shown = ([run[0] - 1] if run and run[0] - 1 in weekly else []) + run
    summary = (
        f"{measured} consecutive week(s) at number one up to {claim.at}"
        if run
        else f"never at number one in the {len(weekly)} week(s) recorded up to {claim.at}"
    )
    if run:
        summary += f" (weeks ending {_week(run[0] * WEEK + MONDAY, WEEK)[1]} .. "
        summary += f"{_week(run[-1] * WEEK + MONDAY, WEEK)[1]})"
    found = tuple(evidence(w) for w in shown) or tuple(evidence(w) for w in sorted(weekly)[-3:])
    if measured == claim.value:
        return Verdict(claim, CONFIRMED, measured, summary, found)
    if measured < claim.value and run and run[0] == min(weekly):
        # The run starts with the first week recorded: earlier weeks may extend it.
        return unmeasured(claim, ready, f"{summary}, and no week before it is recorded")
    return Verdict(claim, CONTRADICTED, measured, summary, found)


def agrees(claim: Claim, measured: int, measured_sig: int | None = None) -> bool:
    """Whether `measured` is what the claim's figure says, at the precision it was written.

    "3.4M" (2 significant figures) covers [3.35M, 3.45M); "over 4.4B" covers [4.4B, 4.5B);
    an exact 54 is 54 only ("over 54" is anything above). A rounded measurement counts as
    agreeing when its own rounding reaches the claim's range.
    """
    unit = 10 ** max(len(str(claim.value)) - claim.sig, 0) if claim.sig else 1
    lo: float
    hi: float | None
    if _OVER.search(claim.text):
        lo, hi = (claim.value, claim.value + unit) if unit > 1 else (claim.value + 1, None)
    else:
        lo, hi = claim.value - unit / 2, claim.value + unit / 2
    slack = rounding(measured, measured_sig)
    return measured + slack >= lo and (hi is None or measured - slack < hi)


def _nearest(claim: Claim, series: Sequence[Series], ready: Readiness) -> Verdict | None:
    candidates = [(s, p) for s in series if s.metric == claim.metric for p in s.points]
    if not candidates:
        return None
    lo, hi = _window(claim.at, claim.at)

    def distance(p: Point) -> int:
        return max(lo - p.ts, p.ts - (hi - 1), 0)

    s, p = min(candidates, key=lambda sp: (distance(sp[1]), -sp[1].ts))
    day = from_epoch(p.ts).date()
    shown = Evidence(f"{claim.metric} of {s.label or s.key}", day, None, p.value, p.backfilled)
    if distance(p) > NEAR:
        gap = abs(day - claim.at).days
        found = f"the nearest {claim.metric} value is from {day}, {gap} days from {claim.at}"
        return unmeasured(claim, ready, found)
    summary = f"{human(p.value)} ({p.value:,}) on {day}, nearest to {claim.at}"
    status = CONFIRMED if agrees(claim, p.value, p.sig) else CONTRADICTED
    return Verdict(claim, status, p.value, summary, (shown,))
