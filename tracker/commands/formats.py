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

from tracker.baselines import Between, Change, human, significant
from tracker.core import DAY
from tracker.read.records import (
    NO_VALUE,
    NOT_IN_CHART,
    AtRow,
    AtTable,
    History,
    PointRecord,
    SeriesRecord,
    VerdictRecord,
    document,
    iso,
)
from tracker.timeutil import from_epoch

if TYPE_CHECKING:
    from rich.table import Table

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


def _out(text: str) -> None:
    sys.stdout.write(text)


def _json(data: dict[str, Any]) -> None:
    _out(json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def _csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else value


def _label_keys(series: Iterable[SeriesRecord]) -> list[str]:
    return sorted({k for s in series for k in s.labels})


def _identity(s: SeriesRecord, keys: Sequence[str]) -> dict[str, Any]:
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
    start = from_epoch(p.start)
    if p.end is None:
        return f"{start:%Y-%m-%d %H:%M}"
    last = from_epoch(p.end - 1)
    if p.start % DAY == 0 and p.end % DAY == 0:
        return (
            f"{start:%Y-%m-%d}"
            if p.end - p.start == DAY
            else f"{start:%Y-%m-%d} .. {last:%Y-%m-%d}"
        )
    return f"{start:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M}"


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
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.rjust(w) if i == right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row[:-1], widths[:-1], strict=True))
        ]
        last = row[-1]
        if right == len(header) - 1:
            last = last.rjust(widths[-1])
        parts = textwrap.wrap(last, room, break_on_hyphens=False) or [""]
        lines.append("  ".join([*cells, parts[0]]).rstrip())
        lines += [" " * (lead + 2) + part for part in parts[1:]]
    return "\n".join(lines) + "\n"


