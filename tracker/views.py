"""Terminal output of the read commands: Rich tables for people, CSV and JSON for programs."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tracker.baselines import Between, Comparison, days_since, human, significant
from tracker.query import AtResult, HistoryResult, Swing
from tracker.quota import Budget
from tracker.store import SourceStatus
from tracker.timeutil import from_epoch

if TYPE_CHECKING:
    from tracker.backfill import Progress
    from tracker.claims import Verdict
    from tracker.spool import Spool

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

# Shown after a history table with backfilled rows.
BACKFILL_NOTE = "* backfilled: fetched later from the source's history, not collected live"
# Shown after a history table with values flagged as sudden changes.
SUDDEN_NOTE = (
    "! sudden change: beyond change_factor from the value before it (stored as sent; check it)"
)


def _console() -> Console:
    from rich.console import Console

    # No markup: causes and titles are data, and "[joelocke]" must print as written.
    return Console(soft_wrap=False, markup=False, highlight=False)


def _table(*columns: str) -> Table:
    # Rich is loaded only when a table is drawn: CSV and JSON output skip it.
    from rich.table import Table

    return Table(*columns)


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def status(rows: Sequence[SourceStatus], budgets: Sequence[Budget] = ()) -> None:
    console = _console()
    if budgets:
        quota = _table("quota budget (source:budget:credential)", "left", "of", "window ends")
        for budget in budgets:
            ends = budget.parked_until or budget.window_end
            left = "0 (parked by the platform)" if budget.parked_until else str(budget.left)
            quota.add_row(budget.key, left, str(budget.limit), _when(ends))
        console.print(quota)
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


def swings(found: Sequence[Swing], days: int) -> None:
    """The values stored flagged as sudden changes lately, newest first."""
    if not found:
        return
    console = _console()
    console.print(f"sudden changes in the last {days} days (stored as sent; check them):")
    for swing in found:
        s = swing.series
        before = f"{swing.before:,}" if swing.before is not None else "?"
        console.print(
            f"  {_when(from_epoch(swing.at))}  {s.source} {s.metric} {s.subject} "
            f"({_series_name(s.labels, s.label, s.key)}): {before} -> {swing.value:,}",
            soft_wrap=True,
        )


def spool(spooled: Spool) -> None:
    """What the spool holds for this database: values waiting, files set aside and why."""
    console = _console()
    waiting, files, aside = spooled.pending(), spooled.files(), spooled.aside()
    if files:
        console.print(
            f"spool: {waiting} value(s) in {len(files)} file(s) wait for the database in "
            f"{spooled.directory}",
            soft_wrap=True,
        )
    for found in aside:
        console.print(
            f"spool: {found.path} set aside, cannot be replayed: {found.reason}", soft_wrap=True
        )
    if spooled.directory.is_dir() and not files and not aside and (why := spooled.check()):
        console.print(f"spool: {why} (values would be lost if the database went away)")


def _series_name(labels: dict[str, str], label: str, key: str) -> str:
    extra = ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if v)
    return " ".join(p for p in (label or key, f"[{extra}]" if extra else "") if p)


def history(result: HistoryResult, fmt: str) -> None:
    """The points as a table, CSV or JSON.

    With `--relative-to` a "day" column counts days from the event (negative before it).
    JSON always says whether each point was backfilled and whether it is a sudden change; CSV
    and the table add a "backfilled" ("*") or "sudden" ("!") column only when some point shown
    is, so their columns stay as they were otherwise.
    """
    records: list[dict[str, Any]] = []
    event = result.event
    for series in result.series:
        late = result.backfilled.get(series.id, set())
        swings = result.sudden.get(series.id, set())
        for ts, value in result.points[series.id]:
            record: dict[str, Any] = {"time": from_epoch(ts).isoformat()}
            if event is not None:
                record["day"] = days_since(ts, event[1])
            record |= {
                "source": series.source,
                "metric": series.metric,
                "subject": series.subject,
                "series": _series_name(series.labels, series.label, series.key),
                "value": value,
                "backfilled": ts in late,
                "sudden": ts in swings,
            }
            records.append(record)
    if fmt == "json":
        sys.stdout.write(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
        return
    flagged = any(r["backfilled"] for r in records)
    swung = any(r["sudden"] for r in records)
    day = ["day"] if event is not None else []
    if fmt == "csv":
        fields = ["time", *day, "source", "metric", "subject", "series", "value"]
        writer = csv.DictWriter(
            sys.stdout,
            fieldnames=fields + (["backfilled"] if flagged else []) + (["sudden"] if swung else []),
            extrasaction="ignore",
        )
        writer.writeheader()
        writer.writerows(
            {
                **r,
                "backfilled": str(r["backfilled"]).lower(),
                "sudden": str(r["sudden"]).lower(),
            }
            for r in records
        )
        return
    # Plain aligned columns, not a Rich table: a history can run to thousands of rows, and
    # the query path should start fast.
    header = ("time (UTC)", *day, "source", "metric", "series", "value")
    lines = [
        (
            r["time"][:16].replace("T", " "),
            *([f"{r['day']:+d}" if r["day"] else "0"] if day else []),
            r["source"],
            r["metric"],
            r["series"],
            f"{r['value']:,}"
            + ("*" if r["backfilled"] else (" " if flagged else ""))
            + ("!" if r["sudden"] else (" " if swung else "")),
        )
        for r in records
    ]
    widths = [max([len(h), *(len(line[i]) for line in lines)]) for i, h in enumerate(header)]
    out = sys.stdout
    for row in [header, *lines]:
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths[:-1], strict=True)]
        out.write("  ".join([*cells, row[-1].rjust(widths[-1])]) + "\n")
    if not records:
        out.write("(no values in that time range)\n")
    if flagged:
        out.write(BACKFILL_NOTE + "\n")
    if swung:
        out.write(SUDDEN_NOTE + "\n")


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


def _day_name(n: int) -> str:
    return f"day{n:+d}" if n else "day0"


def _change_cells(between: Between) -> list[str]:
    change = between.change
    if change is None:
        return ["—"] * 4  # a gap stays a gap
    if between.before == between.after:
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


def compare_at(result: AtResult) -> None:
    """Values at day N of an event, side by side, and the change from the first to the last."""
    console = _console()
    names = [_day_name(n) for n in result.days]
    changes = ["change", "%", "×", "per day"] if len(names) > 1 else []
    table = _table("subject", "series", *names, *changes)
    flagged = False
    for row in result.rows:
        series = row.series
        cells = []
        for cell in row.cells:
            if cell is None:
                cells.append("no value")
                continue
            flagged |= cell.backfilled
            mark = "*" if cell.backfilled else ""
            cells.append(f"{cell.value:,}{mark} ({from_epoch(cell.ts):%Y-%m-%d})")
        name = _series_name(series.labels, series.label, series.key)
        extra = _change_cells(row.between()) if changes else []
        table.add_row(series.subject, f"{series.source} {series.metric} {name}", *cells, *extra)
    console.print(table)
    span = f"{names[0]} → {names[-1]}" if changes else names[0]
    console.print(
        f"{result.event} = {result.day}; each value is the last recorded at or before the end "
        f"of that day (its date in brackets), never interpolated; change: {span}",
        soft_wrap=True,
        markup=False,
    )
    if flagged:
        console.print(BACKFILL_NOTE, soft_wrap=True, markup=False)


def claims(verdicts: Sequence[Verdict], fmt: str) -> None:
    """Each claim, its verdict, what was measured, the evidence and what would measure it."""
    if fmt == "json":
        sys.stdout.write(json.dumps([verdict_record(v) for v in verdicts], indent=1) + "\n")
        return
    console = _console()
    table = _table("#", "claim", "claimed", "verdict", "measured")
    for number, v in enumerate(verdicts, 1):
        claim = v.claim
        table.add_row(
            str(number),
            claim.name,
            f"{claim.figure} on {claim.at}",
            v.status,
            "—" if v.measured is None else f"{v.measured:,}",
        )
    console.print(table)
    for number, v in enumerate(verdicts, 1):
        claim = v.claim
        about = f"{claim.subject}, {claim.source} {claim.metric}"
        lines = [f"[{number}] {claim.name} ({about}): {v.status}"]
        if claim.text or claim.citation:
            quoted = f'"{claim.text}"' if claim.text else ""
            lines.append("    " + " — ".join(p for p in (quoted, claim.citation) if p))
        if v.summary:
            lines.append(f"    {v.summary}")
        for e in v.evidence:
            late = " (backfilled)" if e.backfilled else ""
            lines.append(f"      {e.when:<22} {e.what}: {e.value:,}{late}")
        if v.action:
            lines.append(f"    to measure: {v.action}")
        console.print("\n".join(lines), soft_wrap=True, markup=False, highlight=False)


def verdict_record(v: Verdict) -> dict[str, Any]:
    claim = v.claim
    return {
        "name": claim.name,
        "subject": claim.subject,
        "source": claim.source,
        "metric": claim.metric,
        "claimed": claim.value,
        "at": claim.at.isoformat(),
        "text": claim.text,
        "citation": claim.citation,
        "verdict": v.status,
        "measured": v.measured,
        "summary": v.summary,
        "evidence": [
            {
                "what": e.what,
                "start": e.start.isoformat(),
                "end": e.end.isoformat() if e.end else None,
                "value": e.value,
                "backfilled": e.backfilled,
            }
            for e in v.evidence
        ],
        "action": v.action,
    }


@contextmanager
def progress(title: str) -> Iterator[Progress]:
    """A Rich progress bar on stderr; yields the callback long work reports to."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        console=Console(stderr=True),
    )
    task = bar.add_task(title, total=None, last="")

    def update(done: int, total: int, what: str) -> None:
        bar.update(task, completed=done, total=total, last=what)

    with bar:
        yield update
