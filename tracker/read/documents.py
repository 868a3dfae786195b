"""A history's points written as text straight from their rows: the JSON document and the CSV
cells, byte for byte what `json.dumps(history.to_dict())` and the records would give, without
a record, a dict or a datetime per point.

A 10,000-point answer spent most of its time there: a frozen record, its `to_dict`, two
`datetime.isoformat` calls and the encoder's walk over a dict per point. Here each point is
one f-string, its times assembled from a string per day and one per second of the day, each
computed once (`Stamps`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from tracker.core import DAY
from tracker.read.records import NOT_IN_CHART, VALUE, History, Row, SeriesPoints, place
from tracker.store.models import BACKFILLED, FLAG_BITS, SUDDEN

# Points per chunk written: the text of one chunk is held at a time, not the whole answer's.
CHUNK = 4096
_EPOCH_DAY = date(1970, 1, 1).toordinal()
# A point's two flags as JSON members, by its flag bits (`flags & FLAG_BITS`).
FLAGS_JSON = tuple(
    f'"backfilled":{str(bool(bits & BACKFILLED)).lower()},'
    f'"sudden":{str(bool(bits & SUDDEN)).lower()}'
    for bits in range(FLAG_BITS + 1)
)


_BOOLS = ("false", "true")
_ABSENT = f'"value":null,"status":"{NOT_IN_CHART}"'
# What follows a plain instant's value (no flags, no significant figures).
_PLAIN = f',"status":"{VALUE}",{FLAGS_JSON[0]},"significant_figures":null}}'


def compact(data: Any) -> str:
    """What `emit_json` writes to a pipe: no spaces, UTF-8 text as it is."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class Stamps:
    """ISO 8601 UTC times of integer seconds, as `datetime.isoformat` writes them
    ('2022-04-18T00:00:00+00:00'), from a cache of day strings and of times of day."""

    def __init__(self) -> None:
        self.days: dict[int, str] = {}
        self.clocks: dict[int, str] = {}

    def day(self, number: int) -> str:
        text = self.days[number] = date.fromordinal(_EPOCH_DAY + number).isoformat() + "T"
        return text

    def clock(self, second: int) -> str:
        hours, rest = divmod(second, 3600)
        text = self.clocks[second] = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}+00:00"
        return text

    def __call__(self, ts: int) -> str:
        number, second = divmod(ts, DAY)
        return (self.days.get(number) or self.day(number)) + (
            self.clocks.get(second) or self.clock(second)
        )


def points_json(rows: Sequence[Row], first: int | None, stamp: Stamps) -> Iterator[str]:
    """The JSON of each point of `rows` (`PointRecord.to_dict()`, compact), a chunk at a time,
    joined by commas.

    Most points are plain instants (no end, no flags, no figures, a value): each is one
    f-string in a list comprehension, ~0.25 µs where a loop with a call per point took ~0.4.
    Any other point, and every point placed against an event, goes through `point`."""
    day_of, clock_of, day, clock = stamp.days.get, stamp.clocks.get, stamp.day, stamp.clock
    tails: dict[tuple[int | None, int | None], str] = {}

    def point(ts: int, value: int | None, period: int | None, sig: int | None,
              flags: int | None) -> str:  # fmt: skip
        start = stamp(ts)
        end = f'"{stamp(ts + period)}"' if period else "null"
        # What follows the value: flags and significant figures, the same for most points.
        tail = tails.get((flags, sig))
        if tail is None:
            figures = "null" if sig is None else sig
            tail = tails[(flags, sig)] = (
                f'{FLAGS_JSON[(flags or 0) & FLAG_BITS]},"significant_figures":{figures}'
            )
        if first is not None:
            at, at_end, phase = place(ts, ts + period if period else None, first)
            tail = f'{tail},"day":{at},"day_end":{at_end},"phase":"{phase}"'
        if value is None:
            return f'{{"start":"{start}","end":{end},{_ABSENT},{tail}}}'
        return f'{{"start":"{start}","end":{end},"value":{value},"status":"{VALUE}",{tail}}}'

    plain = first is None
    for at in range(0, len(rows), CHUNK):
        parts = [
            f'{{"start":"{day_of(ts // DAY) or day(ts // DAY)}'
            f'{clock_of(ts % DAY) or clock(ts % DAY)}","end":null,"value":{value}{_PLAIN}'
            if plain and not period and sig is None and not flags and value is not None
            else point(ts, value, period, sig, flags)
            for ts, value, period, sig, flags in rows[at : at + CHUNK]
        ]
        yield ("," if at else "") + ",".join(parts)


