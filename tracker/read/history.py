"""Series listing and history: what is stored, and the points of a subject's series."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracker.read import names, periods
from tracker.read.records import History, HistoryQuery, PointRecord, SeriesPoints, SeriesRecord
from tracker.store import SeriesInfo, Store


def record(s: SeriesInfo, points: int | None = None, first: int | None = None,
           last: int | None = None) -> SeriesRecord:  # fmt: skip
    return SeriesRecord(
        s.id, s.subject, s.source, s.metric, s.key, s.label, dict(s.labels), points, first, last
    )


def series(
    store: Store,
    subject: str | None = None,
    platform: str | None = None,
    metric: str | None = None,
) -> list[SeriesRecord]:
    """Every stored series matching the filters, with its number of points and the start of
    its first and last; an UnknownName (with suggestions) when none matches."""
    found = names.find(store, subject, platform, metric)
    spans = store.extents([s.id for s in found])
    out = []
    for s in found:
        count, first, last = spans.get(s.id, (0, None, None))
        out.append(record(s, count, first, last))
    return out


def load(
    store: Store, found: Sequence[SeriesInfo], since: int | None = None, until: int | None = None
) -> list[tuple[SeriesInfo, list[PointRecord]]]:
    """Each series with its points in [since, until), charts with their weeks not in chart."""
    loaded = [(s, periods.points(store.points(s.id, since, until))) for s in found]
    weeks = periods.coverage(loaded)
    out = []
    for s, found_points in loaded:
        key = periods.listing(s, found_points)
        if key is not None:
            found_points = periods.with_absences(found_points, weeks.get(key, set()))
        out.append((s, found_points))
    return out


def history(store: Store, q: HistoryQuery) -> History:
    """The points of every series of the subject matching the query, oldest first per series;
    resampled buckets span [start, end); relative to an event, each point says its days from it
    and whether it is before, the event's, or after."""
    found = names.find(store, q.subject, q.platform, q.metric, q.labels)
    out = []
    for s, points in load(store, found, q.since, q.until):
        if q.every:
            points = periods.resample(points, q.every)
        if q.event is not None:
            day = q.event[1]
            points = [periods.relative(p, day) for p in points]
        out.append(SeriesPoints(record(s), tuple(points)))
    return History(q, tuple(out))


@dataclass(frozen=True, slots=True)
class Swing:
    """A value stored flagged as a sudden change, with the value before it."""

    series: SeriesInfo
    at: int
    before: int | None
    value: int


def sudden_changes(store: Store, since: int, limit: int = 20) -> list[Swing]:
    """The newest values flagged SUDDEN since a time, newest first."""
    flagged = store.sudden(since, limit)
    if not flagged:
        return []
    by_id = {s.id: s for s in store.find_series()}
    swings = []
    for series_id, ts, value in flagged:
        if series_id not in by_id:
            continue
        previous = store.latest(series_id, ts - 1)
        swings.append(Swing(by_id[series_id], ts, previous[1] if previous else None, value))
    return swings
