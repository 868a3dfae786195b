"""Backfill: past values of the sources that keep history, stored flagged BACKFILLED.

Each collector says whether and how it reads its past (`Collector.history`): the requests
and what each covers. They go through the same client, retry policy and quota budgets as a
round, and the collector's own pure `parse`. Every chunk is written as soon as it arrives,
so an interrupted backfill keeps what it got. Re-running is always safe (writes are
idempotent); besides, a chunk that names the days it covers and whose every day is already
stored is skipped without a request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from tracker.errors import ConfigError, NotFound, QuotaExhausted, SourceError, UsageError
from tracker.store.models import BACKFILLED
from tracker.timeutil import day_start, now, to_epoch

if TYPE_CHECKING:
    import httpx
    from tenacity import AsyncRetrying

    from tracker.collectors.base import Collector, HistoryChunk, Observation, Request
    from tracker.config import Config
    from tracker.core import Sudden
    from tracker.store import Store

DAY = timedelta(days=1)

# (done, total, what was just done)
Progress = Callable[[int, int, str], None]


@dataclass(slots=True)
class BackfillReport:
    source: str
    since: date | None
    chunks: int = 0
    skipped: int = 0  # already fully stored: no request sent
    empty: int = 0  # the source has no data for that range
    values: int = 0
    stored: int = 0
    deferred: str = ""  # why the rest waits (a spent quota)
    failures: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        since = f" since {self.since}" if self.since else ""
        text = (
            f"{self.source}{since}: {self.chunks} request(s), {self.skipped} skipped "
            f"(already stored), {self.empty} without data; {self.values} value(s), "
            f"{self.stored} new (flagged backfilled)"
        )
        if self.deferred:
            text += f"; {self.deferred}"
        if self.failures:
            shown = "; ".join(f"{k}: {v}" for k, v in list(self.failures.items())[:5])
            more = len(self.failures) - 5
            text += f"; {len(self.failures)} failed: {shown}" + (
                f"; and {more} more" if more > 0 else ""
            )
        return text


def check_source(source: str) -> None:
    """A UsageError unless `source`'s collector can read its past."""
    from tracker.collectors import registry

    installed = registry.available()
    if source in installed and installed[source].keeps_history():
        return
    failed = registry.broken().get(source)
    if failed:
        raise UsageError(f"SOURCE: the {source!r} plugin failed to load: {failed}")
    able = [name for name, cls in installed.items() if cls.keeps_history()]
    raise UsageError(
        f"SOURCE: {source!r} keeps no history tracker can fetch "
        f"(backfill knows {', '.join(able) or 'no source'})"
    )


def default_since(config: Config, source: str) -> date | None:
    """Where a backfill starts when `--since` is not given (None: everything there is)."""
    launch = config.campaign.launch if config.campaign else None
    try:
        return _collector(config, source).history_start(launch)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None


def _collector(config: Config, source: str) -> Collector:
    from tracker.collectors import registry

    return registry.get(source)(config.source_settings[source])


async def backfill(
    config: Config,
    store: Store,
    source: str,
    since: date | None,
    client: httpx.AsyncClient,
    *,
    policy: AsyncRetrying | None = None,
    clock: Callable[[], datetime] = now,
    progress: Progress | None = None,
) -> BackfillReport:
    """Fetch `source`'s history from `since` (to yesterday) and store it flagged BACKFILLED."""
    from tracker.collectors import registry
    from tracker.http import retry_policy

    check_source(source)
    targets = config.targets(source)
    if not targets:
        raise UsageError(f"SOURCE: {config.path} names no {source} targets to backfill")
    collector = registry.get(source)(config.source_settings[source])
    why = collector.missing()
    if why:
        raise ConfigError(str(config.path), f"sources.{source}", f"cannot backfill: {why}")
    yesterday = clock().date() - DAY
    if since is not None and since > yesterday:
        raise UsageError(f"--since: {since} is not before today")
    report = BackfillReport(source, since)
    chunks = collector.history(targets, since, yesterday)
    report.chunks = len(chunks)
    policy = policy or retry_policy(config.http)
    runner = _Run(store, collector, client, policy, clock, report, config.sudden)
    await runner.all(chunks, progress)
    return report


