"""How `compare`, `compare --at` and `claims` print the read model's verdicts and values at
day N (the contracts are those of `formats`: fixed CSV columns, tracker.read/1 JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tracker.baselines import Between, Change, human, significant
from tracker.commands.formats import (
    AT_COLUMNS,
    BACKFILL_NOTE,
    COMPARE_COLUMNS,
    emit,
    emit_csv,
    emit_json,
    heading,
    identity,
    label_keys,
    name,
)
from tracker.core import DAY
from tracker.read.records import (
    NO_VALUE,
    NOT_IN_CHART,
    AtRow,
    AtTable,
    PointRecord,
    VerdictRecord,
    document,
    iso,
)
from tracker.timeutil import from_epoch

if TYPE_CHECKING:
    from rich.table import Table


# -- compare / claims -----------------------------------------------------------------------
def _table(*columns: str, whole: Sequence[str] = ()) -> Table:
    """A Rich table that never cuts a cell ("Slo…"): `whole` columns keep each cell on one
    line, the others wrap."""
    from rich.table import Table

    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in whole)
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
        emit_json(document("compare", "references", list(rows)))
        return
    if fmt == "csv":
        emit_csv(COMPARE_COLUMNS, (
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
        emit(
            heading(f"{r.role}: {r.subject} · {r.platform} {r.metric} · {r.figure} on {r.at}{mark}")
        )
        emit(heading(f"  {r.verdict}{measured}{latest}"))
    for number, note in enumerate(notes, 1):
        emit(heading(f"[{number}] {note}"))


def claims(verdicts: Sequence[VerdictRecord], fmt: str) -> None:
    """Each claim, its verdict, what was measured, the evidence and what would measure it."""
    if fmt == "json":
        emit_json(document("claims", "claims", list(verdicts)))
        return
    table = _table("#", "claim", "claimed", "verdict", "measured", whole=("#", "claim"))
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
        emit_json(result.to_dict())
        return
    names = [_day_name(n) for n in result.days]
    if fmt == "csv":
        keys = label_keys(r.series for r in result.rows)
        emit_csv([*AT_COLUMNS, *(f"label.{k}" for k in keys)], (
            {**identity(row.series, keys), "day": day, "status": cell.status,
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
        emit(("\n" if number else "") + heading(f"{subject} · {platform} {metric}"))
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
        emit("    " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
        emit("\n")
        for full, cells in lines:
            emit(heading("  " + full))
            emit(
                "    " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
            )
            emit("\n")
    change = f"{names[0]} → {names[-1]}" if len(names) > 1 else names[0]
    emit("\n" + heading(
        f"{result.event} = {result.day}; each value is the one that holds at the end of that day "
        "(its date or period in brackets): a period's value only within the period, an instant's "
        f"the last recorded at or before; never interpolated; change: {change}"
    ))  # fmt: skip
    if flagged:
        emit(BACKFILL_NOTE + "\n")


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
