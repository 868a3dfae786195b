"""Every importer, built-in or third-party, is found through the `tracker.importers` group.

As with collectors, one that fails to load is skipped and kept in `broken()` with why.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points

from tracker.errors import UsageError
from tracker.importers.base import Importer

GROUP = "tracker.importers"

log = logging.getLogger("tracker.importers")


@cache
def _scan() -> tuple[dict[str, type[Importer]], dict[str, str]]:
    found: dict[str, type[Importer]] = {}
    broken: dict[str, str] = {}
    for entry in entry_points(group=GROUP):
        try:
            cls = entry.load()
            if not (isinstance(cls, type) and issubclass(cls, Importer)):
                raise TypeError("not an Importer subclass")
            found[entry.name] = cls
        except Exception as exc:  # whatever a third party's import raises: skip, say why
            broken[entry.name] = f"{entry.value}: {type(exc).__name__}: {exc}"
            log.warning("importer %r skipped: its plugin failed to load (%s)", entry.name, exc)
    return dict(sorted(found.items())), dict(sorted(broken.items()))


def available() -> dict[str, type[Importer]]:
    """Name -> importer class, for every installed importer that loads."""
    return dict(_scan()[0])


def broken() -> dict[str, str]:
    """Name -> why, for every registered importer whose plugin failed to load."""
    return dict(_scan()[1])


def clear() -> None:
    """Forget what was found (after installing a plugin in a running process, e.g. a test)."""
    _scan.cache_clear()


def of_source(source: str) -> list[type[Importer]]:
    """The importers whose files hold `source`'s values."""
    return [cls for cls in available().values() if cls.source == source]


def get(name: str) -> Importer:
    importers = available()
    if name in importers:
        return importers[name]()
    failed = broken().get(name)
    if failed:
        raise UsageError(f"IMPORTER: the {name!r} plugin failed to load: {failed}")
    known = ", ".join(importers) or "none"
    raise UsageError(f"IMPORTER: no importer named {name!r} (installed: {known})")
