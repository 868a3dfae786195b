"""`tracker import NAME FILE`: one subcommand per importer of the `tracker.importers` entry
points, so `tracker import --help` lists what is installed, a third party's too.

The importers are looked up when the `import` group is first asked for its commands, not when
the CLI starts: the other commands do not pay for scanning the entry points.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer
from typer.core import TyperGroup

from tracker.commands.context import context

if TYPE_CHECKING:
    from tracker.importers.base import Importer


class ImporterGroup(TyperGroup):
    """A command group whose commands are the installed importers, found on first use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._given: dict[str, Any] = {}
        self._found: dict[str, Any] | None = None
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def commands(self) -> dict[str, Any]:
        if self._found is None:
            self._found = {**_importer_commands(), **self._given}
        return self._found

    @commands.setter
    def commands(self, value: dict[str, Any]) -> None:
        self._given, self._found = dict(value), None


def _importer_commands() -> dict[str, Any]:
    from tracker.importers import registry

    found = {name: _command(name, cls) for name, cls in registry.available().items()}
    for name, why in registry.broken().items():
        found[name] = _command(name, None, why)
    return found


def _command(name: str, cls: type[Importer] | None, broken: str = "") -> Any:
    """The click command that loads a file with importer `name`."""
    if cls is None:
        short = f"Not available: its plugin failed to load ({broken})."
        summary, example = short, f"tracker import {name} FILE"
    else:
        short = f"{cls.description} (source {cls.source})"
        summary = (
            f"{cls.description}. Only the config's {cls.source} {cls.kind} targets are kept "
            "unless --all; re-importing adds nothing."
        )
        example = f"tracker import {name} {cls.example or 'FILE'}"

    def load(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="The file to load.")],
        everything: Annotated[
            bool, typer.Option("--all", help="Every row, not only the config's targets.")
        ] = False,
    ) -> None:
        from tracker.importers import registry
        from tracker.importers.base import import_file

        importer = registry.get(name)
        config = context(ctx).config()
        store = context(ctx).store(config)
        store.upgrade()
        shown = import_file(config, store, importer, file, everything)
        typer.echo(shown if isinstance(shown, str) else counts_line(file.name, shown))

    single = typer.Typer(rich_markup_mode=None, add_completion=False)
    single.command(name, help=f"{summary}\n\n\b\nExample:\n  {example}", short_help=short)(load)
    return typer.main.get_command(single)


class Counts(Protocol):
    """What an import says it did with a file's rows: every row is read, then stored,
    already present, or refused for a reason (never dropped without a count)."""

    @property
    def read(self) -> int: ...

    @property
    def stored(self) -> int: ...

    @property
    def present(self) -> int: ...

    @property
    def refused(self) -> Mapping[str, int]: ...


def counts_line(name: str, counts: Counts) -> str:
    """'f.tsv: 10 row(s) read: 7 stored, 2 already present, 1 refused (weekly_rank 'x' ...: 1)'"""
    refused = sum(counts.refused.values())
    line = (
        f"{name}: {counts.read:,} row(s) read: {counts.stored:,} stored, "
        f"{counts.present:,} already present, {refused:,} refused"
    )
    if refused:
        why = "; ".join(f"{reason}: {n:,}" for reason, n in sorted(counts.refused.items()))
        line += f" ({why})"
    unaccounted = counts.read - counts.stored - counts.present - refused
    if unaccounted:
        line += f"; {unaccounted:,} row(s) unaccounted for: a bug, please report it"
    return line


app = typer.Typer(
    cls=ImporterGroup,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Load data files from disk: one command per installed importer (entry points of "
    "the `tracker.importers` group).",
)
