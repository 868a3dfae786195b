"""The config file itself: where it is, its raw TOML, and the database URL it names.

Kept apart from `tracker.config` so the read commands can find the database without loading
the full validation machinery.

Where things live:
  config    --config, else TRACKER_CONFIG, else ./config/tracker.toml if there is one, else
            tracker.toml in the user's config directory (~/.config/tracker/ on Linux)
  database  --database, else TRACKER_DATABASE_URL, else the file's `database_url` (a relative
            SQLite path there is taken from the config file's directory), else tracker.db in
            the user's data directory (~/.local/share/tracker/ on Linux)
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from tracker.bounds import MAX_DEPTH, nesting
from tracker.errors import ConfigError

APP = "tracker"
CONFIG_NAME = "tracker.toml"
LOCAL_CONFIG = Path("config") / CONFIG_NAME
ENV_PREFIX = "TRACKER_"
CONFIG_ENV = f"{ENV_PREFIX}CONFIG"
DATABASE_ENV = f"{ENV_PREFIX}DATABASE_URL"
DEFAULT_SPOOL_DIR = "spool"


def user_config_dir() -> Path:
    import platformdirs

    return platformdirs.user_config_path(APP, appauthor=False)


def user_data_dir() -> Path:
    import platformdirs

    return platformdirs.user_data_path(APP, appauthor=False)


def default_database_url() -> str:
    """A SQLite file in the user's data directory: the same wherever tracker runs."""
    return f"sqlite:///{user_data_dir() / 'tracker.db'}"


def find_config(explicit: str | Path | None = None) -> Path | None:
    """The config file by the lookup order (see the module doc); None if there is none.

    A file named by --config or TRACKER_CONFIG is returned whether it exists or not: reading
    it then says "no such file" rather than silently using another one.
    """
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    for candidate in (LOCAL_CONFIG, user_config_dir() / CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


def config_path(explicit: str | Path | None = None) -> Path:
    """The config file by the lookup order; ConfigError with the places looked if none."""
    found = find_config(explicit)
    if found is None:
        raise ConfigError(
            str(LOCAL_CONFIG),
            "",
            f"no such file here, nor {user_config_dir() / CONFIG_NAME}: write one with "
            "`tracker init`, or name yours with --config or TRACKER_CONFIG",
        )
    return found


# A config file is a few kilobytes; this leaves room for thousands of targets, and keeps a
# hostile file (or /dev/zero given as --config) from filling memory.
MAX_BYTES = 16 * 1024 * 1024


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(str(path), "", "no such file (use --config or TRACKER_CONFIG)") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise ConfigError(str(path), "", f"cannot read: {exc}") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(str(path), "", f"larger than {MAX_BYTES // 2**20} MiB: not a config file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc}") from None
    too_deep = nesting(text)
    if too_deep:
        raise ConfigError(str(path), "", too_deep)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from None
    except RecursionError:  # pragma: no cover  (nesting() refuses such files first)
        raise ConfigError(str(path), "", f"nested deeper than {MAX_DEPTH} levels") from None


def database_url(explicit_config: str | Path | None = None) -> str:
    """The database URL by the same precedence as the full config: env, then file, then default."""
    from_env = os.environ.get(DATABASE_ENV)
    if from_env:
        return from_env
    path = find_config(explicit_config)
    if path is None:
        return default_database_url()
    value = read_toml(path).get("database_url")
    if value is None:
        return default_database_url()
    if not isinstance(value, str) or not value:
        raise ConfigError(str(path), "database_url", "must be a database URL string")
    return beside(value, path)


def spool_dir(explicit_config: str | Path | None = None) -> str:
    """The spool_dir setting by the full config's precedence (env, file, default), for the
    read-only commands that do not load the whole config."""
    from_env = os.environ.get(f"{ENV_PREFIX}SPOOL_DIR")
    if from_env:
        return from_env
    path = find_config(explicit_config)
    if path is None or not path.is_file():
        return DEFAULT_SPOOL_DIR
    value = read_toml(path).get("spool_dir", DEFAULT_SPOOL_DIR)
    if not isinstance(value, str) or not value:
        raise ConfigError(str(path), "spool_dir", "must be a directory path string")
    return value


def beside(url: str, config_file: Path) -> str:
    """`url` with a relative SQLite path taken from the config file's directory."""
    file = sqlite_file(url)
    if file is None:
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if Path(parsed.database or "").is_absolute():
        return url
    absolute = (config_file.parent / file).absolute()  # `file` has `~` expanded already
    return parsed.set(database=str(absolute)).render_as_string(hide_password=False)


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (`~` expanded); None for other databases and in-memory ones."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        name = make_url(url).database
    except ArgumentError:
        return None
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).expanduser()
