"""The one way in to the data for the API, the pages and their charts.

Today it calls the read functions the CLI uses (tracker.query, tracker.claims through it) and
the store's own status, attempts and budgets; every route and page reads through a `Records`,
so moving to another read model changes this module alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from tracker import query
from tracker.baselines import days_since, end_of_day
from tracker.claims import Verdict
from tracker.errors import UsageError
from tracker.store import SeriesInfo, Store, redact
from tracker.store.ledger import COLLECTED
from tracker.store.models import BACKFILLED, SUDDEN
from tracker.timeutil import from_epoch
from tracker.web.models import (
    BudgetRecord,
    ComparisonRecord,
    EventRecord,
    EvidenceRecord,
    Latest,
    PointRecord,
    PointsPage,
    SeriesPage,
    SeriesRecord,
    SourceRecord,
    StatusRecord,
    VerdictRecord,
)

if TYPE_CHECKING:
    from tracker.config import Config

# New series appear when a round meets a new target: the id index is re-read at most this
# often (and at once when an id asked for is not in it).
SERIES_TTL = 30.0
MAX_LIMIT = 100_000


class NotFound(LookupError):
    """What was asked for does not exist (a 404, with this message)."""


def iso(ts: int | None) -> str | None:
    return None if ts is None else from_epoch(ts).isoformat().replace("+00:00", "Z")


def _latest(pair: tuple[int, int] | None) -> Latest | None:
    return None if pair is None else Latest(ts=pair[0], time=iso(pair[0]) or "", value=pair[1])


def text(option: str, value: str | None) -> str | None:
    """A filter as given, or a UsageError: a NUL no database column can hold."""
    if value is not None and "\x00" in value:
        raise UsageError(f"{option}: must not contain a NUL character")
    return value


class Records:
    """Read-only records of one store and (optionally) the config that names the campaign."""

    def __init__(self, store: Store, config: Config | None, database_url: str) -> None:
        self.store = store
        self.config = config
        self._database = redact(database_url)
        self._lock = threading.Lock()
        self._series: dict[int, SeriesInfo] = {}
        self._loaded = 0.0

    # -- series ------------------------------------------------------------------------------
    def all_series(self, fresh: bool = False) -> dict[int, SeriesInfo]:
        with self._lock:
            if fresh or time.monotonic() - self._loaded > SERIES_TTL:
                self._series = {s.id: s for s in self.store.find_series()}
                self._loaded = time.monotonic()
            return self._series

    def series_info(self, series_id: int) -> SeriesInfo:
        found = self.all_series().get(series_id) or self.all_series(fresh=True).get(series_id)
        if found is None:
            raise NotFound(f"no series with id {series_id}")
        return found

    def record(self, info: SeriesInfo, with_latest: bool = True) -> SeriesRecord:
        latest = self.store.latest(info.id) if with_latest else None
        return SeriesRecord(
            id=info.id,
            subject=info.subject,
            platform=info.source,
            metric=info.metric,
            key=info.key,
            label=info.label,
            labels=dict(info.labels),
            latest=_latest(latest),
        )

    def series(
        self,
        subject: str | None = None,
        platform: str | None = None,
        metric: str | None = None,
        labels: dict[str, str] | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> SeriesPage:
        given = [("subject", subject), ("platform", platform), ("metric", metric)]
        given += [("label", f"{k}={v}") for k, v in (labels or {}).items()]
        for option, value in given:
            text(option, value)
        found = self.store.find_series(subject or None, platform, metric, labels or None)
        found.sort(key=lambda s: (s.subject.casefold(), s.source, s.metric, s.key))
        page = found[offset : offset + limit]
        return SeriesPage(
            total=len(found), offset=offset, limit=limit, items=[self.record(s) for s in page]
        )

    # -- points ------------------------------------------------------------------------------
    def events(self) -> dict[str, date]:
        return self.config.campaign.dates() if self.config and self.config.campaign else {}

    def event(self, name: str) -> tuple[str, date]:
        return query.event("relative_to", self.events(), name)

    def points(
        self,
        series_id: int,
        since: int | None = None,
        until: int | None = None,
        every: int | None = None,
        relative_to: str | None = None,
        from_day: int | None = None,
        to_day: int | None = None,
        offset: int = 0,
        limit: int = 10_000,
    ) -> PointsPage:
        """One series' points: a range, resampled (last value per bucket), counted in days
        from an event (and cut to days `from_day`..`to_day` of it), a page at a time."""
        info = self.series_info(series_id)
        on = self.event(relative_to) if relative_to else None
        if (from_day is not None or to_day is not None) and on is None:
            raise UsageError("from_day/to_day: need relative_to (the event day N counts from)")
        if on is not None:
            if from_day is not None:
                lo = end_of_day(on[1], from_day - 1) + 1
                since = lo if since is None else max(since, lo)
            if to_day is not None:
                hi = end_of_day(on[1], to_day) + 1
                until = hi if until is None else min(until, hi)
        if since is not None and until is not None and since >= until:
            raise UsageError("since must be before until")
        rows = self.store.points(series_id, since, until)
        flags = {int(ts): int(f or 0) for ts, _, _, _, f in rows}
        pairs = [(int(ts), int(v), p) for ts, v, p, _, _ in rows]
        if every:
            bucketed = query.bucket([(ts, v) for ts, v, _ in pairs], every)
            starts = {start for start, _ in bucketed}
            # A bucket is backfilled/sudden when its last point is (as `tracker history`).
            lasts = {ts - (ts - _origin(every)) % every: ts for ts, _, _ in pairs}
            pairs = [(start, v, None) for start, v in bucketed]
            flags = {s: flags.get(lasts.get(s, -1), 0) for s in starts}
        total = len(pairs)
        chunk = pairs[offset : offset + limit]
        points = [
            PointRecord(
                ts=ts,
                time=iso(ts) or "",
                value=value,
                period=period,
                day=days_since(ts, on[1]) if on else None,
                backfilled=bool(flags.get(ts, 0) & BACKFILLED),
                sudden=bool(flags.get(ts, 0) & SUDDEN),
            )
            for ts, value, period in chunk
        ]
        after = offset + len(chunk)
        return PointsPage(
            series=self.record(info, with_latest=False),
            event=EventRecord(name=on[0], date=on[1].isoformat()) if on else None,
            every=every,
            total=total,
            offset=offset,
            limit=limit,
            next_offset=after if after < total else None,
            points=points,
        )

    # -- the campaign ------------------------------------------------------------------------
    def compare(
        self,
        subjects: Sequence[str] = (),
        platform: str | None = None,
        metric: str | None = None,
    ) -> list[ComparisonRecord]:
        if self.config is None or self.config.campaign is None:
            return []
        for option, value in [("platform", platform), ("metric", metric),
                              *(("subject", s) for s in subjects)]:  # fmt: skip
            text(option, value)
        out = []
        for row in query.compare(self.config, self.store, subjects, platform, metric):
            ref, change = row.reference, row.change
            out.append(
                ComparisonRecord(
                    name=ref.name,
                    role=ref.role,
                    subject=ref.subject,
                    platform=ref.source,
                    metric=ref.metric,
                    value=ref.value,
                    at=iso(ref.at) or "",
                    citation=ref.citation or "",
                    measured=_latest(row.measured),
                    series_label=row.series_label,
                    change=change.delta if change else None,
                    percent=None if change is None else change.percent,
                )
            )
        return out

    def claims(self) -> list[VerdictRecord]:
        if self.config is None or self.config.campaign is None:
            return []
        return [_verdict(v) for v in query.claims(self.config, self.store)]

    def subjects(self) -> list[str]:
        """What the campaign and the targets are about (config order), else every subject."""
        if self.config is not None:
            named = query.subjects_of(self.config)
            if named:
                return named
        return sorted({s.subject for s in self.all_series().values()}, key=str.casefold)

    def campaign_name(self) -> str | None:
        return self.config.campaign.name if self.config and self.config.campaign else None

    # -- health ------------------------------------------------------------------------------
    def status(self) -> StatusRecord:
        sources = [
            SourceRecord(
                source=s.source,
                up=s.last_outcome in COLLECTED,
                last_outcome=s.last_outcome,
                last_success=s.last_success.isoformat() if s.last_success else None,
                last_failure=s.last_failure.isoformat() if s.last_failure else None,
                last_cause=s.last_cause,
                failures_in_a_row=s.failures_in_a_row,
                next_run=s.next_run.isoformat() if s.next_run else None,
            )
            for s in self.store.status()
        ]
        budgets = [
            BudgetRecord(
                key=b.key,
                limit=b.limit,
                used=b.used,
                left=b.left,
                window_end=b.window_end.isoformat(),
                parked_until=b.parked_until.isoformat() if b.parked_until else None,
            )
            for b in self.store.quotas()
        ]
        events = [EventRecord(name=n, date=d.isoformat()) for n, d in self.events().items()]
        return StatusRecord(
            database=self._database,
            campaign=self.campaign_name(),
            events=events,
            sources=sources,
            budgets=budgets,
        )


def _origin(step: int) -> int:
    from tracker.core import MONDAY, WEEK

    return MONDAY if step % WEEK == 0 else 0


def _verdict(v: Verdict) -> VerdictRecord:
    c = v.claim
    return VerdictRecord(
        name=c.name,
        subject=c.subject,
        platform=c.source,
        metric=c.metric,
        claimed=c.value,
        figure=c.figure,
        at=c.at.isoformat(),
        text=c.text,
        citation=c.citation,
        status=v.status,
        measured=v.measured,
        summary=v.summary,
        action=v.action,
        evidence=[
            EvidenceRecord(
                what=e.what,
                start=e.start.isoformat(),
                end=e.end.isoformat() if e.end else None,
                value=e.value,
                backfilled=e.backfilled,
            )
            for e in v.evidence
        ],
    )
