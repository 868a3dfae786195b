"""Every collector, built-in or third-party, is found through one entry-point group.

A plugin that fails to load (an import error, not a Collector, settings without the fields
its credentials name) is skipped and kept in `broken()` with the reason, so the other
sources still run; a config or a command that names it gets that reason (`get`).
"""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from tracker.collectors.base import Collector
from tracker.errors import ConfigError

GROUP = "tracker.collectors"

log = logging.getLogger("tracker.collectors")


@cache
def _scan() -> tuple[dict[str, type[Collector]], dict[str, str]]:
    found: dict[str, type[Collector]] = {}
    broken: dict[str, str] = {}
    for entry in entry_points(group=GROUP):
        try:
            found[entry.name] = _load(entry)
        except Exception as exc:  # whatever a third party's import raises: skip, say why
            broken[entry.name] = f"{entry.value}: {type(exc).__name__}: {exc}"
            log.warning("collector %r skipped: its plugin failed to load (%s)", entry.name, exc)
    return dict(sorted(found.items())), dict(sorted(broken.items()))


def _load(entry: EntryPoint) -> type[Collector]:
    cls = entry.load()
    if not (isinstance(cls, type) and issubclass(cls, Collector)):
        raise TypeError("not a Collector subclass")
    fields = cls.settings_model.model_fields
    for credential in cls.credentials:
        absent = [name for name in credential.fields if name not in fields]
        if absent:
            need = f"the credential {credential.setting!r}"
            raise TypeError(f"its settings lack {', '.join(absent)}, which {need} reads")
    return cls


def available() -> dict[str, type[Collector]]:
    """Name -> collector class, for every installed collector that loads."""
    return dict(_scan()[0])


def broken() -> dict[str, str]:
    """Name -> why, for every registered collector whose plugin failed to load."""
    return dict(_scan()[1])


def clear() -> None:
    """Forget what was found (after installing a plugin in a running process, e.g. a test)."""
    _scan.cache_clear()


def get(name: str) -> type[Collector]:
    collectors = available()
    if name in collectors:
        return collectors[name]
    failed = broken().get(name)
    if failed:
        raise ConfigError("collectors", name, f"the {name!r} plugin failed to load: {failed}")
    known = ", ".join(collectors) or "none"
    raise ConfigError("collectors", name, f"no collector named {name!r} (installed: {known})")
