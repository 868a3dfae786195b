"""Terminal output of the read commands: Rich tables for people, CSV and JSON for programs."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tracker.baselines import Comparison, human, significant
from tracker.query import HistoryResult
from tracker.store import SourceStatus
from tracker.timeutil import from_epoch

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


def _console() -> Console:
    from rich.console import Console

    return Console(soft_wrap=False)


def _table(*columns: str) -> Table:
    # Rich is loaded only when a table is drawn: CSV and JSON output skip it.
    from rich.table import Table

    return Table(*columns)


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def status(rows: Sequence[SourceStatus]) -> None:
    console = _console()
    if not rows:
        console.print("no collection attempts recorded yet: run `tracker run --once`")
        return
    table = _table("source", "last", "last success", "last failure", "failed in a row", "next run")
    for row in rows:
        table.add_row(
            row.source,
            row.last_outcome or "—",
            _when(row.last_success),
            _when(row.last_failure),
            str(row.failures_in_a_row),
            _when(row.next_run) if row.next_run else "daemon not running",
        )
    console.print(table)
    for row in rows:
        if row.last_cause:
            console.print(f"{row.source} last failure: {row.last_cause}", soft_wrap=True)


def _series_name(labels: dict[str, str], label: str, key: str) -> str:
    extra = ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if v)
    return " ".join(p for p in (label or key, f"[{extra}]" if extra else "") if p)


def history(result: HistoryResult, fmt: str) -> None:
    records: list[dict[str, Any]] = []
    for series in result.series:
        for ts, value in result.points[series.id]:
            records.append(
                {
                    "time": from_epoch(ts).isoformat(),
                    "source": series.source,
                    "metric": series.metric,
                    "subject": series.subject,
                    "series": _series_name(series.labels, series.label, series.key),
                    "value": value,
                }
            )
    if fmt == "json":
        sys.stdout.write(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
        return
    if fmt == "csv":
        writer = csv.DictWriter(
            sys.stdout, fieldnames=["time", "source", "metric", "subject", "series", "value"]
        )
        writer.writeheader()
        writer.writerows(records)
        return
    # Plain aligned columns, not a Rich table: a history can run to thousands of rows, and
    # the query path should start fast.
    header = ("time (UTC)", "source", "metric", "series", "value")
    lines = [
        (r["time"][:16].replace("T", " "), r["source"], r["metric"], r["series"], f"{r['value']:,}")
        for r in records
    ]
    widths = [max([len(h), *(len(line[i]) for line in lines)]) for i, h in enumerate(header)]
    out = sys.stdout
    for row in [header, *lines]:
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths[:-1], strict=True)]
        out.write("  ".join([*cells, row[-1].rjust(widths[-1])]) + "\n")
    if not records:
        out.write("(no values in that time range)\n")


def compare(rows: Sequence[Comparison]) -> None:
    console = _console()
    table = _table("subject", "figure", "kind", "reference", "measured", "change", "%", "×")
    notes: list[str] = []
    for row in rows:
        ref = row.reference
        change = row.change
        if ref.citation and ref.citation not in notes:
            notes.append(ref.citation)
        mark = f" [{notes.index(ref.citation) + 1}]" if ref.citation else ""
        reference = f"{human(ref.value)} on {row.reference_at:%Y-%m-%d}{mark}"
        if change is None or row.measured_at is None:
            measured, delta, pct, mult = "not measured yet", "—", "—", "—"
        else:
            measured = f"{human(change.after)} on {row.measured_at:%Y-%m-%d}"
            if significant(change, ref.sig):
                delta = f"{change.delta:+,}"
                pct = "—" if change.percent is None else f"{change.percent:+.1f}%"
                mult = "—" if change.multiple is None else f"{change.multiple:.2f}×"
            else:
                delta, pct, mult = "within rounding", "—", "—"
        table.add_row(
            ref.subject,
            f"{ref.source} {ref.metric}",
            ref.role,
            reference,
            measured,
            delta,
            pct,
            mult,
        )
    console.print(table)
    for number, note in enumerate(notes, 1):
        console.print(f"[{number}] {note}", soft_wrap=True, markup=False)


def records(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    table = _table(*columns)
    for row in rows:
        table.add_row(
            *(
                ", ".join(v) if isinstance(v := row.get(c, ""), list) else str(v or "")
                for c in columns
            )
        )
    _console().print(table)
