"""Commands that check a campaign against the data: claims, report, backfill."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracker.commands.context import EXIT_FAILED, context, fail


def claims(
    ctx: typer.Context,
    campaign: Annotated[
        str | None, typer.Argument(help="The campaign's name (default: the config's).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Each claim of the campaign, computed from the measured series: confirmed,
    contradicted (with the measured figure) or not measurable yet (and what it would take).

    \b
    Examples:
      tracker claims
      tracker claims Heartstopper --format json
    """
    from tracker import read
    from tracker.commands import comparisons

    if fmt not in ("table", "json"):
        fail(f"--format: {fmt!r} is not one of table, json")
    config = context(ctx).config()
    comparisons.claims(read.claims(config, context(ctx).read_store(config), campaign), fmt)


def report(
    ctx: typer.Context,
    campaign: Annotated[str, typer.Argument(help="The campaign's name, e.g. Heartstopper.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder to write [reports/<campaign>].")
    ] = None,
) -> None:
    """Write a Markdown and an HTML report: every claim with its verdict and evidence, a
    chart per series (baseline and launch drawn in), and every source cited.

    \b
    Example:
      tracker report Heartstopper --out reports/heartstopper
    """
    from tracker import read
    from tracker import report as reports

    config = context(ctx).config()
    chosen = read.chosen(config, campaign)
    folder = out or Path("reports") / reports.slug(chosen.name)
    try:
        written = reports.write(config, context(ctx).read_store(config), chosen, folder)
    except OSError as exc:
        where = exc.filename or folder
        fail(f"--out: cannot write the report in {where}: {exc.strerror or exc}")
    typer.echo(f"wrote {written.markdown} and {written.html} ({len(written.charts)} chart(s))")


def backfill(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(help="A source that keeps history (any other lists those that do).")
    ],
    since: Annotated[
        str | None,
        typer.Option("--since", help="First day: 2022-03-01 or 90d [all the source has]."),
    ] = None,
) -> None:
    """Fetch the past values of a source that keeps history; they are stored flagged as
    backfilled. Safe to interrupt and re-run: writes are idempotent, and ranges already
    stored are skipped where the source says which days a request covers.

    \b
    Examples:
      tracker backfill netflix
      tracker backfill wikipedia --since 2022-01-01
      tracker backfill nyt --since 2022-03-01
    """
    import asyncio

    from tracker import backfill as backfills
    from tracker import views

    backfills.check_source(source)
    first = backfills.parse_since(since)
    config = context(ctx).config()
    first = first or backfills.default_since(config, source)
    store = context(ctx).store(config)
    store.upgrade()
    with views.progress(f"backfill {source}") as progress:
        result = asyncio.run(backfills.run(config, store, source, first, progress))
    typer.echo(result.line())
    if result.failures:
        raise typer.Exit(EXIT_FAILED)
