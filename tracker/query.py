"""What the read commands ask of the store: history, comparisons, file imports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.baselines import Comparison, references
from tracker.errors import UsageError
from tracker.store import SeriesInfo, Store
from tracker.timeutil import parse_duration, parse_moment, to_epoch

if TYPE_CHECKING:
    from tracker.config import Config

FORMATS = ("table", "csv", "json")


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    subject: str
    platform: str | None = None
    metric: str | None = None
    since: int | None = None
    until: int | None = None
    every: int | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_options(
        cls,
        subject: str,
        platform: str | None,
        metric: str | None,
        since: str | None,
        until: str | None,
        every: str | None,
        labels: Sequence[str],
        fmt: str,
    ) -> HistoryQuery:
        """Validate the command line; a bad value names its option."""
        if fmt not in FORMATS:
            raise UsageError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
        lo = _moment("--since", since)
        hi = _moment("--until", until)
        if lo is not None and hi is not None and lo >= hi:
            raise UsageError("--since must be before --until")
        step = None
        if every is not None:
            try:
                step = int(parse_duration(every).total_seconds())
            except ValueError as exc:
                raise UsageError(f"--every: {exc}") from None
        pairs: dict[str, str] = {}
        for item in labels:
            key, sep, value = item.partition("=")
            if not sep or not key or not value:
                raise UsageError(f"--label: {item!r} is not KEY=VALUE (e.g. list=GB)")
            pairs[key] = value
        return cls(subject, platform, metric, lo, hi, step, pairs)


def _moment(option: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return to_epoch(parse_moment(text))
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


@dataclass(slots=True)
class HistoryResult:
    series: list[SeriesInfo]
    points: dict[int, list[tuple[int, int]]]


def history(store: Store, q: HistoryQuery) -> HistoryResult:
    subject = q.subject
    found = store.find_series(subject, q.platform, q.metric, q.labels)
    if not found and subject.startswith("#"):
        # Hashtag series are keyed by the normal form; accept what a user types.
        from tracker.config import normalize_tag

        try:
            subject = "#" + normalize_tag(subject)
        except ValueError:
            subject = q.subject
        found = store.find_series(subject, q.platform, q.metric, q.labels)
    points = {}
    for series in found:
        rows = store.history(series.id, q.since, q.until)
        points[series.id] = bucket(rows, q.every) if q.every else rows
    return HistoryResult(found, points)


# 1970-01-01 was a Thursday; weeks start on Monday (ISO 8601, and Netflix's chart weeks).
WEEK = 7 * 86400
MONDAY = 4 * 86400


def bucket(rows: list[tuple[int, int]], step: int) -> list[tuple[int, int]]:
    """The last value in each `step`-second bucket (UTC-aligned), stamped with the bucket start.

    Buckets of whole weeks start on a Monday 00:00 UTC.
    """
    origin = MONDAY if step % WEEK == 0 else 0
    out: list[tuple[int, int]] = []
    for ts, value in rows:
        start = ts - (ts - origin) % step
        if out and out[-1][0] == start:
            out[-1] = (start, value)
        else:
            out.append((start, value))
    return out


def compare(config: Config, store: Store, subject: str | None = None) -> list[Comparison]:
    """Each baseline and claim of the campaign against the latest value of its series."""
    out = []
    for ref in references(config):
        if subject and ref.subject.casefold() != subject.casefold():
            continue
        matches = store.find_series(ref.subject, ref.source, ref.metric)
        best: tuple[int, int] | None = None
        label = ""
        for series in matches:
            latest = store.latest(series.id)
            if latest is not None and (best is None or latest[0] > best[0]):
                best, label = latest, series.label or series.key
        out.append(Comparison(ref, best, label))
    return out


def import_netflix(config: Config, store: Store, path: Path, all_titles: bool) -> str:
    """Load a Netflix Top 10 TSV from disk through the collector's own parser."""
    from tracker.collectors.netflix import parse_tsv
    from tracker.errors import BadPayload

    titles = {c.title: c.subject or c.title for c in config.charts if c.source == "netflix"}
    if not all_titles and not titles:
        raise UsageError(
            f"{config.path}: charts: no Netflix chart configured; add one or use --all"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"FILE: cannot read {path}: {exc}") from None
    try:
        parsed = parse_tsv(text, None if all_titles else titles, "netflix")
    except BadPayload as exc:
        raise UsageError(f"{path}: not a Netflix Top 10 file: {exc.cause}") from None
    stored = store.write("netflix", parsed.observations)
    skipped = f", {len(parsed.failures)} malformed row(s) skipped" if parsed.failures else ""
    return f"{path.name}: {len(parsed.observations)} value(s) read, {stored} new{skipped}"
