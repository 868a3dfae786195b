"""The `tracker` command. The only place exceptions turn into messages and exit codes.

Imports stay lazy: `tracker history` must not pay for the HTTP client, the scheduler or
migrations it does not use.
"""

from __future__ import annotations

import errno
import os
import sys
from functools import cache
from typing import Annotated, Any

import typer

from tracker import __version__
from tracker.commands import (
    alerting,
    campaign,
    distributed,
    editing,
    importing,
    info,
    reading,
    serving,
    setup,
    webpage,
)
from tracker.commands.context import (
    EXIT_FAILED,
    EXIT_STORE,
    EXIT_USAGE,
    Context,
    context,
    fail,
    origin,
)
from tracker.errors import (
    ConfigError,
    LockHeld,
    StoreError,
    TrackerError,
    UnknownName,
    UsageError,
)

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
app.add_typer(alerting.app, name="alerts")


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
    ctx.call_on_close(ctx.obj.close)


@cache
def root_command() -> Any:
    """`app` as a click command, built once per process: `app()` builds it on every call
    (every command's signature read again, ~15 ms), which a process running several commands
    (a test's, in process) would pay each time. `cache_clear()` after plugins change."""
    return typer.main.get_command(app)


def main() -> None:
    """Console entry point: run the app and map every error to a message and an exit code."""
    try:
        code = root_command()(prog_name="tracker", standalone_mode=False)
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
    except UnknownName as exc:  # the read model's: name the option the name came as
        option = {"platform": "--platform: ", "metric": "--metric: "}.get(exc.field, "")
        typer.echo(f"error: {option}{exc}", err=True)
        sys.exit(EXIT_FAILED)
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

    from tracker import read, views
    from tracker.configfile import spool_dir
    from tracker.spool import Spool
    from tracker.timeutil import now, to_epoch

    store = context(ctx).query_store()
    views.status(store.status(), store.quotas())
    since = to_epoch(now() - timedelta(days=SUDDEN_DAYS))
    views.swings(read.sudden_changes(store, since), SUDDEN_DAYS)
    views.spool(Spool.for_store(spool_dir(context(ctx).config_path), store))
    distributed.show(store)


for read_command in (reading.series, reading.history, reading.compare):
    app.command()(read_command)


# -- db ---------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply database migrations (the daemon also does this on start).

    \b
    Example:
      tracker --database postgresql://postgres@127.0.0.1/tracker db upgrade
    """
    from tracker.store import redact
    from tracker.store.schema import revisions

    # Only the URL is read: a config being fixed is no obstacle.
    found = context(ctx).store().upgrade()
    newest = revisions()[1]
    name = redact(context(ctx).database())
    if found == newest:
        typer.echo(f"database {name} is up to date (schema {newest})")
    elif found is None:
        typer.echo(f"database {name} created (schema {newest})")
    else:
        typer.echo(f"database {name} upgraded from schema {found} to {newest}")


# Registered last so `tracker --help` lists them after the everyday commands.
for command in (campaign.claims, campaign.report, campaign.backfill, info.sources, serving.serve):
    app.command()(command)
app.command()(setup.init)
app.command()(distributed.dispatch)
app.command()(distributed.worker)


if __name__ == "__main__":
    main()
