"""Series listing and history: what is stored, and the points of a subject's series."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from tracker.read import names, periods
from tracker.read.records import (
    History,
    HistoryQuery,
    PointRecord,
    Row,
    SeriesPoints,
    SeriesRecord,
)
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


def rows(
    store: Store, found: Sequence[SeriesInfo], since: int | None = None, until: int | None = None
) -> list[tuple[SeriesInfo, list[Row]]]:
    """Each series with its rows in [since, until), oldest first; a chart series with a "not
    in chart" row for each week in that range its listing was published without it."""
    loaded = [(s, store.points(s.id, since, until)) for s in found]
    keys: dict[int, periods.Listing] = {}
    for s, stored in loaded:
        if s.metric != periods.CHART:
            continue
        # A chart without a point in the range tells its period's length by its others.
        key = periods.listing(s, stored or store.points(s.id))
        if key is not None:
            keys[s.id] = key
    if not keys:
        return [(s, list(stored)) for s, stored in loaded]
    weeks = periods.coverage(store, keys.values(), since, until)
    out = []
    for s, stored in loaded:
        key = keys.get(s.id)
        found_rows: list[Row] = list(stored)
        if key is not None:
            found_rows = periods.with_absences(found_rows, weeks[key], key[2])
        out.append((s, found_rows))
    return out


def series_rows(
    store: Store,
    s: SeriesInfo,
    since: int | None = None,
    until: int | None = None,
    published: Callable[[periods.Listing], Iterable[int]] | None = None,
) -> Sequence[Row]:
    """One series' rows in [since, until), as `rows` gives them: a series that is not a
    chart's as the store read them (no copy); a chart series with its "not in chart" weeks.

    `published`, when given, answers `periods.coverage` for one listing over all time (a
    caller's cache of it: the web's, polled); the weeks outside [since, until) are left out
    here."""
    stored = store.points(s.id, since, until)
    if s.metric != periods.CHART:
        return stored
    key = periods.listing(s, stored or store.points(s.id))
    if key is None:
        return stored
    if published is None:
        weeks = periods.coverage(store, [key], since, until)[key]
    else:
        lo = since if since is not None else -(2**63)
        hi = until if until is not None else 2**63
        weeks = {w for w in published(key) if lo <= w < hi}
    return periods.with_absences(stored, weeks, key[2])


def load(
    store: Store, found: Sequence[SeriesInfo], since: int | None = None, until: int | None = None
) -> list[tuple[SeriesInfo, list[PointRecord]]]:
    """`rows` as point records."""
    return [(s, periods.points(found_rows)) for s, found_rows in rows(store, found, since, until)]


def history(store: Store, q: HistoryQuery) -> History:
    """The points of every series of the subject matching the query, oldest first per series;
    resampled buckets span [start, end); relative to an event, each point says its days from it
    and whether it is before, the event's, or after."""
    found = names.find(store, q.subject, q.platform, q.metric, q.labels)
    first = None if q.event is None else periods.event_start(q.event[1])
    out = []
    for s, found_rows in rows(store, found, q.since, q.until):
        if q.every:
            found_rows = periods.resample(found_rows, q.every)
        out.append(SeriesPoints(record(s), tuple(found_rows), first))
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
