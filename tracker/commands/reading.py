"""The read commands: series, history, compare. Options are parsed and checked here; the
answers come from the read model (`tracker.read`) and print through `formats`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated

import typer

from tracker.commands.context import EXIT_FAILED, context, fail
from tracker.errors import UsageError

_DAY = re.compile(r"^day\s*([+\-\u2212]?)\s*(\d+)$", re.IGNORECASE | re.ASCII)
# Day N is at most 100 years from its event (which the config keeps within 1900..2199).
MAX_DAYS = 36500
FORMAT_HELP = "table, csv or json (JSON schema tracker.read/1, see the README)"


def check_format(fmt: str, choices: Sequence[str] = ("table", "csv", "json")) -> str:
    if fmt not in choices:
        raise UsageError(f"--format: {fmt!r} is not one of {', '.join(choices)}")
    return fmt


def parse_day(option: str, text: str) -> int:
    """'day+28' -> 28, 'day-30' -> -30, 'day0' -> 0; a bad value names its option."""
    match = _DAY.match(text.strip())
    if not match:
        raise UsageError(f"{option}: {text!r} is not a day like day-30, day0 or day+28")
    digits = match.group(2)
    if len(digits) > len(str(MAX_DAYS)) or int(digits) > MAX_DAYS:
        raise UsageError(f"{option}: {text.strip()[:40]!r} is more than {MAX_DAYS} days away")
    sign = -1 if match.group(1) in ("-", "\u2212") else 1
    return sign * int(digits)


def given_subjects(subjects: Sequence[str]) -> Sequence[str]:
    """SUBJECT arguments as given; an empty one is a usage error (it would match everything)."""
    if any(not subject.strip() for subject in subjects):
        raise UsageError("SUBJECT: must not be empty (who or what, as the config names it)")
    return subjects


def _moment(option: str, text: str | None) -> int | None:
    from tracker import bounds
    from tracker.timeutil import to_epoch

    if text is None:
        return None
    try:
        return to_epoch(bounds.moment(text))
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _labels(items: Sequence[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"--label: {item!r} is not KEY=VALUE (e.g. list=GB)")
        pairs[key] = value
    return pairs


def _every(text: str | None) -> int | None:
    from tracker.timeutil import parse_duration

    if text is None:
        return None
    try:
        return int(parse_duration(text).total_seconds())
    except ValueError as exc:
        raise UsageError(f"--every: {exc}") from None


Platform = Annotated[str | None, typer.Option("--platform", help="A source's name.")]
Format = Annotated[str, typer.Option("--format", help=FORMAT_HELP)]


def series(
    ctx: typer.Context,
    subject: Annotated[
        str | None, typer.Argument(help="Name, handle, tag or platform id (any case).")
    ] = None,
    platform: Platform = None,
    metric: Annotated[str | None, typer.Option("--metric", help="e.g. chart_rank")] = None,
    fmt: Format = "table",
) -> None:
    """List the stored series: subject, platform, metric, labels, points, first and last.

    \b
    Examples:
      tracker series
      tracker series heartstopper --platform netflix --metric chart_rank
      tracker series kit.bsky.social --format json
    """
    from tracker import read
    from tracker.commands import formats

    check_format(fmt)
    if subject is not None:
        given_subjects([subject])
    found = read.series(context(ctx).query_store(), subject, platform, metric)
    formats.series(found, fmt)


def history(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="Name, handle, tag or platform id (any case).")],
    platform: Platform = None,
    metric: Annotated[str | None, typer.Option("--metric", help="e.g. followers")] = None,
    since: Annotated[str | None, typer.Option("--since", help="30d, 2022-04-01 ...")] = None,
    until: Annotated[str | None, typer.Option("--until", help="A date or time.")] = None,
    every: Annotated[
        str | None, typer.Option("--every", help="Last value per 1h, 1d, 1w ... bucket.")
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="KEY=VALUE, e.g. list=GB (repeatable)")
    ] = None,
    fmt: Format = "table",
    relative_to: Annotated[
        str | None,
        typer.Option("--relative-to", help="launch or an event: days from it, and the phase."),
    ] = None,
) -> None:
    """Show the recorded values of SUBJECT's series: instants, and periods (a chart week)
    with their start and end; a chart week without the series is "not in chart".

    \b
    Examples:
      tracker history "Kit Connor" --platform bluesky --metric followers --since 30d
      tracker history Heartstopper --platform netflix --label list=global --format csv
      tracker history "#heartstopper" --every 1d --format json
      tracker history Heartstopper --platform netflix --label list=GB --relative-to launch
    """
    from tracker import read
    from tracker.commands import formats

    given_subjects([subject])
    check_format(fmt)
    lo, hi = _moment("--since", since), _moment("--until", until)
    if lo is not None and hi is not None and lo >= hi:
        raise UsageError("--since must be before --until")
    step, labels = _every(every), _labels(label or [])
    event = None
    if relative_to is not None:
        event = read.event("--relative-to", read.events(context(ctx).config_path), relative_to)
    query = read.HistoryQuery(subject, platform, metric, lo, hi, step, labels, event)
    formats.history(read.history(context(ctx).query_store(), query), fmt)


def compare(
    ctx: typer.Context,
    subjects: Annotated[
        list[str] | None,
        typer.Argument(metavar="SUBJECT", help="Only these (default: the campaign's)."),
    ] = None,
    at: Annotated[
        list[str] | None,
        typer.Option(
            "--at", metavar="DAY", help="day-30, day0, day+28 ... (repeatable): values then."
        ),
    ] = None,
    relative_to: Annotated[
        str, typer.Option("--relative-to", help="The event day N counts from.")
    ] = "launch",
    platform: Platform = None,
    metric: Annotated[str | None, typer.Option("--metric", help="e.g. pageviews")] = None,
    fmt: Format = "table",
) -> None:
    """Each baseline and claim of the campaign with its verdict (the one `tracker claims`
    gives) and the newest value measured; with --at, each series' value at day N of the
    launch (or --relative-to EVENT), side by side, with the change from the first day to
    the last. A chart week's rank holds for that week only.

    \b
    Examples:
      tracker compare
      tracker compare "Kit Connor" --format json
      tracker compare "Kit Connor" "Joe Locke" --at day-30 --at day0 --at day+28
      tracker compare Heartstopper --at day0 --at day+28 --relative-to renewal
    """
    from tracker import read
    from tracker.commands import comparisons

    days = [parse_day("--at", text) for text in at or []]
    given = given_subjects(subjects or [])
    check_format(fmt)
    config = context(ctx).config()
    if config.campaign is None:
        fail(f"{config.path}: campaign: no [campaign] section to compare against")
    on = read.event("--relative-to", config.campaign.dates(), relative_to)
    store = context(ctx).read_store(config)
    if not days:
        rows = read.compare(config, store, given, platform, metric)
        if not rows and (given or platform or metric):
            fail("no baseline or claim of the campaign for those subjects and filters", EXIT_FAILED)
        if not rows:
            fail(f"{config.path}: campaign: no baselines or claims to compare with", EXIT_FAILED)
        comparisons.compare(rows, fmt)
        return
    chosen = given or read.subjects_of(config)
    table = read.values_at(store, chosen, days, on, platform, metric, strict=bool(given))
    if not table.rows:
        fail("no recorded series for the campaign's subjects with those filters", EXIT_FAILED)
    comparisons.compare_at(table, fmt)
