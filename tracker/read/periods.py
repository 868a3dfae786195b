"""What a point means in time: an instant, or a period (a day, a chart week) that holds its
value from its start to its end and no longer.

A weekly chart lists every entry of its week: a chart series without a point in a week its
listing is known to cover was "not in chart" that week — not a stale rank, not a gap. The
listing is known to cover the weeks in which any chart series read for the same answer (same
platform and metric, periods of the same length, same kind of list: the global one or the
per-country ones, which are published together) has a point.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date

from tracker.core import DAY, MONDAY, WEEK
from tracker.read.records import AFTER, BEFORE, EVENT, NOT_IN_CHART, VALUE, PointRecord
from tracker.store import SeriesInfo
from tracker.store.models import BACKFILLED, SUDDEN
from tracker.store.timeseries import PointRow
from tracker.timeutil import day_start, to_epoch

CHART = "chart_rank"
Listing = tuple[str, str, int, bool]


def points(rows: Iterable[PointRow]) -> list[PointRecord]:
    """Stored rows as point records."""
    return [
        PointRecord(
            int(ts),
            int(ts) + int(period) if period else None,
            int(value),
            VALUE,
            bool((flags or 0) & BACKFILLED),
            bool((flags or 0) & SUDDEN),
            sig=sig,
        )
        for ts, value, period, sig, flags in rows
    ]


def listing(series: SeriesInfo, found: Sequence[PointRecord]) -> Listing | None:
    """Which listing a chart series belongs to: its platform and metric, the length of its
    periods (a weekly list is not a monthly one), and whether it is a global list or one of
    many published together (per country, per genre). None for what is not a chart."""
    lengths = {p.end - p.start for p in found if p.end is not None}
    if series.metric != CHART or len(lengths) != 1:
        return None
    (length,) = lengths
    return series.source, series.metric, length, series.labels.get("list", "global") == "global"


def coverage(loaded: Sequence[tuple[SeriesInfo, Sequence[PointRecord]]]) -> dict[Listing, set[int]]:
    """Per listing, the starts of the periods it is known to have been published for."""
    out: dict[Listing, set[int]] = {}
    for series, found in loaded:
        key = listing(series, found)
        if key is not None:
            out.setdefault(key, set()).update(p.start for p in found)
    return out


def with_absences(found: Sequence[PointRecord], weeks: set[int]) -> list[PointRecord]:
    """A chart series' points plus a NOT_IN_CHART point for each covered week it lacks,
    from the listing's first covered week to its last."""
    if not weeks:
        return list(found)
    have = {p.start for p in found}
    period = next((p.end - p.start for p in found if p.end is not None), WEEK)
    absent = [PointRecord(start, start + period, None, NOT_IN_CHART) for start in weeks - have]
    return sorted([*found, *absent], key=lambda p: p.start)


def holds(point: PointRecord, moment: int) -> bool:
    """Whether `point` is the value at `moment`: a period only within itself."""
    return point.start <= moment and (point.end is None or moment < point.end)


def at(found: Sequence[PointRecord], moment: int) -> PointRecord | None:
    """The point that holds at `moment`: the period containing it, or the last instant at or
    before it. Nothing is carried past a period's end; nothing is interpolated."""
    best = None
    for p in found:  # oldest first; periods of one series do not overlap
        if p.start > moment:
            break
        best = p
    if best is not None and best.end is not None and moment >= best.end:
        return None
    return best


def bucket_origin(step: int) -> int:
    """Buckets of whole weeks start on a Monday 00:00 UTC; others at the epoch."""
    return MONDAY if step % WEEK == 0 else 0


def resample(found: Sequence[PointRecord], step: int) -> list[PointRecord]:
    """The last point of each `step`-second bucket, spanning the bucket [start, end).

    A sudden change anywhere in a bucket marks the bucket; whether it was backfilled and
    whether it is "not in chart" is its last point's.
    """
    origin = bucket_origin(step)
    out: list[PointRecord] = []
    swung = False
    for p in found:
        start = p.start - (p.start - origin) % step
        if out and out[-1].start == start:
            swung = swung or p.sudden
            out[-1] = replace(p, start=start, end=start + step, sudden=swung)
        else:
            swung = p.sudden
            out.append(replace(p, start=start, end=start + step))
    return out


def relative(point: PointRecord, event: date) -> PointRecord:
    """The point with its days from `event` and where it sits against the event's day: a
    period that contains the day is the event's, never before it."""
    first = to_epoch(day_start(event))
    last_second = point.end - 1 if point.end is not None else point.start
    if last_second < first:
        phase = BEFORE
    elif point.start >= first + DAY:
        phase = AFTER
    else:
        phase = EVENT
    days = (point.start - first) // DAY, (last_second - first) // DAY
    return replace(point, day=days[0], day_end=days[1], phase=phase)
