"""Commands that describe the setup without collecting: `sources` and `config check`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tracker.commands.context import context, fail

config_app = typer.Typer(no_args_is_help=True, help="Check the config without running it.")


def sources(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Each source: on or skipped (and why), enabled, credentials present or the variable to
    set, interval and how many targets the config gives it.

    \b
    Examples:
      tracker sources
      tracker sources --format json
    """
    from tracker.lineup import lineup

    if fmt not in ("table", "json"):
        fail(f"--format: {fmt!r} is not one of table, json")
    entries = lineup(context(ctx).config())
    if fmt == "json":
        typer.echo(json.dumps([entry.fields() for entry in entries], indent=2))
        return
    from tracker import views

    views.records(
        (
            {
                "source": e.name,
                "status": "on" if e.runs else "skipped",
                "enabled": "yes" if e.enabled else "no",
                "credentials": e.credentials,
                "every": e.every(),
                "targets": str(e.targets),
            }
            for e in entries
        ),
        ("source", "status", "enabled", "credentials", "every", "targets"),
    )
    for e in entries:
        if not e.runs:
            also = f"; it also needs: {e.missing}" if e.missing and e.missing != e.reason else ""
            typer.echo(f"{e.name}: skipped — {e.reason}{also}")


@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Validate the config file with its TRACKER_* environment overrides and the database URL.
    Writes nothing, connects to nothing, creates no database; exit 0 when the config is good,
    2 with the file (or variable), the key and why when it is not.

    \b
    Example:
      tracker config check
      tracker --config deploy/tracker.toml config check
    """
    from tracker.lineup import lineup
    from tracker.store import redact

    config = context(ctx).config()
    url = context(ctx).database(config)
    entries = lineup(config)
    on = sum(entry.runs for entry in entries)
    typer.echo(
        f"{config.path}: ok — database {redact(url)}; {on} source(s) on, "
        f"{len(entries) - on} skipped (`tracker sources` says why)"
    )
