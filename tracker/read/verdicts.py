"""The one verdict on a campaign's baselines and claims, shared by `claims`, `compare` and
the report: each reference against the series measured for it (`tracker.claims.check`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

from tracker.claims import Claim, Point, Readiness, Series, Verdict, check
from tracker.read import names
from tracker.read.records import EvidenceRecord, VerdictRecord
from tracker.store import SeriesInfo, Store

if TYPE_CHECKING:
    from tracker.campaign import Reference
    from tracker.config import Config

# Metrics a verdict derives from chart ranks, and the stored metric each is read from.
DERIVED = {"countries_in_top10": None, "weeks_at_number_one": "chart_rank"}


def readers(source: str) -> list[str]:
    """The sources whose series may answer a reference naming `source`: itself, then the
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


def measured_for(store: Store, claim: Claim) -> list[SeriesInfo]:
    """The series that can answer `claim`: its subject on its source (or what reads it)."""
    metric = DERIVED.get(claim.metric, claim.metric)
    return find(store, claim.subject, claim.source, metric)


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


def verdict(config: Config, store: Store, ref: Reference, role: str, launch: date) -> VerdictRecord:
    """THE verdict on one baseline or claim, with the newest value of its series beside it."""
    claim = Claim.of(ref)
    found = measured_for(store, claim)
    judged = check(claim, launch, load(store, found), readiness(config, claim, launch))
    latest: tuple[int, int] | None = None
    latest_series = ""
    for s in found:
        if s.metric != claim.metric:
            continue
        newest = store.latest(s.id)
        if newest is not None and (latest is None or newest[0] > latest[0]):
            latest, latest_series = newest, s.label or s.key
    return as_record(judged, role, latest, latest_series)


def as_record(
    v: Verdict, role: str, latest: tuple[int, int] | None = None, latest_series: str = ""
) -> VerdictRecord:
    c = v.claim
    return VerdictRecord(
        c.name, role, c.subject, c.source, c.metric, c.value, c.sig, c.figure, c.at, c.text,
        c.citation, v.status, v.measured, v.summary,
        tuple(EvidenceRecord(e.what, e.start, e.end, e.value, e.backfilled) for e in v.evidence),
        v.action, latest, latest_series,
    )  # fmt: skip


def claims(config: Config, store: Store, campaign: str | None = None) -> list[VerdictRecord]:
    """Every claim of the campaign with its verdict and the measured evidence behind it."""
    from tracker.read.campaigns import chosen

    found = chosen(config, campaign)
    return [verdict(config, store, ref, "claim", found.launch) for ref in found.claims]


def compare(
    config: Config,
    store: Store,
    subjects: Sequence[str] = (),
    platform: str | None = None,
    metric: str | None = None,
) -> list[VerdictRecord]:
    """Each baseline and claim of the campaign (of `subjects`, on `platform`, of `metric`)
    with the same verdict `claims` gives, and the newest value of its series."""
    from tracker.errors import UnknownName
    from tracker.read.campaigns import chosen

    found = chosen(config, None)
    refs = [("baseline", r) for r in found.baselines] + [("claim", r) for r in found.claims]
    known = {r.subject for _, r in refs}
    for subject in subjects:
        if subject.casefold() not in {k.casefold() for k in known}:
            near = names.close(subject, known)
            hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
            raise UnknownName(
                f"the campaign has no baseline or claim about {subject!r}{hint} "
                f"(it has: {', '.join(sorted(known))})"
            )
    if platform is not None and platform not in {r.source for _, r in refs}:
        names.check_platform(store, platform)
    wanted = {s.casefold() for s in subjects}
    return [
        verdict(config, store, ref, role, found.launch)
        for role, ref in refs
        if (not wanted or ref.subject.casefold() in wanted)
        and (platform is None or ref.source == platform)
        and (metric is None or ref.metric == metric)
    ]
