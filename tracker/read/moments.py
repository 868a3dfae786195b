"""`compare --at`: each series at the end of day N of an event.

A value is the point that holds at that moment: the period (day, chart week) containing it,
or the newest instant at or before it. A period's value never outlives its end; a chart week
whose listing lacks the series is "not in chart"; nothing is interpolated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from tracker.baselines import end_of_day
from tracker.errors import UnknownName
from tracker.read import names, periods
from tracker.read.history import load, record
from tracker.read.records import NO_VALUE, NOT_IN_CHART, VALUE, AtCell, AtRow, AtTable
from tracker.store import SeriesInfo, Store


def values_at(
    store: Store,
    subjects: Sequence[str],
    days: Sequence[int],
    on: tuple[str, date],
    platform: str | None = None,
    metric: str | None = None,
    *,
    strict: bool = True,
) -> AtTable:
    """Every series of `subjects` at the end of each day N after the event `on`.

    `strict`: a subject without series is an UnknownName (else it is left out: the default
    subjects of a campaign need not all be measured yet).
    """
    moments = [end_of_day(on[1], n) for n in days]
    found: list[SeriesInfo] = []
    for subject in subjects:
        try:
            found += names.find(store, subject, platform, metric)
        except UnknownName:
            if strict:
                raise
    rows = []
    for s, points in load(store, found):
        cells = []
        for moment in moments:
            held = periods.at(points, moment)
            if held is None:
                cells.append(AtCell(None, NO_VALUE))
            else:
                cells.append(AtCell(held, NOT_IN_CHART if held.value is None else VALUE))
        rows.append(AtRow(record(s), tuple(cells)))
    return AtTable(on[0], on[1], tuple(days), tuple(rows))