def _heading(text: str) -> str:
    """A line that names a series in full, wrapped (never cut) at the terminal's width."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width(), subsequent_indent="    ")) + "\n"


# -- series ---------------------------------------------------------------------------------
def series(found: Sequence[SeriesRecord], fmt: str) -> None:
    if fmt == "json":
        _json(document("series", "series", list(found)))
        return
    if fmt == "csv":
        keys = _label_keys(found)
        columns = [*SERIES_COLUMNS, *(f"label.{k}" for k in keys)]
        _csv(columns, ({**_identity(s, keys), "points": s.points, "first": iso(s.first),
                        "last": iso(s.last)} for s in found))  # fmt: skip
        return
    groups: dict[tuple[str, str, str], list[SeriesRecord]] = {}
    for s in found:
        groups.setdefault((s.subject, s.platform, s.metric), []).append(s)
    for number, ((subject, platform, metric), members) in enumerate(groups.items()):
        count = f" ({len(members)} series)" if len(members) > 1 else ""
        _out(("\n" if number else "") + _heading(f"{subject} · {platform} {metric}{count}"))
        rows = [
            (
                f"  {s.points or 0:,}",
                "—" if s.first is None else f"{from_epoch(s.first):%Y-%m-%d}",
                "—" if s.last is None else f"{from_epoch(s.last):%Y-%m-%d}",
                name(s),
            )
            for s in members
        ]
        _out(_plain(("  points", "first", "last", "series"), rows, right=0))
    _out(f"{len(found)} series\n")


# -- history --------------------------------------------------------------------------------
def history(result: History, fmt: str) -> None:
    """JSON: the History document. CSV: one row per point, fixed columns. Table: one block
    per series (its full name on a line of its own), then its points."""
    if fmt == "json":
        _json(result.to_dict())
        return
    if fmt == "csv":
        keys = _label_keys(s.series for s in result.series)
        columns = [*HISTORY_COLUMNS, *(f"label.{k}" for k in keys)]
        _csv(
            columns,
            (
                {
                    **_identity(s.series, keys),
                    **p.to_dict(),
                    "start": iso(p.start),
                    "end": iso(p.end),
                }
                for s in result.series
                for p in s.points
            ),
        )
        return
    relative = result.query.event is not None
    flagged = swung = False
    for number, s in enumerate(result.series):
        r = s.series
        _out(
            ("\n" if number else "")
            + _heading(f"{r.subject} · {r.platform} {r.metric} · {name(r)}")
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
        _out(_plain(["  " + header[0], *header[1:]], rows, right=len(header) - 1))
        if not s.points:
            _out("  (no values in that time range)\n")
    if flagged:
        _out(BACKFILL_NOTE + "\n")
    if swung:
        _out(SUDDEN_NOTE + "\n")


def _days(p: PointRecord) -> str:
    first = f"{p.day:+d}" if p.day else "0"
    if p.day_end is None or p.day_end == p.day:
        return first
    return f"{first}..{p.day_end:+d}" if p.day_end else f"{first}..0"


# -- compare / claims -----------------------------------------------------------------------
def _table(*columns: str) -> Table:
    from rich.table import Table

    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")  # wrap, never "Slo…"
    return table


def _print(*items: Any) -> None:
    from rich.console import Console

    console = Console(soft_wrap=False, markup=False, highlight=False)
    for item in items:
        console.print(item, soft_wrap=isinstance(item, str), markup=False)


def _change(before: int, after: int, sig: int | None, after_sig: int | None = None) -> str:
    change = Change(before, after)
    if change.delta == 0:
        return "±0"
    if not significant(change, sig, after_sig):
        return "within rounding"
    pct = "" if change.percent is None else f" ({change.percent:+.1f}%)"
    return f"{change.delta:+,}{pct}"


def compare(rows: Sequence[VerdictRecord], fmt: str) -> None:
    """Each baseline and claim: its verdict (the one `claims` gives) and the newest value."""
    if fmt == "json":
        _json(document("compare", "references", list(rows)))
        return
    if fmt == "csv":
        _csv(COMPARE_COLUMNS, (
            {**r.to_dict(), "platform": r.platform, "at": r.at.isoformat(),
             "latest_time": iso(r.latest[0]) if r.latest else None,
             "latest_value": r.latest[1] if r.latest else None}
            for r in rows
        ))  # fmt: skip
        return
    notes: list[str] = []
    for r in rows:
        if r.citation and r.citation not in notes:
            notes.append(r.citation)
        mark = f" [{notes.index(r.citation) + 1}]" if r.citation else ""
        latest = "; latest: not measured yet" if r.measured is None else ""
        if r.latest is not None:
            latest = f"; latest: {human(r.latest[1])} on {from_epoch(r.latest[0]):%Y-%m-%d}"
            latest += f" ({_change(r.claimed, r.latest[1], r.sig)} against the {r.role})"
        measured = "" if r.measured is None else f" {r.measured:,}"
        _out(
            _heading(
                f"{r.role}: {r.subject} · {r.platform} {r.metric} · {r.figure} on {r.at}{mark}"
            )
        )
        _out(_heading(f"  {r.verdict}{measured}{latest}"))
    for number, note in enumerate(notes, 1):
        _out(_heading(f"[{number}] {note}"))


def claims(verdicts: Sequence[VerdictRecord], fmt: str) -> None:
    """Each claim, its verdict, what was measured, the evidence and what would measure it."""
    if fmt == "json":
        _json(document("claims", "claims", list(verdicts)))
        return
    table = _table("#", "claim", "claimed", "verdict", "measured")
    for number, v in enumerate(verdicts, 1):
        measured = "—" if v.measured is None else f"{v.measured:,}"
        table.add_row(str(number), v.name, f"{v.figure} on {v.at}", v.verdict, measured)
    blocks = []
    for number, v in enumerate(verdicts, 1):
        lines = [f"[{number}] {v.name} ({v.subject}, {v.platform} {v.metric}): {v.verdict}"]
        if v.text or v.citation:
            quoted = f'"{v.text}"' if v.text else ""
            lines.append("    " + " — ".join(p for p in (quoted, v.citation) if p))
        if v.summary:
            lines.append(f"    {v.summary}")
        for e in v.evidence:
            late = " (backfilled)" if e.backfilled else ""
            lines.append(f"      {e.when:<22} {e.what}: {e.value:,}{late}")
        if v.action:
            lines.append(f"    to measure: {v.action}")
        blocks.append("\n".join(lines))
    _print(table, *blocks)


# -- compare --at ---------------------------------------------------------------------------
def _day_name(n: int) -> str:
    return f"day{n:+d}" if n else "day0"


def _between(a: PointRecord | None, b: PointRecord | None) -> Between:
    def pair(p: PointRecord | None) -> tuple[int, int] | None:
        return None if p is None or p.value is None else (p.start, p.value)

    return Between(pair(a), pair(b), a.sig if a else None, b.sig if b else None)


def _change_cells(a: PointRecord | None, b: PointRecord | None) -> list[str]:
    between = _between(a, b)
    change = between.change
    if change is None:
        return ["—"] * 4  # a gap stays a gap
    if a == b:
        return ["same measurement", "—", "—", "—"]  # nothing measured in between
    if change.delta and not between.significant:
        return ["within rounding", "—", "—", "—"]
    per_day = between.per_day
    return [
        f"{change.delta:+,}",
        "—" if change.percent is None else f"{change.percent:+.1f}%",
        "—" if change.multiple is None else f"{change.multiple:.2f}×",
        "—" if per_day is None else f"{per_day:+,.1f}",
    ]


def compare_at(result: AtTable, fmt: str) -> None:
    """Values at day N of an event, side by side, and the change from the first to the last."""
    if fmt == "json":
        _json(result.to_dict())
        return
    names = [_day_name(n) for n in result.days]
    if fmt == "csv":
        keys = _label_keys(r.series for r in result.rows)
        _csv([*AT_COLUMNS, *(f"label.{k}" for k in keys)], (
            {**_identity(row.series, keys), "day": day, "status": cell.status,
             **({} if cell.point is None else {
                 "start": iso(cell.point.start), "end": iso(cell.point.end),
                 "value": cell.point.value, "backfilled": cell.point.backfilled})}
            for row in result.rows
            for day, cell in zip(names, row.cells, strict=True)
        ))  # fmt: skip
        return
    groups: dict[tuple[str, str, str], list[AtRow]] = {}
    for row in result.rows:
        groups.setdefault((row.series.subject, row.series.platform, row.series.metric), []).append(
            row
        )
    flagged = False
    for number, ((subject, platform, metric), rows) in enumerate(groups.items()):
        _out(("\n" if number else "") + _heading(f"{subject} · {platform} {metric}"))
        lines = []
        for row in rows:
            cells = []
            for cell in row.cells:
                p = cell.point
                if p is None:
                    cells.append(NO_VALUE)
                elif p.value is None:
                    cells.append(f"{NOT_IN_CHART} ({_short(p)})")
                else:
                    flagged |= p.backfilled
                    cells.append(f"{p.value:,}{'*' if p.backfilled else ''} ({_short(p)})")
            if len(names) > 1:
                cells.append(_change_cell(row.cells[0].point, row.cells[-1].point))
            lines.append((name(row.series), cells))
        header = [*names, *(["change"] if len(names) > 1 else [])]
        widths = [max([len(h), *(len(c[i]) for _, c in lines)]) for i, h in enumerate(header)]
        _out("    " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
        _out("\n")
        for full, cells in lines:
            _out(_heading("  " + full))
            _out(
                "    " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
            )
            _out("\n")
    change = f"{names[0]} → {names[-1]}" if len(names) > 1 else names[0]
    _out("\n" + _heading(
        f"{result.event} = {result.day}; each value is the one that holds at the end of that day "
        "(its date or period in brackets): a period's value only within the period, an instant's "
        f"the last recorded at or before; never interpolated; change: {change}"
    ))  # fmt: skip
    if flagged:
        _out(BACKFILL_NOTE + "\n")


def _short(p: PointRecord) -> str:
    """'2023-12-16' for an instant; '2022-04-18..04-24' for a week."""
    start = from_epoch(p.start)
    if p.end is None or p.end - p.start <= DAY:
        return f"{start:%Y-%m-%d}"
    return f"{start:%Y-%m-%d}..{from_epoch(p.end - 1):%m-%d}"


def _change_cell(a: PointRecord | None, b: PointRecord | None) -> str:
    delta, pct, mult, per_day = _change_cells(a, b)
    if delta in ("—", "same measurement", "within rounding"):
        return delta
    return (
        f"{delta} ({', '.join(x for x in (pct, mult, per_day + '/day') if not x.startswith('—'))})"
    )