def series_json(found: SeriesPoints, stamp: Stamps) -> Iterator[str]:
    """The JSON of one series and its points, in chunks."""
    head = found.series.to_dict()
    if "points" in head:  # a record with counts: its key would take the points' place
        yield compact(found.to_dict())
        return
    yield compact(head)[:-1] + ',"points":['
    yield from points_json(found.rows, found.first, stamp)
    yield "]}"


def history_json(result: History) -> Iterator[str]:
    """`compact(result.to_dict())`, in chunks."""
    head = result.to_dict_head()
    yield compact(head)[:-1] + ',"series":['
    stamp = Stamps()
    for number, found in enumerate(result.series):
        if number:
            yield ","
        yield from series_json(found, stamp)
    yield "]}"


def csv_cell(text: str) -> str:
    """One cell as the csv module writes it in a row (quoted where it must be)."""
    out = io.StringIO()
    csv.writer(out).writerow([text, "x"])
    return out.getvalue()[: -len(",x\r\n")]


def history_csv(result: History, keys: Sequence[str]) -> Iterator[str]:
    """One CSV line per point, as the csv module writes them, in chunks: identity, start, end,
    day, day_end, phase, value, status, backfilled, sudden, then the labels `keys`
    (`formats.HISTORY_COLUMNS`)."""
    stamp = Stamps()
    for found in result.series:
        yield from series_csv(found, keys, stamp)


def series_csv(found: SeriesPoints, keys: Sequence[str], stamp: Stamps) -> Iterator[str]:
    """One series' CSV lines, in chunks. The cells that name the series are quoted once; a
    point's own cells (times, numbers, fixed words) never need quoting. A plain instant (no
    end, no flags, a value, no event) is one f-string in a comprehension, as in `points_json`."""
    day_of, clock_of, day, clock = stamp.days.get, stamp.clocks.get, stamp.day, stamp.clock
    s = found.series
    ident = [s.subject, s.platform, s.metric, s.key, s.label]
    prefix = ",".join(csv_cell(c) for c in ident) + ","
    suffix = "".join("," + csv_cell(s.labels.get(k, "")) for k in keys) + "\r\n"
    first = found.first
    plain_tail = f",{VALUE},{_BOOLS[0]},{_BOOLS[0]}{suffix}"

    def line(ts: int, value: int | None, period: int | None, flags: int | None) -> str:
        bits = flags or 0
        end = ts + period if period else None
        days = ",,"
        if first is not None:
            at, at_end, phase = place(ts, end, first)
            days = f"{at},{at_end},{phase}"
        shown = f"{value},{VALUE}" if value is not None else f",{NOT_IN_CHART}"
        return (
            f"{prefix}{stamp(ts)},{'' if end is None else stamp(end)},{days},{shown},"
            f"{_BOOLS[bits & BACKFILLED]},{_BOOLS[(bits & SUDDEN) >> 1]}{suffix}"
        )

    plain = first is None
    rows = found.rows
    for at in range(0, len(rows), CHUNK):
        yield "".join(
            [
                f"{prefix}{day_of(ts // DAY) or day(ts // DAY)}"
                f"{clock_of(ts % DAY) or clock(ts % DAY)},,,,,{value}{plain_tail}"
                if plain and not period and not flags and value is not None
                else line(ts, value, period, flags)
                for ts, value, period, _, flags in rows[at : at + CHUNK]
            ]
        )
