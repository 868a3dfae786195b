"""Database URLs checked before anything connects: a bare file name, an unknown kind of
database and a driver that is not installed each get a message that says what to write.

Nothing here connects or creates a file; the driver module is imported (as opening the
database would import it anyway).
"""

from __future__ import annotations

KINDS = "sqlite:///FILE (e.g. sqlite:///tracker.db) or postgresql://USER@HOST/DB"


def problem(url: str) -> str | None:
    """Why tracker cannot open a database at `url`, or None when it can try."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from tracker.store import normalize_url, redact

    if not url.strip():
        return f"empty; give {KINDS}"
    if "\x00" in url or "%00" in url:  # no file name or server option can hold one
        return f"{redact(url)!r} contains a NUL character"
    try:
        parsed = make_url(normalize_url(url))
    except ArgumentError:
        if "://" not in url:
            # Most likely a file path meant for SQLite: say how to write it.
            absolute = url.startswith("/")
            example = f"sqlite:///{url}" if not absolute else f"sqlite:////{url.lstrip('/')}"
            return (
                f"{url!r} is a file path, not a database URL: for a SQLite file write "
                f"{example} (three slashes before a relative path, four before an absolute one)"
            )
        return f"{redact(url)!r} is not a database URL: give {KINDS}"
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        return (
            f"{parsed.drivername!r} in {redact(url)!r} is not a kind of database tracker knows: "
            f"give {KINDS}"
        )
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        return (
            f"the database driver for {parsed.drivername} is not installed ({exc}): "
            f"tracker ships the drivers for {KINDS}"
        )
    return None
