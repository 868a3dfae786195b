"""Commands that set tracker up: `tracker init` writes a starter config."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from tracker.commands.context import context, fail


def init(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Argument(
            metavar="[DIR]",
            help="Where to write tracker.toml (a path ending in .toml names the file itself) "
            "[--config or TRACKER_CONFIG if given, else your config directory].",
        ),
    ] = None,
) -> None:
    """Write a starter config: the Heartstopper campaign, commented key by key, to make yours.
    An existing file is never overwritten.

    \b
    Examples:
      tracker init             # ~/.config/tracker/tracker.toml on Linux: found from anywhere
      tracker init config      # ./config/tracker.toml: found when tracker runs in this folder
      tracker init /etc/tracker
    """
    from importlib.resources import files

    from tracker.configfile import CONFIG_NAME, database_url, find_config, user_config_dir
    from tracker.store import redact

    named = context(ctx).config_path
    target = directory or (Path(named) if named else user_config_dir())
    path = target if target.suffix == ".toml" else target / CONFIG_NAME
    starter = files("tracker").joinpath("starter.toml").read_bytes()
    if path.parent.exists() and not path.parent.is_dir():
        fail(f"{path.parent}: not a folder; name a folder or a .toml file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as out:
            try:
                out.write(starter)
            except OSError:
                with contextlib.suppress(OSError):
                    path.unlink()  # never leave half a config behind
                raise
    except FileExistsError:
        fail(f"{path}: already exists, left as it is (edit it, or name another DIR)")
    except OSError as exc:
        fail(f"{path}: cannot write: {exc.strerror or exc}")

    typer.echo(f"wrote {path}: the Heartstopper campaign, commented key by key; make it yours.")
    found = find_config(named)
    here = found is not None and found.resolve() == path.resolve()
    if here and path.resolve().parent == user_config_dir().resolve():
        use = "tracker"
        typer.echo("tracker finds it from any directory.")
    elif here:
        use = "tracker"
        typer.echo(f"tracker finds it when run in {Path.cwd()}.")
    else:
        use = f"tracker --config {path}"
        if found is not None:
            typer.echo(f"note: {found} comes first in the lookup here.")
        typer.echo(f"Use it with `{use} ...`, or export TRACKER_CONFIG={path}.")
    typer.echo(f"Snapshots go to {redact(database_url(path))}.")
    typer.echo(f"Next: `{use} run --once` collects one round; `{use} run` is the daemon.")
