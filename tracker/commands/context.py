"""What every command shares: the global options, the exit codes, and how to fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
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
    # The stores `query_store` opened, closed when the command ends (`close`).
    opened: list[Store] = field(default_factory=list)

    def config(self) -> Config:
        from tracker import config

        if self.database_url:
            checked_url(self.database_url, self.database_from)
        return config.load(self.config_path, database_url=self.database_url)

    def store(self, config: Config | None = None) -> Store:
        """The store for commands that write: a missing SQLite file is created (and the
        default data directory with it); migrations are the caller's to run. Without a
        config, only the database URL is looked up (`database`)."""
        from tracker.configfile import default_database_url, sqlite_file
        from tracker.store import Database

        url = self.database(config)
        file = sqlite_file(url)
        if file is not None and url == default_database_url():
            self._make_directory(file)
        return Database.open(url)

    def read_store(self, config: Config) -> Store:
        """The store for commands that only read: never creates a database."""
        from tracker.store import Database

        url = self.database(config)
        self._existing(url)
        return Database.existing(url)

    def query_store(self) -> Store:
        """The store for read-only commands: only the database URL is read from the config.

        Queries work even while another part of the config is being fixed, and start fast:
        one connection serves the command's reads (its schema check, look-up and points),
        given back when the command ends (`close`). Never creates a database.
        """
        from tracker.store import Database

        url = self.database()
        self._existing(url)
        store = Database.existing(url, hold=True)
        self.opened.append(store)
        return store

    def close(self) -> None:
        """Close the stores `query_store` opened: the command has ended."""
        opened, self.opened = self.opened, []
        for store in opened:
            store.close()

    def database(self, config: Config | None = None) -> str:
        """The database URL, checked (no connection): a UsageError names where it was given.

        --database or TRACKER_DATABASE_URL, else the config's `database_url` (with a config,
        the loaded one; without, only that key of the file is read), else the default.
        """
        from tracker.configfile import database_url, find_config

        if self.database_url:
            return checked_url(self.database_url, self.database_from)
        if config is not None:
            return checked_url(config.database_url, f"{config.path}: database_url")
        found = find_config(self.config_path)
        given_as = f"{found}: database_url" if found else "the default database"
        return checked_url(database_url(self.config_path), given_as)

    def _existing(self, url: str) -> None:
        """Stop with a hint that works when `url` names a SQLite file that is not there."""
        from tracker.configfile import find_config, sqlite_file

        file = sqlite_file(url)
        if file is None or file.exists():
            return
        step = "run `tracker run --once` to collect a round into it"
        if find_config(self.config_path) is None:
            step = f"write a config with `tracker init`, then {step}"
        fail(
            f"no database at {file} yet (nothing has been collected): {step}, "
            "or point --database or TRACKER_DATABASE_URL at an existing database",
            EXIT_FAILED,
        )

    @staticmethod
    def _make_directory(file: Path) -> None:
        from tracker.errors import StoreError

        try:
            file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {file.parent}: {exc.strerror}") from None


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
