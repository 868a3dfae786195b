"""Every collector, built-in or third-party, is found through one entry-point group."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from tracker.collectors.base import Collector
from tracker.errors import ConfigError

GROUP = "tracker.collectors"


@cache
def available() -> dict[str, type[Collector]]:
    """Name -> collector class, for every installed collector."""
    found: dict[str, type[Collector]] = {}
    for entry in entry_points(group=GROUP):
        cls = entry.load()
        if not (isinstance(cls, type) and issubclass(cls, Collector)):
            raise ConfigError(GROUP, entry.name, f"{entry.value} is not a Collector subclass")
        found[entry.name] = cls
    return dict(sorted(found.items()))


def get(name: str) -> type[Collector]:
    collectors = available()
    if name not in collectors:
        known = ", ".join(collectors) or "none"
        raise ConfigError("collectors", name, f"no collector named {name!r} (installed: {known})")
    return collectors[name]
