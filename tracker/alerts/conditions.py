"""Pure: whether a rule's condition holds, from the points of one series (or a source's status).

Each check answers True (the condition holds: an episode opens, and alerts, if none is open),
False (it is over: the rule re-arms) or None (between the two: nothing changes). The gap
between True and False is the hysteresis, and a rounded value (`sig` significant figures)
counts only by what it certainly is: a change smaller than its precision never alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tracker.alerts.rules import Rule
from tracker.baselines import human, rounding
from tracker.quota import Budget
from tracker.store.ledger import SourceStatus
from tracker.store.timeseries import PointRow
from tracker.timeutil import from_epoch

# Outcomes of an attempt that count as a success (tracker.store.ledger.COLLECTED).
SUCCESS = ("ok", "partial", "spooled")


@dataclass(frozen=True, slots=True)
class Check:
    holds: bool | None
    says: str = ""  # what the alert says when it fires
    # For events that can recur while the condition holds (a new best rank, another
    # verdict): a different mark opens a new episode.
    mark: str = ""


KEEP = Check(None)


def _bounds(value: int, sig: int | None) -> tuple[int, int]:
    """The least and the most a value rounded to `sig` significant figures can be."""
    slack = rounding(value, sig)
    return value - slack, value + slack


def _shown(value: int, sig: int | None) -> str:
    return human(value, sig) if sig else f"{value:,}"


def threshold(rule: Rule, points: Sequence[PointRow]) -> Check:
    if not points:
        return KEEP
    _, value, _, sig, _ = points[-1]
    low, high = _bounds(value, sig)
    shown = _shown(value, sig)
    if rule.above is not None:
        line, _ = rule.amount("above")
        if low >= line:
            return Check(True, f"{shown}, at or above {line:,}")
        return Check(False) if high < line * (1 - rule.hysteresis) else KEEP
    line, _ = rule.amount("below")
    if high <= line:
        return Check(True, f"{shown}, at or below {line:,}")
    return Check(False) if low > line * (1 + rule.hysteresis) else KEEP


def growth(
    rule: Rule,
    latest: PointRow | None,
    old: PointRow | None,
    base: tuple[int, int | None] | None,
) -> Check:
    """Growth since `old` (the value a window ago: percent, by), or a multiple of a baseline
    (times)."""
    if latest is None:
        return KEEP
    _, value, _, sig, _ = latest
    low, high = _bounds(value, sig)
    shown = _shown(value, sig)
    h = rule.hysteresis
    if rule.times is not None:
        if base is None:
            return KEEP
        b_low, b_high = _bounds(*base)
        if b_high <= 0:
            return KEEP
        if low >= rule.times * b_high:
            return Check(True, f"{shown}: {low / b_high:.1f}x the baseline {base[0]:,}")
        return Check(False) if high < rule.times * b_low * (1 - h) else KEEP
    if old is None:
        return KEEP  # not a whole window of history yet
    then, before, _, before_sig, _ = old
    o_low, o_high = _bounds(before, before_sig)
    window = f"since {from_epoch(then):%Y-%m-%d %H:%M} UTC"
    if rule.by is not None:
        step, _ = rule.amount("by")
        if low - o_high >= step:
            return Check(True, f"{shown}: up {value - before:,} {window} (rule: {step:,})")
        return Check(False) if high - o_low < step * (1 - h) else KEEP
    assert rule.percent is not None
    if o_high <= 0:
        return KEEP
    least, most = (low - o_high) / o_high * 100, (high - o_low) / max(o_low, 1) * 100
    if least >= rule.percent:
        grown = (value - before) / before * 100 if before else least
        return Check(True, f"{shown}: up {grown:.1f}% {window} (rule: {rule.percent:g}%)")
    return Check(False) if most < rule.percent * (1 - h) else KEEP


def in_chart(latest: PointRow, newest: int) -> bool:
    """Whether a rank series' newest value is in the chart's newest period."""
    ts, _, period, _, _ = latest
    return ts >= newest or (bool(period) and ts + (period or 0) > newest)


def chart(rule: Rule, points: Sequence[PointRow], newest: int | None) -> Check:
    """Chart events on a rank series (1 is the top); `newest` is the chart's newest period."""
    if not points or newest is None:
        return KEEP
    ts, rank, period, _, _ = points[-1]
    step = period or 0
    inside = in_chart(points[-1], newest)
    since = f"week of {from_epoch(ts):%Y-%m-%d}" if step else f"{from_epoch(ts):%Y-%m-%d}"
    if rule.event == "enters":
        if not inside:
            return Check(False)
        previous = points[-2][0] if len(points) > 1 else None
        # Continuing from the period before is no entry (a rule added mid-run stays quiet).
        fresh = previous is None or (step > 0 and previous + step < ts)
        return Check(True, f"entered the chart at #{rank} ({since})") if fresh else KEEP
    if rule.event == "leaves":
        if inside:
            return Check(False)
        # Only a departure in the newest period: one long past is no news.
        if step and ts + 2 * step > newest:
            return Check(True, f"left the chart (last #{rank}, {since})")
        return KEEP
    if not inside:
        return Check(False)
    if rule.event == "top":
        return Check(True, f"reached #1 ({since})") if rank == 1 else Check(False)
    earlier = [p[1] for p in points[:-1]]
    if earlier and rank < min(earlier):
        return Check(True, f"new best rank #{rank} (was #{min(earlier)}, {since})", str(rank))
    return Check(False)


def verdict(status: str, measured: bool, summary: str) -> Check:
    """A claim: an episode per verdict, once it is measured at all."""
    if not measured:
        return Check(False, mark=status)
    return Check(True, f"claim is now {status}: {summary}", status)


def failing(rule: Rule, status: SourceStatus, now: datetime) -> Check:
    """A source failing `rounds` in a row, or without a success for `no_success_for`."""
    if status.last_outcome in SUCCESS:
        return Check(False)
    if rule.rounds is not None and status.failures_in_a_row >= rule.rounds:
        cause = status.last_cause or "no cause recorded"
        return Check(True, f"failed {status.failures_in_a_row} rounds in a row: {cause}")
    if rule.no_success_for is not None and status.last_success is not None:
        quiet = now - status.last_success
        if quiet >= rule.no_success_for:
            hours = quiet.total_seconds() / 3600
            return Check(True, f"no success for {hours:.1f}h: {status.last_cause or 'no cause'}")
    return KEEP


def quota(rule: Rule, budget: Budget, now: datetime) -> Check:
    assert rule.spent is not None
    if budget.window_end <= now:
        return Check(False)  # a new window: nothing spent of it yet
    share = 1.0 if budget.parked_until else budget.used / max(budget.limit, 1)
    if share >= rule.spent:
        ends = budget.window_end.strftime("%Y-%m-%d %H:%M")
        return Check(True, f"{share:.0%} of {budget.limit:,} spent (window ends {ends} UTC)")
    return Check(False) if share < rule.spent * (1 - rule.hysteresis) else KEEP
