"""Terminal output of status, spool, progress and the editing commands (the read commands'
records print through `tracker.commands.formats`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tracker.quota import Budget
from tracker.store import SourceStatus
from tracker.timeutil import from_epoch

if TYPE_CHECKING:
    from tracker.backfill import Progress
    from tracker.read import Swing
    from tracker.spool import Spool

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


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
