"""The config file itself: where it is, its raw TOML, and the database URL it names.

Kept apart from `tracker.config` so the read commands can find the database without loading
the full validation machinery.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from tracker.errors import ConfigError

DEFAULT_PATH = Path("config/tracker.toml")
ENV_PREFIX = "TRACKER_"
DEFAULT_DATABASE_URL = "sqlite:///tracker.db"


def config_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("TRACKER_CONFIG") or DEFAULT_PATH)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "", "no such file (use --config or TRACKER_CONFIG)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from None


def database_url(explicit_config: str | Path | None = None) -> str:
    """The database URL by the same precedence as the full config: env, then file, then default."""
    from_env = os.environ.get(f"{ENV_PREFIX}DATABASE_URL")
    if from_env:
        return from_env
    path = config_path(explicit_config)
    if not path.exists() and explicit_config is None and "TRACKER_CONFIG" not in os.environ:
        return DEFAULT_DATABASE_URL
    value = read_toml(path).get("database_url", DEFAULT_DATABASE_URL)
    if not isinstance(value, str) or not value:
        raise ConfigError(str(path), "database_url", "must be a database URL string")
    return value
