"""The records the read model returns: frozen, and each `to_dict()` is JSON-ready.

Every face (the CLI's table, CSV and JSON; the report; the web API) renders these and only
these. Times are integer UTC seconds inside a record and ISO 8601 strings in `to_dict()`.
A point is an instant (`end` is None) or a period [start, end) — a chart week, a day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tracker.core import DAY
from tracker.store.models import BACKFILLED, SUDDEN
from tracker.timeutil import from_epoch

# The version of every JSON document the read commands write (see the README).
SCHEMA = "tracker.read/1"

# A point's status: a measured value, or a chart's weekly listing without the series in it.
VALUE = "value"
NOT_IN_CHART = "not in chart"
# Where a point sits against an event's day (`--relative-to`).
BEFORE, EVENT, AFTER = "before", "event", "after"


def iso(ts: int | None) -> str | None:
    return None if ts is None else from_epoch(ts).isoformat()


@dataclass(frozen=True, slots=True)
class SeriesRecord:
    """One stored series: who, where, what, its labels, and how many points it has."""

    id: int
    subject: str
    platform: str
    metric: str
    key: str  # the platform's id (a DID, a title|season|list|category key ...)
    label: str  # what the platform calls it (a handle, a title)
    labels: Mapping[str, str] = field(default_factory=dict)
    points: int | None = None  # filled in by `series()`, not by `history()`
    first: int | None = None
    last: int | None = None

    @property
    def name(self) -> str:
        return self.label or self.key

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "subject": self.subject,
            "platform": self.platform,
            "metric": self.metric,
            "key": self.key,
            "label": self.label,
            "labels": dict(sorted(self.labels.items())),
        }
        if self.points is not None:
            out |= {"points": self.points, "first": iso(self.first), "last": iso(self.last)}
        return out


@dataclass(frozen=True, slots=True)
class PointRecord:
    """A value at an instant, over a period, or a chart period without the series."""

    start: int
    end: int | None  # exclusive; None for an instant
    value: int | None  # None when status is NOT_IN_CHART
    status: str = VALUE
    backfilled: bool = False
    sudden: bool = False
    # Relative to an event (history --relative-to): days from the event's day to the start
    # and to the last day of the period, and where the point sits against the event's day.
    day: int | None = None
    day_end: int | None = None
    phase: str | None = None
    sig: int | None = None  # significant figures of a rounded value; None = exact

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start": iso(self.start),
            "end": iso(self.end),
            "value": self.value,
            "status": self.status,
            "backfilled": self.backfilled,
            "sudden": self.sudden,
            "significant_figures": self.sig,
        }
        if self.phase is not None:
            out |= {"day": self.day, "day_end": self.day_end, "phase": self.phase}
        return out


# A point as a row: (start, value, period, sig, flags), as the store returns it; value None
# for a chart period without the series, period None for an instant.
Row = tuple[int, int | None, int | None, int | None, int | None]


def place(start: int, end: int | None, first: int) -> tuple[int, int, str]:
    """(days from the event's day to the start, to the last day, phase) of a point against
    the event's day starting at `first`: a period that contains the day is the event's, never
    before it."""
    last_second = end - 1 if end is not None else start
    if last_second < first:
        phase = BEFORE
    elif start >= first + DAY:
        phase = AFTER
    else:
        phase = EVENT
    return (start - first) // DAY, (last_second - first) // DAY, phase


def record(row: Row, first: int | None = None) -> PointRecord:
    """One row as a point record; with `first` (the first second of an event's day), placed
    against the event."""
    ts, value, period, sig, flags = row
    start = int(ts)
    end = start + int(period) if period else None
    bits = flags or 0
    status = VALUE if value is not None else NOT_IN_CHART
    number = int(value) if value is not None else None
    day = day_end = phase = None
    if first is not None:
        day, day_end, phase = place(start, end, first)
    return PointRecord(
        start, end, number, status, bool(bits & BACKFILLED), bool(bits & SUDDEN),
        day, day_end, phase, sig,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """What `history` is asked for; the CLI builds it from the options."""

    subject: str
    platform: str | None = None
    metric: str | None = None
    since: int | None = None
    until: int | None = None  # exclusive
    every: int | None = None  # resample: the last value of each bucket of this many seconds
    labels: Mapping[str, str] = field(default_factory=dict)
    event: tuple[str, date] | None = None  # (name, day) that days count from


@dataclass(frozen=True, slots=True)
class SeriesPoints:
    """One series and its points, kept as rows (start, value, period, sig, flags) — the
    store's, value None for "not in chart" — so that a 10,000-point answer builds no object
    per point unless a face asks for `points`."""

    series: SeriesRecord
    rows: tuple[Row, ...]
    first: int | None = None  # the first second of the event's day, counted from (--relative-to)

    @property
    def points(self) -> tuple[PointRecord, ...]:
        first = self.first
        return tuple(record(row, first) for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return self.series.to_dict() | {"points": [p.to_dict() for p in self.points]}


@dataclass(frozen=True, slots=True)
class History:
    query: HistoryQuery
    series: tuple[SeriesPoints, ...]

    def to_dict(self) -> dict[str, Any]:
        return self.to_dict_head() | {"series": [s.to_dict() for s in self.series]}

    def to_dict_head(self) -> dict[str, Any]:
        """The document without its series (written apart, a point at a time, by
        `tracker.read.documents`)."""
        q = self.query
        event = None if q.event is None else {"name": q.event[0], "date": q.event[1].isoformat()}
        return {
            "schema": SCHEMA,
            "kind": "history",
            "query": {
                "subject": q.subject,
                "platform": q.platform,
                "metric": q.metric,
                "since": iso(q.since),
                "until": iso(q.until),
                "every_seconds": q.every,
                "labels": dict(q.labels),
                "relative_to": event,
            },
        }


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    what: str
    start: date
    end: date | None  # the last day of a period (a chart week ends on Sunday)
    value: int
    backfilled: bool = False

    @property
    def when(self) -> str:
        return f"week ending {self.end}" if self.end else str(self.start)

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "value": self.value,
            "backfilled": self.backfilled,
        }


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    """A baseline or a claim of the campaign against what was measured: the one verdict
    `claims`, `compare` and the report all show."""

    name: str
    role: str  # baseline | claim
    subject: str
    platform: str
    metric: str
    claimed: int
    sig: int | None  # significant figures the figure was written with; None = exact
    figure: str  # the claimed figure as written for people ("3.4M")
    at: date
    text: str
    citation: str
    verdict: str  # confirmed | contradicted | not measurable yet
    measured: int | None
    summary: str
    evidence: tuple[EvidenceRecord, ...] = ()
    action: str = ""
    # The newest value of the reference's series, whenever it was measured (compare's "now").
    latest: tuple[int, int] | None = None
    latest_series: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "subject": self.subject,
            "platform": self.platform,
            "metric": self.metric,
            "claimed": self.claimed,
            "significant_figures": self.sig,
            "at": self.at.isoformat(),
            "text": self.text,
            "citation": self.citation,
            "verdict": self.verdict,
            "measured": self.measured,
            "summary": self.summary,
            "evidence": [e.to_dict() for e in self.evidence],
            "action": self.action,
            "latest": None
            if self.latest is None
            else {
                "time": iso(self.latest[0]),
                "value": self.latest[1],
                "series": self.latest_series,
            },
        }


@dataclass(frozen=True, slots=True)
class AtCell:
    """A series at the end of day N: the point that holds then, or why there is none."""

    point: PointRecord | None
    status: str  # VALUE | NOT_IN_CHART | "no value"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "point": None if self.point is None else self.point.to_dict(),
        }


NO_VALUE = "no value"


@dataclass(frozen=True, slots=True)
class AtRow:
    series: SeriesRecord
    cells: tuple[AtCell, ...]

    def to_dict(self) -> dict[str, Any]:
        return self.series.to_dict() | {"cells": [c.to_dict() for c in self.cells]}


@dataclass(frozen=True, slots=True)
class AtTable:
    """`compare --at`: each series at the end of day N of an event, for every N asked."""

    event: str
    day: date
    days: tuple[int, ...]
    rows: tuple[AtRow, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "kind": "compare-at",
            "event": {"name": self.event, "date": self.day.isoformat()},
            "days": list(self.days),
            "rows": [r.to_dict() for r in self.rows],
        }


def document(kind: str, key: str, records: list[Any]) -> dict[str, Any]:
    """A versioned JSON document holding a list of records."""
    return {"schema": SCHEMA, "kind": kind, key: [r.to_dict() for r in records]}
