"""Reloading the config file while running: what tells a changed file, and the reread itself.

The embedded daemon (`tracker run`) and the dispatcher (`tracker dispatch`) both reload on
SIGHUP and when the file's stamp changes (polled every `POLL_SECONDS`). A reread that fails
(bad TOML, a bad key or value) keeps the running config and logs the file, the key and why;
the keys in `RESTART_ONLY` are read once at start, and a reread that changes them says so.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tracker import config as config_module
from tracker.config import Config
from tracker.errors import ConfigError

# How often a running process looks at the config file's modification time.
POLL_SECONDS = 3.0
# Read once at start: a reload that changes these says a restart is needed.
RESTART_ONLY = ("database_url", "http", "contact", "spool_dir", "log_format")

Stamp = tuple[int, int, int] | None


def stamp(path: Path) -> Stamp:
    """What tells a changed file: modification time, size and inode (None: no such file)."""
    if path == Path(""):
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def reread(old: Config, why: str, log: logging.Logger) -> Config | None:
    """The file `old` came from, loaded again; None (and an error logged on `log`, naming the
    file and the problem) when it cannot be used. Restart-only keys keep their old values."""
    try:
        new = config_module.load(old.path, database_url=old.database_url)
    except ConfigError as exc:
        log.error("config reload (%s) refused, the previous config keeps running: %s", why, exc)
        return None
    except Exception:  # a reload must never take the process down
        log.exception("config reload (%s) failed, the previous config keeps running", why)
        return None
    later = [key for key in RESTART_ONLY if getattr(old, key) != getattr(new, key)]
    if later:
        log.warning("config reload: %s take effect at the next restart", ", ".join(later))
        new = new.model_copy(update={key: getattr(old, key) for key in later})
    return new
