"""Finding series by what a user types: a name, a handle, a tag or a platform id, in any
case; a name nothing is stored under is an `UnknownName` that says what is close."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from functools import cache

from tracker.errors import UnknownName
from tracker.store import SeriesInfo, Store

_DIGITS = re.compile(r"(\d+)")


def natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key putting 'Season 2' before 'Season 10', ignoring case."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text.casefold())
    )


def order(found: Iterable[SeriesInfo]) -> list[SeriesInfo]:
    """Series by subject, platform, metric, then their labels in natural order."""

    def key(s: SeriesInfo) -> tuple[object, ...]:
        labels = tuple(natural(v) for _, v in sorted(s.labels.items()))
        return (natural(s.subject), s.source, s.metric, labels, natural(s.label or s.key))

    return sorted(found, key=key)


@cache
def platforms() -> tuple[str, ...]:
    """Every installed collector's name, read from the entry points (nothing imported)."""
    from importlib.metadata import entry_points

    return tuple(sorted({e.name for e in entry_points(group="tracker.collectors")}))


def close(word: str, choices: Iterable[str]) -> list[str]:
    """The few choices spelled most like `word`, ignoring case."""
    by_fold: dict[str, str] = {}
    for choice in choices:
        by_fold.setdefault(choice.casefold(), choice)
    near = difflib.get_close_matches(word.casefold(), list(by_fold), n=3, cutoff=0.8)
    return [by_fold[n] for n in near]


def _hint(word: str, choices: Iterable[str]) -> str:
    near = close(word, choices)
    return f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""


def check_platform(store: Store, platform: str | None) -> None:
    """An UnknownName when no collector has this name and nothing is stored under it."""
    if platform is None or platform in platforms():
        return
    if store.find_series(source=platform):
        return
    raise UnknownName(
        f"no platform named {platform!r}{_hint(platform, platforms())} "
        f"(installed: {', '.join(platforms())})",
        "platform",
    )


def _tag(text: str) -> str | None:
    from tracker.core import normalize_tag

    try:
        return "#" + normalize_tag(text)
    except ValueError:
        return None


def find(
    store: Store,
    subject: str | None,
    platform: str | None = None,
    metric: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[SeriesInfo]:
    """The series of `subject` (by name, handle, tag or platform id, any case), in natural
    order; an UnknownName with suggestions when there are none."""
    wanted = dict(labels or {})
    found = store.find_series(subject, platform, metric, wanted or None)
    if not found and subject is not None:
        found = _by_other_names(store, subject, platform, metric, wanted)
    if found:
        return order(found)
    # Only now: scanning the installed plugins' names costs more than a query that answers.
    check_platform(store, platform)
    field, why = _nothing(store, subject, platform, metric, wanted)
    raise UnknownName(why, field)


def _by_other_names(
    store: Store,
    subject: str,
    platform: str | None,
    metric: str | None,
    labels: dict[str, str],
) -> list[SeriesInfo]:
    tag = _tag(subject) if subject.lstrip().startswith("#") else None
    if tag is not None:
        tagged = store.find_series(tag, platform, metric, labels or None)
        if tagged:
            return tagged
    # Handle or platform id: index look-ups (ix_name_fold, then series.subject, label; key) ...
    names = list(dict.fromkeys(n for n in (subject.strip(), tag) if n))
    found: dict[int, SeriesInfo] = {}
    for name in names:
        for info in store.series_named(name, platform, metric):
            if all(info.labels.get(k) == v for k, v in labels.items()):
                found.setdefault(info.id, info)
    if found:
        return list(found.values())
    # ... and only when they find nothing, a platform id written in another case: a scan, on
    # the way to "did you mean", which scans anyway.
    folded = {name.casefold() for name in names}
    return [
        s
        for s in store.find_series(None, platform, metric, labels or None)
        if s.key.casefold() in folded
    ]


def _nothing(
    store: Store,
    subject: str | None,
    platform: str | None,
    metric: str | None,
    labels: dict[str, str],
) -> tuple[str, str]:
    """(subject | metric, why nothing matched): the filter that emptied the answer, and what
    is close."""
    filters = [f"platform {platform}"] if platform else []
    filters += [f"metric {metric}"] if metric else []
    filters += [f"label {k}={v}" for k, v in labels.items()]
    where = f" ({', '.join(filters)})" if filters else ""
    everything = store.find_series(None, platform)
    if metric and not any(s.metric == metric for s in everything):
        metrics = {s.metric for s in everything}
        on = f" on {platform}" if platform else ""
        return "metric", f"no {metric!r} series{on}{_hint(metric, metrics)}"
    if subject is None:
        return "subject", f"no recorded series{where}"
    names = {s.subject for s in everything} | {s.label for s in everything if s.label}
    hint = _hint(subject, names)
    if not hint and (platform or metric or labels):
        # Known under other filters: say so instead of guessing at spelling.
        anywhere = store.find_series(subject)
        if anywhere:
            held = sorted({f"{s.source} {s.metric}" for s in anywhere})
            hint = f" (it has series on: {', '.join(held[:6])})"
    if not hint and names:
        subjects = sorted({s.subject for s in everything}, key=natural)
        more = f" and {len(subjects) - 8} more" if len(subjects) > 8 else ""
        hint = f" (stored subjects: {', '.join(subjects[:8])}{more}; see `tracker series`)"
    return "subject", f"no recorded series for {subject!r}{where}{hint}"
