"""What the read commands ask of the store: history, comparisons, claims."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from tracker import bounds
from tracker.baselines import Between, Comparison, end_of_day, references
from tracker.claims import Claim, Point, Readiness, Series, Verdict, check
from tracker.core import MONDAY, WEEK
from tracker.errors import ConfigError, UsageError
from tracker.store import SeriesInfo, Store
from tracker.store.models import BACKFILLED, SUDDEN
from tracker.timeutil import parse_duration, to_epoch

if TYPE_CHECKING:
    from tracker.config import Campaign, Config

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
    # (name, date) of the event the "day" column counts from (`--relative-to`).
    event: tuple[str, date] | None = None

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
        if not subject.strip():  # an empty subject would match every series
            raise UsageError("SUBJECT: must not be empty (who or what, as the config names it)")
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
        return to_epoch(bounds.moment(text))
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


@dataclass(slots=True)
class HistoryResult:
    series: list[SeriesInfo]
    points: dict[int, list[tuple[int, int]]]
    # Per series, the times of the points shown that a backfill wrote (not collected live).
    backfilled: dict[int, set[int]] = field(default_factory=dict)
    event: tuple[str, date] | None = None
    # Per series, the times of the points shown that are a sudden change (flagged SUDDEN).
    sudden: dict[int, set[int]] = field(default_factory=dict)


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
    points, backfilled, sudden = {}, {}, {}
    for series in found:
        full = store.points(series.id, q.since, q.until)
        rows = [(int(ts), int(value)) for ts, value, *_ in full]
        late = {int(ts) for ts, _, _, _, flags in full if (flags or 0) & BACKFILLED}
        swings = {int(ts) for ts, _, _, _, flags in full if (flags or 0) & SUDDEN}
        if q.every:
            # A bucket's value is its last point's, and so is whether it was backfilled; a
            # sudden change anywhere in a bucket marks the bucket (never hidden by bucketing).
            lasts = _last_per_bucket([ts for ts, _ in rows], q.every)
            late = {start for start, i in lasts if rows[i][0] in late}
            marked, first = set(), 0
            for start, i in lasts:
                if any(ts in swings for ts, _ in rows[first : i + 1]):
                    marked.add(start)
                first = i + 1
            swings = marked
            rows = [(start, rows[i][1]) for start, i in lasts]
        points[series.id], backfilled[series.id], sudden[series.id] = rows, late, swings
    return HistoryResult(found, points, backfilled, q.event, sudden)


def bucket(rows: list[tuple[int, int]], step: int) -> list[tuple[int, int]]:
    """The last value in each `step`-second bucket (UTC-aligned), stamped with the bucket start.

    Buckets of whole weeks start on a Monday 00:00 UTC.
    """
    return [(start, rows[i][1]) for start, i in _last_per_bucket([ts for ts, _ in rows], step)]


def _last_per_bucket(times: list[int], step: int) -> list[tuple[int, int]]:
    """(bucket start, index of the bucket's last time) for sorted `times`."""
    origin = MONDAY if step % WEEK == 0 else 0
    out: list[tuple[int, int]] = []
    for i, ts in enumerate(times):
        start = ts - (ts - origin) % step
        if out and out[-1][0] == start:
            out[-1] = (start, i)
        else:
            out.append((start, i))
    return out


def compare(
    config: Config,
    store: Store,
    subjects: Sequence[str] = (),
    platform: str | None = None,
    metric: str | None = None,
) -> list[Comparison]:
    """Each baseline and claim of the campaign against the latest value of its series."""
    wanted = {s.casefold() for s in given_subjects(subjects)}
    out = []
    for ref in references(config):
        if wanted and ref.subject.casefold() not in wanted:
            continue
        if (platform and ref.source != platform) or (metric and ref.metric != metric):
            continue
        matches = find(store, ref.subject, ref.source, ref.metric)
        best: tuple[int, int] | None = None
        label = ""
        for series in matches:
            latest = store.latest(series.id)
            if latest is not None and (best is None or latest[0] > best[0]):
                best, label = latest, series.label or series.key
        out.append(Comparison(ref, best, label))
    return out


def given_subjects(subjects: Sequence[str]) -> Sequence[str]:
    """SUBJECT arguments as given; an empty one is a usage error (it would match everything)."""
    if any(not subject.strip() for subject in subjects):
        raise UsageError("SUBJECT: must not be empty (who or what, as the config names it)")
    return subjects


# -- events: "day N" counts from the launch or another dated event ----------------------
_DAY = re.compile(r"^day\s*([+\-\u2212]?)\s*(\d+)$", re.IGNORECASE | re.ASCII)
# Day N is at most 100 years from its event (which the config keeps within 1900..2199).
MAX_DAYS = 36500


def parse_day(option: str, text: str) -> int:
    """'day+28' -> 28, 'day-30' -> -30, 'day0' -> 0; a bad value names its option."""
    match = _DAY.match(text.strip())
    if not match:
        raise UsageError(f"{option}: {text!r} is not a day like day-30, day0 or day+28")
    digits = match.group(2)
    if len(digits) > len(str(MAX_DAYS)) or int(digits) > MAX_DAYS:
        raise UsageError(f"{option}: {text.strip()[:40]!r} is more than {MAX_DAYS} days away")
    sign = -1 if match.group(1) in ("-", "\u2212") else 1
    return sign * int(digits)


def campaign_events(config_file: str | None) -> dict[str, date]:
    """The campaign's events (launch first) read from the file alone: the read commands do
    not load the full config (its collectors and environment overrides) for this."""
    from pydantic import ValidationError

    from tracker.config import Campaign
    from tracker.configfile import find_config, read_toml

    where = find_config(config_file)
    if where is None:
        return {}
    data = read_toml(where).get("campaign")
    if data is None:
        return {}
    try:
        return Campaign.model_validate(data).dates()
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(["campaign", *(str(part) for part in first["loc"])])
        raise ConfigError(str(where), key, first["msg"].removeprefix("Value error, ")) from None


def event(option: str, events: dict[str, date], name: str) -> tuple[str, date]:
    """The event called `name` (any case), or a UsageError naming the option and the choices."""
    if not events:
        raise UsageError(f"{option}: {name!r}: the config has no [campaign] to take events from")
    for known, day in events.items():
        if known.casefold() == name.strip().casefold():
            return known, day
    raise UsageError(f"{option}: no event named {name!r} (the campaign has: {', '.join(events)})")


def campaign(config: Config, name: str | None, option: str = "CAMPAIGN") -> Campaign:
    """The config's campaign, checked against the name the user gave."""
    if config.campaign is None:
        raise ConfigError(str(config.path), "campaign", "no [campaign] section")
    if name is not None and name.strip().casefold() != config.campaign.name.casefold():
        raise UsageError(
            f"{option}: no campaign named {name!r} in {config.path} "
            f"(it has {config.campaign.name!r})"
        )
    return config.campaign


def subjects_of(config: Config) -> list[str]:
    """Everything the campaign and the targets are about, in config order, once each."""
    names: list[str] = []
    if config.campaign:
        names += [r.subject for r in config.campaign.baselines + config.campaign.claims]
    for source in sorted(config.platforms_named()):
        names += [t.subject for t in config.targets(source)]
    once: dict[str, str] = {}
    for name in names:
        once.setdefault(name.casefold(), name)
    return list(once.values())


@dataclass(frozen=True, slots=True)
class AtRow:
    series: SeriesInfo
    cells: list[Point | None]  # the value at or before each moment asked, or None

    def between(self, first: int = 0, last: int = -1) -> Between:
        a, b = self.cells[first], self.cells[last]
        return Between(
            (a.ts, a.value) if a else None,
            (b.ts, b.value) if b else None,
            a.sig if a else None,
            b.sig if b else None,
        )


@dataclass(frozen=True, slots=True)
class AtResult:
    event: str
    day: date
    days: list[int]
    rows: list[AtRow]


def values_at(
    store: Store,
    subjects: Sequence[str],
    days: Sequence[int],
    on: tuple[str, date],
    platform: str | None = None,
    metric: str | None = None,
) -> AtResult:
    """For each series of `subjects`, the value at or before the end of each day N after `on`.

    Nothing is interpolated: a series with no value by then has None there.
    """
    moments = [end_of_day(on[1], n) for n in days]
    rows = []
    for subject in given_subjects(subjects):
        for series in store.find_series(subject, platform, metric):
            cells: list[Point | None] = []
            for moment in moments:
                latest = store.latest(series.id, moment)
                cells.append(None if latest is None else _point(store, series.id, latest[0]))
            rows.append(AtRow(series, cells))
    return AtResult(on[0], on[1], list(days), rows)


def _point(store: Store, series_id: int, ts: int) -> Point:
    ((at, value, period, sig, flags),) = store.points(series_id, ts, ts + 1)
    return Point(int(at), int(value), period, sig, flags)


# -- claims -------------------------------------------------------------------------------
def load(store: Store, found: Sequence[SeriesInfo]) -> list[Series]:
    """The series with all their points, for the pure functions of tracker.claims."""
    return [
        Series(
            s.source,
            s.metric,
            s.key,
            s.label,
            s.labels,
            [Point(int(t), int(v), p, sig, f) for t, v, p, sig, f in store.points(s.id)],
        )  # fmt: skip
        for s in found
    ]


def readers(source: str) -> list[str]:
    """The sources whose series may answer a claim naming `source`: itself, then the
    installed collectors that read it (`Collector.aliases`)."""
    from tracker.collectors import registry

    installed = registry.available()
    return [source] + [n for n, c in installed.items() if n != source and source in c.aliases]


def find(store: Store, subject: str, source: str, metric: str | None) -> list[SeriesInfo]:
    """`subject`'s series on `source`, or on the sources that read it under that name."""
    from tracker.collectors import registry

    installed = registry.available()
    found: list[SeriesInfo] = []
    for reader in readers(source):
        for s in store.find_series(subject, reader, metric):
            # A reader of many publishers keeps only the series of the one named.
            if reader == source or installed[reader].answers(source, s.key, s.labels):
                found.append(s)
    return found


def claim_series(store: Store, claim: Claim) -> list[Series]:
    """The series that can answer `claim`: its subject on its source (or what reads it)."""
    metric = None if claim.metric == "countries_in_top10" else claim.metric
    if claim.metric == "weeks_at_number_one":
        metric = "chart_rank"
    return load(store, find(store, claim.subject, claim.source, metric))


def claims(config: Config, store: Store, name: str | None = None) -> list[Verdict]:
    """Every claim of the campaign with its verdict and the measured evidence behind it."""
    chosen = campaign(config, name)
    verdicts = []
    for ref in chosen.claims:
        claim = Claim.of(ref)
        ready = readiness(config, claim, chosen.launch)
        verdicts.append(check(claim, chosen.launch, claim_series(store, claim), ready))
    return verdicts


def readiness(config: Config, claim: Claim, launch: date) -> Readiness:
    """Whether a collector could measure the claim, and what it would take."""
    from tracker.collectors import registry
    from tracker.importers import registry as importers

    installed = registry.available()
    for name in readers(claim.source):
        cls = installed.get(name)
        if cls is None:
            continue
        history = cls.keeps_history()
        command = (
            f"tracker backfill {name} --since {launch - timedelta(days=30)}"
            if history
            else "tracker run --once"
        )
        files = [
            f"tracker import {i.name} {i.example or 'FILE'}" for i in importers.of_source(name)
        ]
        if files:
            command += f" (or {' or '.join(files)})"
        subject = claim.subject.casefold()
        if not any(t.subject.casefold() == subject for t in config.targets(name)):
            command = f"add a {name} target for {claim.subject!r} to the config, then {command}"
        collector = cls(config.source_settings[name])
        return Readiness(True, collector.missing() or "", command, history)
    failed = registry.broken().get(claim.source)
    note = f"the {claim.source!r} plugin failed to load: {failed}" if failed else ""
    return Readiness(False, note=note)


@dataclass(slots=True)
class Swing:
    """A value stored flagged as a sudden change, with the value before it."""

    series: SeriesInfo
    at: int
    before: int | None
    value: int


def sudden_changes(store: Store, since: int, limit: int = 20) -> list[Swing]:
    """The newest values flagged SUDDEN since a time, newest first."""
    flagged = store.sudden(since, limit)
    if not flagged:
        return []
    series = {s.id: s for s in store.find_series()}
    swings = []
    for series_id, ts, value in flagged:
        if series_id not in series:
            continue
        previous = store.latest(series_id, ts - 1)
        swings.append(Swing(series[series_id], ts, previous[1] if previous else None, value))
    return swings
