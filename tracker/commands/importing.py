"""`tracker import`: load a file from disk through one of the installed importers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracker.commands.context import context, fail


def import_file(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="IMPORTER", help="Which importer (without it: list the installed ones)."
        ),
    ] = None,
    file: Annotated[Path | None, typer.Argument(metavar="FILE", help="The file to load.")] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Every row, not only the config's targets.")
    ] = False,
) -> None:
    """Load a data file from disk with an importer (found through the `tracker.importers`
    entry points). Only the config's targets are kept unless --all. Re-importing adds nothing.

    \b
    Examples:
      tracker import                                      # the installed importers
      tracker import netflix-top10 all-weeks-countries.tsv
    """
    from tracker.importers import registry
    from tracker.importers.base import import_file as load

    if name is None:
        for known, cls in registry.available().items():
            typer.echo(f"{known}  {cls.description} (source {cls.source})")
        for known, why in registry.broken().items():
            typer.echo(f"{known}  not loaded: {why}")
        return
    importer = registry.get(name)
    if file is None:
        fail(f"FILE: missing: which file should {name} load? e.g. {importer.example or 'FILE'}")
    config = context(ctx).config()
    store = context(ctx).store(config)
    store.upgrade()
    typer.echo(load(config, store, importer, file, everything))
