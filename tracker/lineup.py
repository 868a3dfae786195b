"""The lineup: every source a config could run, whether it runs, and why not.

One answer for the daemon's start line, `tracker sources` and the runner's plan: a source
runs when its collector is installed, the config gives it targets, it is enabled and it has
what it needs (credentials, page rules: the collector's `missing()`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tracker.collectors import registry
from tracker.collectors.base import Collector
from tracker.config import Config
from tracker.core import SourceSettings
from tracker.timeutil import format_duration

NONE_NEEDED = "none needed"
PRESENT = "present"
MISSING = "missing"
OPTIONAL = "optional, none set"


@dataclass(frozen=True, slots=True)
class Entry:
    """One source of the lineup."""

    name: str
    installed: bool
    enabled: bool
    targets: int
    interval: timedelta | None  # None: not installed, so no settings
    jitter: timedelta | None
    credentials: str  # NONE_NEEDED, PRESENT, MISSING or OPTIONAL
    reason: str  # why it does not run; "" when it runs
    missing: str = ""  # what it lacks to run ("set X_BEARER_TOKEN ..."), whatever else holds it

    @property
    def runs(self) -> bool:
        return not self.reason

    def every(self) -> str:
        return format_duration(self.interval) if self.interval is not None else "—"

    def fields(self) -> dict[str, object]:
        """For JSON: logs and `tracker sources --format json`."""
        return {
            "source": self.name,
            "runs": self.runs,
            "reason": self.reason,
            "enabled": self.enabled,
            "installed": self.installed,
            "targets": self.targets,
            "interval": self.every() if self.interval is not None else None,
            "interval_seconds": int(self.interval.total_seconds()) if self.interval else None,
            "jitter": format_duration(self.jitter) if self.jitter is not None else None,
            "credentials": self.credentials,
            "missing": self.missing,
        }


def lineup(config: Config, collector: Callable[[str], Collector] | None = None) -> list[Entry]:
    """Every installed source and every source the targets name, by name.

    `collector` builds (or reuses) the collector of a source; the runner passes its own cache.
    """
    installed, broken = registry.available(), registry.broken()
    make = collector or (lambda name: installed[name](config.source_settings[name]))
    entries: list[Entry] = []
    for name in sorted(config.platforms_named() | set(installed) | set(broken)):
        targets = len(config.targets(name))
        if name in broken:
            # Listed even without targets: the plugin is installed and meant to run.
            reason = f"its plugin failed to load: {broken[name]}"
            entries.append(Entry(name, False, False, targets, None, None, "—", reason))
            continue
        if name not in installed:
            reason = f"no collector installed for {name!r}"
            entries.append(Entry(name, False, False, targets, None, None, "—", reason))
            continue
        settings = config.source_settings[name]
        missing = make(name).missing() or ""
        credentials = _credentials(installed[name], settings, missing)
        if not targets:
            reason = "no targets in the config"
        elif not settings.enabled:
            reason = f"disabled in config (sources.{name}.enabled = false)"
        else:
            reason = missing
        entries.append(
            Entry(
                name,
                True,
                settings.enabled,
                targets,
                settings.interval,
                settings.jitter,
                credentials,
                reason,
                missing,
            )
        )
    return entries


def _credentials(cls: type[Collector], settings: SourceSettings, missing: str) -> str:
    """A collector's `credentials` come from the variables its settings name in `*_env`
    keys, or the files in the matching `*_file` keys; whether one is set is read without
    reading the secret."""
    if not cls.credentials:
        return NONE_NEEDED
    if missing:
        return MISSING
    for credential in cls.credentials:
        env, file_key = credential.fields
        variable = getattr(settings, env, "") or ""
        file = getattr(settings, file_key, None)
        if (variable and os.environ.get(variable, "").strip()) or (
            file and Path(file).expanduser().is_file()
        ):
            return PRESENT
    return OPTIONAL  # the source runs without one (a token that only lifts limits)


def summary(entries: list[Entry]) -> str:
    """'on: bluesky every 1h (2 targets), ...; skipped: x (set X_BEARER_TOKEN ...), ...'"""
    on = [f"{e.name} every {e.every()} ({_targets(e.targets)})" for e in entries if e.runs]
    off = [
        f"{e.name} every {e.every()} ({e.reason})" if e.installed else f"{e.name} ({e.reason})"
        for e in entries
        if not e.runs
    ]
    return f"on: {', '.join(on) or 'none'}; skipped: {', '.join(off) or 'none'}"


def _targets(count: int) -> str:
    return f"{count} target" + ("" if count == 1 else "s")
