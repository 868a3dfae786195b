"""What every command shares: the global options, the exit codes, and how to fail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import typer

from tracker.errors import UsageError

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
    # Where `database_url` came from, for messages: "--database" or the environment variable.
    database_from: str = "--database"

    def config(self) -> Config:
        from tracker import config

        if self.database_url:
            checked_url(self.database_url, self.database_from)
        return config.load(self.config_path, database_url=self.database_url)

    def store(self, config: Config) -> Store:
        from tracker.store import Database

        return Database.open(self.database(config))

    def database(self, config: Config) -> str:
        """The config's database URL, checked (no connection): a UsageError names its origin."""
        given_as = self.database_from if self.database_url else f"{config.path}: database_url"
        return checked_url(config.database_url, given_as)

    def query_store(self) -> Store:
        """The store for read-only commands: only the database URL is read from the config.

        Queries work even while another part of the config is being fixed, and start fast.
        """
        from tracker.configfile import config_path, database_url
        from tracker.store import Database

        if self.database_url:
            return Database.open(checked_url(self.database_url, self.database_from))
        given_as = f"{config_path(self.config_path)}: database_url"
        return Database.open(checked_url(database_url(self.config_path), given_as))


def checked_url(url: str, given_as: str) -> str:
    """`url`, or a UsageError naming where it was given and how to write it."""
    from tracker.dburl import problem

    why = problem(url)
    if why is not None:
        raise UsageError(f"{given_as}: {why}")
    return url


def origin(ctx: typer.Context, param: str, option: str) -> str:
    """How the user gave `param`: its option, or the environment variable that set it."""
    source = ctx.get_parameter_source(param)
    if source is not None and source.name == "ENVIRONMENT":
        for option_param in ctx.command.params:
            if option_param.name == param and isinstance(option_param.envvar, str):
                return f"environment variable {option_param.envvar}"
    return option


def context(ctx: typer.Context) -> Context:
    obj = ctx.obj
    assert isinstance(obj, Context)
    return obj


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
