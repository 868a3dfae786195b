"""What a point means in time: an instant, or a period (a day, a chart week) that holds its
value from its start to its end and no longer.

Points travel as rows, the store's own (start, value, period, sig, flags), from the query to
the encoder: a value of None is a chart period without the series ("not in chart"), a period
of None an instant. `record` turns one into a `PointRecord` where a face wants objects.

A weekly chart lists every entry of its week: a chart series without a point in a week its
listing is known to cover was "not in chart" that week — not a stale rank, not a gap. A
listing is one platform's chart metric with periods of one length, of one kind of list: the
global one, or the per-country ones (the `list` label), which are published together; it is
known to cover the weeks in which any series stored under it has a point — every stored
series, not only those asked for (a store holding only the campaign's titles still knows
each week a file covered). A week in which no series of the listing has a point is unknown:
a gap, never "not in chart".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from tracker.core import MONDAY, WEEK
from tracker.read.records import PointRecord, Row, record
from tracker.store import SeriesInfo, Store
from tracker.store.models import SUDDEN
from tracker.timeutil import day_start, to_epoch

CHART = "chart_rank"
# (platform, metric, period length, whether the global list): one chart's listing.
Listing = tuple[str, str, int, bool]


def event_start(event: date) -> int:
    """The first second of the event's day."""
    return to_epoch(day_start(event))


def points(rows: Iterable[Row]) -> list[PointRecord]:
    """Rows as point records."""
    return [record(row) for row in rows]


def listing(series: SeriesInfo, rows: Sequence[Row]) -> Listing | None:
    """Which listing a chart series belongs to: its platform and metric, the length of its
    periods (a weekly list is not a monthly one) and whether it is the global list or one of
    many published together (per country, per genre: the `list` label). None for what is not
    a chart, or has no periods to tell their length."""
    if series.metric != CHART:
        return None
    lengths = {row[2] for row in rows if row[2]}
    if len(lengths) != 1:
        return None
    (length,) = lengths
    assert length is not None
    return series.source, series.metric, int(length), is_global(series)


def is_global(series: SeriesInfo) -> bool:
    return series.labels.get("list", "global") == "global"


def coverage(
    store: Store,
    keys: Iterable[Listing],
    since: int | None = None,
    until: int | None = None,
) -> dict[Listing, set[int]]:
    """Per listing, the starts in [since, until) of the periods it is known to have been
    published for: those any series stored under it has a point for (one look-up of the
    platform's chart series, one read of the snapshots' distinct starts per listing)."""
    members: dict[tuple[str, str], dict[bool, list[int]]] = {}
    out: dict[Listing, set[int]] = {}
    for key in dict.fromkeys(keys):
        source, metric, length, kind = key
        lists = members.get((source, metric))
        if lists is None:
            lists = members[(source, metric)] = {True: [], False: []}
            for s in store.find_series(None, source, metric):
                lists[is_global(s)].append(s.id)
        out[key] = set(store.period_starts(lists[kind], length, since, until))
    return out


def with_absences(rows: Sequence[Row], weeks: set[int], length: int) -> list[Row]:
    """A chart series' rows plus a "not in chart" row (of `length` seconds) for each period
    of its listing (`weeks`, their starts) it lacks."""
    have = {row[0] for row in rows}
    absent: list[Row] = [(start, None, length, None, None) for start in weeks - have]
    if not absent:
        return list(rows)
    return sorted([*rows, *absent], key=lambda row: row[0])


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


def resample(rows: Sequence[Row], step: int) -> list[Row]:
    """The last row of each `step`-second bucket, spanning the bucket [start, end).

    A sudden change anywhere in a bucket marks the bucket; whether it was backfilled and
    whether it is "not in chart" is its last point's.
    """
    origin = bucket_origin(step)
    out: list[Row] = []
    swung = 0
    for ts, value, _, sig, flags in rows:
        bits = flags or 0
        start = ts - (ts - origin) % step
        if out and out[-1][0] == start:
            swung |= bits & SUDDEN
            out[-1] = (start, value, step, sig, (bits & ~SUDDEN) | swung)
        else:
            swung = bits & SUDDEN
            out.append((start, value, step, sig, bits))
    return out