@dataclass(slots=True)
class _Run:
    store: Store
    collector: Collector
    client: httpx.AsyncClient
    policy: AsyncRetrying
    clock: Callable[[], datetime]
    report: BackfillReport
    sudden: Sudden | None  # the rounds' sudden-change rule: the past is flagged as the present
    done: int = 0
    _stop: str = ""

    async def all(self, chunks: Sequence[HistoryChunk], progress: Progress | None) -> None:
        limit = asyncio.Semaphore(self.collector.settings.concurrency)
        metrics = {chunk.series[0] for chunk in chunks if chunk.series and chunk.days}
        stored = await asyncio.to_thread(self._stored_keys, metrics)

        async def one(chunk: HistoryChunk) -> None:
            async with limit:
                note = await self._one(chunk, stored)
            self.done += 1
            if progress is not None:
                progress(self.done, len(chunks), f"{chunk.label}: {note}")

        await asyncio.gather(*(one(c) for c in chunks))
        self.report.deferred = self._stop

    def _stored_keys(self, metrics: set[str]) -> dict[tuple[str, str], int]:
        """(metric, key) -> series id, for the series chunks may be complete in."""
        source = self.collector.name
        return {
            (s.metric, s.key): s.id
            for metric in sorted(metrics)
            for s in self.store.find_series(source=source, metric=metric)
        }

    def _complete(self, chunk: HistoryChunk, stored: dict[tuple[str, str], int]) -> bool:
        if chunk.days is None or chunk.series is None or chunk.series not in stored:
            return False
        first, last = chunk.days
        lo, hi = to_epoch(day_start(first)), to_epoch(day_start(last + DAY))
        return len(self.store.history(stored[chunk.series], lo, hi)) == (last - first).days + 1

    async def _one(self, chunk: HistoryChunk, stored: dict[tuple[str, str], int]) -> str:
        from tracker.http import fetch_body

        report = self.report
        if self._stop:
            report.failures[chunk.label] = "deferred"
            return "deferred"
        if await asyncio.to_thread(self._complete, chunk, stored):
            report.skipped += 1
            return "already stored"
        request = chunk.request
        if request.budget and not await asyncio.to_thread(self._spend, request):
            self._stop = f"deferred: the {self.collector.name} {request.budget} quota is spent"
            report.failures[chunk.label] = "deferred"
            return "deferred"
        try:
            body = await fetch_body(self.client, self.collector, request, self.policy)
            parsed = self.collector.parse(request, body, self.clock().replace(microsecond=0))
        except NotFound:
            report.empty += 1
            return "no data"
        except SourceError as exc:
            if isinstance(exc, QuotaExhausted):
                self._stop = f"deferred: {exc.cause}"
            report.failures[chunk.label] = exc.cause
            return "failed"
        observations = _since(parsed.observations, chunk.since)
        report.failures.update({f"{chunk.label} {k}": v for k, v in parsed.failures.items()})
        new = await asyncio.to_thread(
            partial(self.store.write, sudden=self.sudden),
            self.collector.name,
            observations,
            BACKFILLED,
        )
        report.values += len(observations)
        report.stored += new
        return f"{len(observations)} value(s), {new} new"

    def _spend(self, request: Request) -> bool:
        from tracker.allowance import budget_key  # the rounds' key: they share the budget

        key = budget_key(self.collector, request.budget)
        quota = self.collector.quotas[request.budget]
        return self.store.quota_take(key, quota, request.cost, self.clock()) is not None


def _since(observations: list[Observation], since: date | None) -> list[Observation]:
    if since is None:
        return observations
    start = day_start(since)
    return [o for o in observations if o.at + (o.period or timedelta(0)) > start]


def parse_since(text: str | None) -> date | None:
    """`--since`: a date, a time or a duration back from now ('90d'); None when not given."""
    if text is None:
        return None
    from tracker.bounds import moment

    try:
        first = moment(text).date()
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    if first >= now().date():  # said before any request (`backfill` checks it again)
        raise UsageError(f"--since: {first} is not before today")
    return first


async def run(
    config: Config,
    store: Store,
    source: str,
    since: date | None,
    progress: Progress | None = None,
) -> BackfillReport:
    """`backfill` on the one shared HTTP client a round would use."""
    from tracker.http import make_client

    async with make_client(config.http, config.contact) as client:
        return await backfill(config, store, source, since, client, progress=progress)
