"""What every command shares: the global options, the exit codes, and how to fail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from tracker.config import Config
    from tracker.store import Store

EXIT_FAILED = 1  # a round in which some source failed
EXIT_USAGE = 2  # bad config or bad command-line input
EXIT_STORE = 3  # the database is unusable or held by another daemon


@dataclass
class Context:
    config_path: str | None
    database_url: str | None

    def config(self) -> Config:
        from tracker import config

        return config.load(self.config_path, database_url=self.database_url)

    def store(self, config: Config) -> Store:
        from tracker.store import Store

        return Store.open(config.database_url)

    def query_store(self) -> Store:
        """The store for read-only commands: only the database URL is read from the config.

        Queries work even while another part of the config is being fixed, and start fast.
        """
        from tracker.configfile import database_url
        from tracker.store import Store

        return Store.open(self.database_url or database_url(self.config_path))


def context(ctx: typer.Context) -> Context:
    obj = ctx.obj
    assert isinstance(obj, Context)
    return obj


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
