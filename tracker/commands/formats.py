"""How the read model's records print: plain tables for people, CSV and JSON for programs.

Contracts (see the README, "Output formats"): a command's CSV has the same columns whatever
the data, then one `label.<key>` column per label key of the series shown, sorted; its JSON
is one document `{"schema": "tracker.read/1", "kind": ..., ...}`. Tables never cut an
identifying cell (a name, a country, a code): long rows wrap instead.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tracker.core import DAY
from tracker.read.records import (
    NOT_IN_CHART,
    History,
    PointRecord,
    SeriesRecord,
    document,
    iso,
)
from tracker.timeutil import from_epoch

if TYPE_CHECKING:
    pass

FORMATS = ("table", "csv", "json")
BACKFILL_NOTE = "* backfilled: fetched later from the source's history, not collected live"
SUDDEN_NOTE = (
    "! sudden change: beyond change_factor from the value before it (stored as sent; check it)"
)
HISTORY_COLUMNS = (
    "subject", "platform", "metric", "key", "label", "start", "end", "day", "day_end", "phase",
    "value", "status", "backfilled", "sudden",
)  # fmt: skip
SERIES_COLUMNS = ("subject", "platform", "metric", "key", "label", "points", "first", "last")
COMPARE_COLUMNS = (
    "name", "role", "subject", "platform", "metric", "claimed", "at", "verdict", "measured",
    "latest_time", "latest_value", "summary",
)  # fmt: skip
AT_COLUMNS = (
    "subject", "platform", "metric", "key", "label", "day", "status", "start", "end", "value",
    "backfilled",
)  # fmt: skip


def emit(text: str) -> None:
    sys.stdout.write(text)


def emit_json(data: dict[str, Any]) -> None:
    """Indented for a person at a terminal; compact for a pipe or a file, where Python's C
    encoder writes it ~4x faster (an indent sends json to its pure-Python encoder, which was
    three quarters of `history --format json`'s time)."""
    if sys.stdout.isatty():
        emit(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    else:
        emit(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")


def emit_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else value


def label_keys(series: Iterable[SeriesRecord]) -> list[str]:
    return sorted({k for s in series for k in s.labels})


def identity(s: SeriesRecord, keys: Sequence[str]) -> dict[str, Any]:
    return {
        "subject": s.subject, "platform": s.platform, "metric": s.metric, "key": s.key,
        "label": s.label, **{f"label.{k}": s.labels.get(k, "") for k in keys},
    }  # fmt: skip


def name(s: SeriesRecord) -> str:
    """The series as people call it: its label, then its labels, none cut."""
    extra = ", ".join(f"{k}={v}" for k, v in sorted(s.labels.items()) if v)
    return f"{s.name} [{extra}]" if extra else s.name


def span(p: PointRecord) -> str:
    """'2024-01-15 09:00' for an instant; '2022-04-18 .. 2022-04-24' for a week."""
    if p.end is None:
        return _minute(p.start)
    if p.start % DAY == 0 and p.end % DAY == 0:
        first = _day(p.start // DAY)
        return first if p.end - p.start == DAY else f"{first} .. {_day((p.end - 1) // DAY)}"
    return f"{_minute(p.start)} .. {_minute(p.end - 1)}"


_DAYS: dict[int, str] = {}


def _day(number: int) -> str:
    """'2022-04-18' for day `number` since the epoch; each day formatted once."""
    text = _DAYS.get(number)
    if text is None:
        text = _DAYS[number] = f"{from_epoch(number * DAY):%Y-%m-%d}"
    return text


def _minute(ts: int) -> str:
    number, second = divmod(ts, DAY)
    return f"{_day(number)} {second // 3600:02d}:{second % 3600 // 60:02d}"


def width() -> int:
    """The terminal's columns (COLUMNS when set), at least 60."""
    import shutil

    return max(shutil.get_terminal_size((80, 24)).columns, 60)


def _plain(header: Sequence[str], rows: Sequence[Sequence[str]], right: int | None = None) -> str:
    """Aligned columns, nothing cut: the last column wraps at the terminal's width, its
    continuation lines indented under it."""
    import textwrap

    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    lead = sum(widths[:-1]) + 2 * (len(widths) - 1)
    room = max(width() - lead, 24)
    # The leading columns of a row, padded, in one format call.
    pad = "  ".join(f"{{:>{w}}}" if i == right else f"{{:<{w}}}" for i, w in enumerate(widths[:-1]))
    pad += "  " if len(widths) > 1 else ""
    last_right = right == len(header) - 1
    lines = []
    for row in [header, *rows]:
        last = row[-1]
        if last_right:
            last = last.rjust(widths[-1])
        if len(last) <= room and last.isprintable():
            parts = [last]  # what textwrap gives a line that fits with no tab or newline
        else:
            parts = textwrap.wrap(last, room, break_on_hyphens=False) or [""]
        lines.append((pad.format(*row[:-1]) + parts[0]).rstrip())
        lines += [" " * (lead + 2) + part for part in parts[1:]]
    return "\n".join(lines) + "\n"


def heading(text: str) -> str:
    """A line that names a series in full, wrapped (never cut) at the terminal's width."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width(), subsequent_indent="    ")) + "\n"


# -- series ---------------------------------------------------------------------------------
def series(found: Sequence[SeriesRecord], fmt: str) -> None:
    if fmt == "json":
        emit_json(document("series", "series", list(found)))
        return
    if fmt == "csv":
        keys = label_keys(found)
        columns = [*SERIES_COLUMNS, *(f"label.{k}" for k in keys)]
        emit_csv(columns, ({**identity(s, keys), "points": s.points, "first": iso(s.first),
                        "last": iso(s.last)} for s in found))  # fmt: skip
        return
    groups: dict[tuple[str, str, str], list[SeriesRecord]] = {}
    for s in found:
        groups.setdefault((s.subject, s.platform, s.metric), []).append(s)
    for number, ((subject, platform, metric), members) in enumerate(groups.items()):
        count = f" ({len(members)} series)" if len(members) > 1 else ""
        emit(("\n" if number else "") + heading(f"{subject} · {platform} {metric}{count}"))
        rows = [
            (
                f"  {s.points or 0:,}",
                "—" if s.first is None else f"{from_epoch(s.first):%Y-%m-%d}",
                "—" if s.last is None else f"{from_epoch(s.last):%Y-%m-%d}",
                name(s),
            )
            for s in members
        ]
        emit(_plain(("  points", "first", "last", "series"), rows, right=0))
    emit(f"{len(found)} series\n")


# -- history --------------------------------------------------------------------------------
def history(result: History, fmt: str) -> None:
    """JSON: the History document. CSV: one row per point, fixed columns. Table: one block
    per series (its full name on a line of its own), then its points.

    JSON and CSV are written from the points' rows as they come (`tracker.read.documents`),
    a chunk at a time; an indented JSON for a terminal goes through the records."""
    from tracker.read import documents

    if fmt == "json":
        if sys.stdout.isatty():
            emit_json(result.to_dict())
            return
        write = sys.stdout.write
        for chunk in documents.history_json(result):
            write(chunk)
        write("\n")
        return
    if fmt == "csv":
        keys = label_keys(s.series for s in result.series)
        csv.writer(sys.stdout).writerow([*HISTORY_COLUMNS, *(f"label.{k}" for k in keys)])
        for chunk in documents.history_csv(result, keys):
            sys.stdout.write(chunk)
        return
    relative = result.query.event is not None
    flagged = swung = False
    for number, s in enumerate(result.series):
        r = s.series
        emit(
            ("\n" if number else "") + heading(f"{r.subject} · {r.platform} {r.metric} · {name(r)}")
        )
        header = ["when (UTC)", *(["day", "phase"] if result.query.event
                                  else []), "value"]  # fmt: skip
        rows = []
        for p in s.points:
            flagged |= p.backfilled
            swung |= p.sudden
            value = NOT_IN_CHART if p.value is None else f"{p.value:,}"
            value += ("*" if p.backfilled else "") + ("!" if p.sudden else "")
            days = []
            if relative:
                days = [_days(p), p.phase or ""]
            rows.append(["  " + span(p), *days, value])
        emit(_plain(["  " + header[0], *header[1:]], rows, right=len(header) - 1))
        if not s.rows:
            emit("  (no values in that time range)\n")
    if flagged:
        emit(BACKFILL_NOTE + "\n")
    if swung:
        emit(SUDDEN_NOTE + "\n")


def _days(p: PointRecord) -> str:
    first = f"{p.day:+d}" if p.day else "0"
    if p.day_end is None or p.day_end == p.day:
        return first
    return f"{first}..{p.day_end:+d}" if p.day_end else f"{first}..0"
