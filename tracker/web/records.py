"""The one way in to the data for the API, the pages and their charts.

It calls the read model the CLI uses (tracker.read: compare, claims, events, subjects, a
series' rows) and the store's own status and budgets; every route and page reads through a
`Records`, and turns its records into the API's shapes (tracker.web.models) here alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from tracker import read
from tracker.baselines import DAY, days_since, end_of_day
from tracker.errors import UsageError
from tracker.read import periods
from tracker.read.history import series_rows
from tracker.read.records import NOT_IN_CHART, VALUE, Row
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

# New series appear when a round meets a new target: the id index is re-read at once when an
# id asked for is not in it, and otherwise this often (a renamed handle shows after it). It
# costs ~0.5 s for 10,000 series on a loaded machine: not something to pay per request.
SERIES_TTL = 300.0
# The campaign's records (claims read every point of their series) are computed at most this
# often: a page polled by many dashboards costs one computation per window, and is at most
# this far behind a round (the JSON's Cache-Control max-age is the same).
CAMPAIGN_TTL = 5.0
MAX_LIMIT = 100_000


T = TypeVar("T")


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
        # A SQLite file is read in this process, its waits are CPU (see api.py's docstring);
        # a server database's are the network's.
        self.local = store.url.get_backend_name() == "sqlite"
        self._database = redact(database_url)
        self._lock = threading.Lock()
        self._series: dict[int, SeriesInfo] = {}
        self._loaded = 0.0
        self._memo: dict[tuple[object, ...], tuple[float, Any]] = {}

    def _cached(self, key: tuple[object, ...], compute: Callable[[], T]) -> T:
        """`compute()`, or its answer of less than CAMPAIGN_TTL seconds ago."""
        now = time.monotonic()
        with self._lock:
            hit = self._memo.get(key)
        if hit is not None and now - hit[0] < CAMPAIGN_TTL:
            answer: T = hit[1]
            return answer
        value = compute()
        with self._lock:
            self._memo = {k: v for k, v in self._memo.items() if now - v[0] < CAMPAIGN_TTL}
            self._memo[key] = (now, value)
        return value

    # -- series ------------------------------------------------------------------------------
    def all_series(self, fresh: bool = False) -> dict[int, SeriesInfo]:
        with self._lock:
            if fresh or time.monotonic() - self._loaded > SERIES_TTL:
                self._series = {s.id: s for s in self.store.find_series()}
                self._loaded = time.monotonic()
            return self._series

    def indexed(self, series_id: int) -> bool:
        """Whether `series_id` is in the id index and the index is fresh: a look-up of it
        reads no series from the store (a re-read of ~50,000 takes ~0.5 s). False, without
        waiting, while another request holds the index (re-reading it)."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            return series_id in self._series and time.monotonic() - self._loaded <= SERIES_TTL
        finally:
            self._lock.release()

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
        return read.event("relative_to", self.events(), name)

    def point_rows(
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
        tails: Sequence[str] | None = None,
    ) -> PointRows:
        """One series' points: a range, resampled (last value per bucket), counted in days
        from an event (and cut to days `from_day`..`to_day` of it), a page at a time.

        The read model's rows (`tracker history`'s, by `series_rows`): a chart series'
        "not in chart" weeks included (value None), a series that is no chart's as the store
        read it. Rows, not models: a 10,000-point answer builds no object per point.

        With `tails` (the JSON route's), a page of a series that is no chart's, neither
        resampled nor relative to an event, comes as text, not rows: its points as JSON
        objects written by the database (`Store.point_objects`; the rows cost more to build
        and format than the database takes to write them)."""
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
        if tails is not None and not every and on is None and info.metric != periods.CHART:
            total, text = self.store.point_objects(series_id, since, until, offset, limit, tails)
            count = min(limit, max(0, total - offset))
            page = self._page(info, None, None, total, offset, limit, count)
            return PointRows(page, (), None, False, text)
        rows = series_rows(self.store, info, since, until, self._published)
        if every:
            rows = _buckets(rows, every)
        total = len(rows)
        chunk = rows[offset : offset + limit]
        page = self._page(info, on, every, total, offset, limit, len(chunk))
        start = days_since(0, on[1]) if on else None  # day N of ts is (ts // DAY) + start
        return PointRows(page, chunk, start, info.metric == periods.CHART)

    def _page(
        self,
        info: SeriesInfo,
        on: tuple[str, date] | None,
        every: int | None,
        total: int,
        offset: int,
        limit: int,
        count: int,
    ) -> PointsPage:
        """A page's head (`points` left empty), `count` points from `offset` of `total`."""
        after = offset + count
        return PointsPage(
            series=self.record(info, with_latest=False),
            event=EventRecord(name=on[0], date=on[1].isoformat()) if on else None,
            every=every,
            total=total,
            offset=offset,
            limit=limit,
            next_offset=after if after < total else None,
            points=[],
        )

    def _published(self, key: periods.Listing) -> set[int]:
        """The weeks a chart's listing was published (`periods.coverage` over all time),
        computed at most once per CAMPAIGN_TTL: a polled chart series costs its own read."""
        return self._cached(("published", *key), lambda: periods.coverage(self.store, [key])[key])

    def points(self, series_id: int, **options: Any) -> PointsPage:
        """`point_rows` as a page of PointRecords."""
        found = self.point_rows(series_id, **options)
        return found.page.model_copy(
            update={
                "points": [
                    PointRecord.model_construct(
                        ts=ts,
                        value=value,
                        status=status,
                        period=period,
                        day=day,
                        backfilled=late,
                        sudden=swing,
                    )
                    for ts, value, status, period, day, late, swing in found.points()
                ]
            }
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
        key = ("compare", tuple(subjects), platform, metric)
        return self._cached(key, lambda: self._compare(subjects, platform, metric))

    def _compare(
        self, subjects: Sequence[str], platform: str | None, metric: str | None
    ) -> list[ComparisonRecord]:
        assert self.config is not None
        for option, value in [("platform", platform), ("metric", metric),
                              *(("subject", s) for s in subjects)]:  # fmt: skip
            text(option, value)
        out = []
        for row in read.compare(self.config, self.store, subjects, platform, metric):
            latest = row.latest
            change = None if latest is None else latest[1] - row.claimed
            out.append(
                ComparisonRecord(
                    name=row.name,
                    role=row.role,
                    subject=row.subject,
                    platform=row.platform,
                    metric=row.metric,
                    value=row.claimed,
                    at=row.at.isoformat(),
                    citation=row.citation,
                    verdict=row.verdict,
                    verdict_value=row.measured,
                    measured=_latest(latest),
                    series_label=row.latest_series,
                    change=change,
                    percent=None
                    if change is None or row.claimed == 0
                    else 100.0 * change / row.claimed,
                )
            )
        return out

    def claims(self) -> list[VerdictRecord]:
        if self.config is None or self.config.campaign is None:
            return []
        config = self.config
        return self._cached(
            ("claims",), lambda: [_verdict(v) for v in read.claims(config, self.store)]
        )

    def subjects(self) -> list[str]:
        """What the campaign and the targets are about (config order), else every subject."""
        if self.config is not None:
            named = read.subjects_of(self.config)
            if named:
                return named
        return sorted({s.subject for s in self.all_series().values()}, key=str.casefold)

    def campaign_name(self) -> str | None:
        return self.config.campaign.name if self.config and self.config.campaign else None

    # -- health ------------------------------------------------------------------------------
    def status(self) -> StatusRecord:
        return self._cached(("status",), self._status)

    def _status(self) -> StatusRecord:
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


@dataclass(frozen=True, slots=True)
class PointRows:
    """A page of points as the read model's rows, (ts, value, period, sig, flags), as read (a
    copy per row cost a tenth of a 10,000-point answer); `page.points` is left empty."""

    page: PointsPage
    rows: Sequence[Row]  # flags None: none set
    day_zero: int | None  # what (ts // DAY) adds up to for day N of the event, if one
    chart: bool  # a chart series: a row's value is None in a week it was "not in chart"
    text: str | None = None  # the points as JSON objects joined by commas, instead of rows

    def points(
        self,
    ) -> Iterator[tuple[int, int | None, str, int | None, int | None, bool, bool]]:
        """(ts, value, status, period, day, backfilled, sudden) of each row."""
        zero = self.day_zero
        for ts, value, period, _, flags in self.rows:
            day = None if zero is None else ts // DAY + zero
            bits = flags or 0
            status = VALUE if value is not None else NOT_IN_CHART
            yield ts, value, status, period, day, bool(bits & BACKFILLED), bool(bits & SUDDEN)


def _buckets(rows: Sequence[Row], step: int) -> list[Row]:
    """The last value per `step`-second bucket, stamped with the bucket's start, as `tracker
    history --every` (`periods.resample`: backfilled and "not in chart" when its last point
    is, sudden when any point in it is), with no period."""
    return [(ts, value, None, sig, flags) for ts, value, _, sig, flags in
            periods.resample(rows, step)]  # fmt: skip


def _verdict(v: read.VerdictRecord) -> VerdictRecord:
    return VerdictRecord(
        name=v.name,
        subject=v.subject,
        platform=v.platform,
        metric=v.metric,
        claimed=v.claimed,
        figure=v.figure,
        at=v.at.isoformat(),
        text=v.text,
        citation=v.citation,
        status=v.verdict,
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
