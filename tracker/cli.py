"""The `tracker` command. The only place exceptions turn into messages and exit codes.

Imports stay lazy: `tracker history` must not pay for the HTTP client, the scheduler or
migrations it does not use.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Annotated, Any

import typer

from tracker import __version__
from tracker.commands import campaign, distributed, editing, importing, info, setup, webpage
from tracker.commands.context import (
    EXIT_FAILED,
    EXIT_STORE,
    EXIT_USAGE,
    Context,
    context,
    fail,
    origin,
)
from tracker.errors import ConfigError, LockHeld, StoreError, TrackerError, UsageError

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode=None,
    help="Record follower counts, hashtag totals and chart positions; compare them with a "
    "campaign's baselines and claims.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database maintenance.")
app.add_typer(editing.hashtags, name="hashtags")
app.add_typer(editing.accounts, name="accounts")
app.add_typer(importing.app, name="import")
app.add_typer(db_app, name="db")
app.add_typer(webpage.app, name="web")
app.add_typer(info.config_app, name="config")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tracker {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            envvar="TRACKER_CONFIG",
            help="Config file [./config/tracker.toml, else ~/.config/tracker/tracker.toml].",
        ),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            envvar="TRACKER_DATABASE_URL",
            help="Database URL: sqlite:///tracker.db or postgresql://user@host/db.",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    ctx.obj = Context(config, database, origin(ctx, "database", "--database"))


def main() -> None:
    """Console entry point: run the app and map every error to a message and an exit code."""
    try:
        code = app(prog_name="tracker", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except (ConfigError, UsageError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except LockHeld as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_STORE)
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_STORE)
    except TrackerError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # `tracker history ... | head`: the reader left
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_FAILED)
        typer.echo(f"error: {_os_error(exc)}", err=True)
        sys.exit(EXIT_USAGE)
    except Exception as exc:
        if isinstance(exc, _usage_errors()):  # click's usage errors, in non-standalone mode
            exc.show()
            sys.exit(exc.exit_code)
        if os.environ.get("TRACKER_TRACEBACK"):
            raise
        typer.echo(
            f"error: unexpected {type(exc).__name__}: {exc}\n"
            "This is a bug in tracker: please report it, with the output of the same command "
            "run with TRACKER_TRACEBACK=1.",
            err=True,
        )
        sys.exit(EXIT_FAILED)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_errors() -> tuple[type[Any], ...]:
    """Every ClickException class a usage error may arrive as.

    typer 0.29+ raises its vendored copy (`typer._click`), older typer standalone click's, and
    both may be installed at once (uvicorn depends on standalone click): `typer.BadParameter` is
    always typer's own, so its bases name the class typer raises, whichever that is.
    """
    found: list[type[Any]] = [
        c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
    ]
    try:
        import click
    except ImportError:
        pass
    else:
        found.append(click.ClickException)
    return tuple(dict.fromkeys(found))


def _os_error(exc: OSError) -> str:
    """'reports/x.md: Permission denied', not "[Errno 13] Permission denied: 'reports/x.md'"."""
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason


# -- run / status -----------------------------------------------------------------------
@app.command()
def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One full round, then exit.")] = False,
    log_format: Annotated[
        str | None, typer.Option("--log-format", help="text (default) or json lines.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Debug lines too: every retried attempt.")
    ] = False,
) -> None:
    """Run the collectors on their schedules until SIGTERM/SIGINT.

    \b
    Examples:
      tracker run                 # the daemon, on config/tracker.toml
      tracker run --once          # one round; exit 0 if every source succeeded, 1 if not
      tracker run --once -v       # with a debug line for every retried attempt
      tracker --database postgresql://tracker@db/tracker run --log-format json
    """
    import asyncio

    from tracker import daemon, log

    config = context(ctx).config()
    if log_format not in (None, "text", "json"):
        fail(f"--log-format: {log_format!r} is not one of text, json")
    log.setup(log_format or config.log_format, verbose=verbose)
    store = context(ctx).store(config)
    store.upgrade()
    if once:
        reports = asyncio.run(daemon.run_once(config, store))
        for report in reports:
            typer.echo(report.line())
        # Spooled: collected but not yet in the database — worth a non-zero exit too.
        if any(r.outcome in ("failed", "partial", "spooled") for r in reports):
            raise typer.Exit(EXIT_FAILED)
        return
    asyncio.run(daemon.run_forever(config, store))


SUDDEN_DAYS = 7  # how far back `status` lists sudden changes


@app.command()
def status(ctx: typer.Context) -> None:
    """Per source: last success, last failure and its cause, failures in a row, next run;
    what each credential's quota budget has left; values flagged as sudden changes in the last
    week; values waiting in the spool and spool files set aside.

    \b
    Example:
      tracker status
    """
    from datetime import timedelta

    from tracker import query, views
    from tracker.configfile import spool_dir
    from tracker.spool import Spool
    from tracker.timeutil import now, to_epoch

    store = context(ctx).query_store()
    views.status(store.status(), store.quotas())
    since = to_epoch(now() - timedelta(days=SUDDEN_DAYS))
    views.swings(query.sudden_changes(store, since), SUDDEN_DAYS)
    views.spool(Spool.for_store(spool_dir(context(ctx).config_path), store))
    distributed.show(store)


# -- history / compare ------------------------------------------------------------------
@app.command()
def history(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="Who or what, as the config names it.")],
    platform: Annotated[str | None, typer.Option("--platform", help="A source's name.")] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="e.g. followers")] = None,
    since: Annotated[str | None, typer.Option("--since", help="30d, 2022-04-01 ...")] = None,
    until: Annotated[str | None, typer.Option("--until", help="A date or time.")] = None,
    every: Annotated[
        str | None, typer.Option("--every", help="Last value per 1h, 1d, 1w ...")
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="KEY=VALUE, e.g. list=GB (repeatable)")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    relative_to: Annotated[
        str | None,
        typer.Option(
            "--relative-to", help="launch or an event: add a 'day' column (days since it)."
        ),
    ] = None,
) -> None:
    """Show the recorded values of SUBJECT's series.

    \b
    Examples:
      tracker history "Kit Connor" --platform bluesky --metric followers --since 30d
      tracker history Heartstopper --platform netflix --label list=global --format csv
      tracker history "#heartstopper" --every 1d --format json
      tracker history "Kit Connor" --platform wikipedia --relative-to launch
    """
    from dataclasses import replace

    from tracker import query, views

    request = query.HistoryQuery.from_options(
        subject, platform, metric, since, until, every, label or [], fmt
    )
    if relative_to is not None:
        events = query.campaign_events(context(ctx).config_path)
        request = replace(request, event=query.event("--relative-to", events, relative_to))
    rows = query.history(context(ctx).query_store(), request)
    if not rows.series:
        fail(f"no recorded series for {subject!r} with those filters", EXIT_FAILED)
    views.history(rows, fmt)


@app.command()
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
    platform: Annotated[str | None, typer.Option("--platform", help="A source's name.")] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="e.g. pageviews")] = None,
) -> None:
    """The latest value of each series against the campaign's baselines and claims; with
    --at, each series' value at day N of the launch (or --relative-to EVENT), side by side,
    with the change, %, multiple and growth per day from the first day to the last.

    \b
    Examples:
      tracker compare
      tracker compare "Kit Connor"
      tracker compare "Kit Connor" "Joe Locke" --at day-30 --at day0 --at day+28
      tracker compare Heartstopper --at day0 --at day+28 --relative-to renewal
    """
    from tracker import query, views

    days = [query.parse_day("--at", text) for text in at or []]
    config = context(ctx).config()
    if config.campaign is None:
        fail(f"{config.path}: campaign: no [campaign] section to compare against")
    on = query.event("--relative-to", config.campaign.dates(), relative_to)
    store = context(ctx).read_store(config)
    if not days:
        rows = query.compare(config, store, subjects or [], platform, metric)
        if not rows and (subjects or platform or metric):
            fail("no baseline or claim of the campaign for those subjects and filters", EXIT_FAILED)
        if not rows:
            fail(f"{config.path}: campaign: no baselines or claims to compare with", EXIT_FAILED)
        views.compare(rows)
        return
    result = query.values_at(
        store, subjects or query.subjects_of(config), days, on, platform, metric
    )
    if not result.rows:
        fail("no recorded series for those subjects and filters", EXIT_FAILED)
    views.compare_at(result)


# -- db ---------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply database migrations (the daemon also does this on start).

    \b
    Example:
      tracker --database postgresql://postgres@127.0.0.1/tracker db upgrade
    """
    from tracker.store import redact

    context(ctx).store().upgrade()  # only the URL is read: a config being fixed is no obstacle
    typer.echo(f"database {redact(context(ctx).database())} is up to date")


# Registered last so `tracker --help` lists them after the everyday commands.
for command in (campaign.claims, campaign.report, campaign.backfill, info.sources):
    app.command()(command)
app.command()(setup.init)
app.command()(distributed.dispatch)
app.command()(distributed.worker)


if __name__ == "__main__":
    main()
