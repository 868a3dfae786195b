"""One collection round of a source: plan, fetch under the retry policy, parse, store, record.

One failing target never stops the others: each request's failure is recorded against the
targets it answers for, and the round carries on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from tenacity import AsyncRetrying

from tracker.collectors import registry
from tracker.collectors.base import Collector, Observation, Request, Target
from tracker.config import Config
from tracker.errors import ConfigError, QuotaExhausted, SourceError, StoreError
from tracker.http import fetch_body, retry_policy
from tracker.models import Attempt
from tracker.secrets import redact
from tracker.store import Store
from tracker.timeutil import now, to_epoch

log = logging.getLogger("tracker.round")

MAX_CAUSE = 1000


@dataclass(slots=True)
class SourceReport:
    """What one round of one source came to."""

    source: str
    outcome: str  # ok | partial | failed | skipped
    targets: int = 0
    collected: int = 0
    stored: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # target -> cause
    kind: str = ""
    reason: str = ""  # why it was skipped

    @property
    def cause(self) -> str:
        if self.reason:
            return self.reason
        if not self.failures:
            return ""
        shown = "; ".join(f"{name}: {why}" for name, why in list(self.failures.items())[:5])
        extra = len(self.failures) - 5
        return shown + (f"; and {extra} more" if extra > 0 else "")

    def line(self) -> str:
        if self.outcome == "skipped":
            return f"{self.source}: skipped — {self.reason}"
        head = (
            f"{self.source}: {self.outcome} — {self.targets} target(s), "
            f"{self.collected} value(s), {self.stored} new"
        )
        if self.failures:
            head += f"; {len(self.failures)} failed: {self.cause}"
        return head


@dataclass(slots=True)
class _Gathered:
    observations: list[Observation] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    kind: str = ""


class Runner:
    """Runs rounds for the sources a config names, against one store and one HTTP client."""

    def __init__(
        self,
        config: Config,
        store: Store,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], datetime] = now,
        policy: AsyncRetrying | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.client = client
        self.clock = clock
        self.policy = policy or retry_policy(config.http)
        self._collectors: dict[str, Collector] = {}

    def collector(self, name: str) -> Collector:
        if name not in self._collectors:
            cls = registry.get(name)
            self._collectors[name] = cls(self.config.source_settings[name])
        return self._collectors[name]

    def plan(self) -> tuple[list[str], list[SourceReport]]:
        """Sources to run (enabled, installed, with targets) and the ones skipped, with why."""
        installed = registry.available()
        runnable: list[str] = []
        skipped: list[SourceReport] = []
        for name in sorted(self.config.platforms_named() | set(installed)):
            targets = self.config.targets(name)
            if name not in installed:
                reason = f"no collector installed for {name!r}"
                skipped.append(SourceReport(name, "skipped", len(targets), reason=reason))
                continue
            if not targets:
                continue
            if not self.config.source_settings[name].enabled:
                reason = f"disabled in config (sources.{name}.enabled = false)"
                skipped.append(SourceReport(name, "skipped", len(targets), reason=reason))
                continue
            why = self.collector(name).missing()
            if why:
                skipped.append(SourceReport(name, "skipped", len(targets), reason=why))
                continue
            runnable.append(name)
        return runnable, skipped

    async def run_round(self, names: Sequence[str] | None = None) -> list[SourceReport]:
        runnable, skipped = self.plan()
        chosen = [n for n in runnable if names is None or n in names]
        reports = await asyncio.gather(*(self.run_source(n) for n in chosen))
        return sorted([*reports, *skipped], key=lambda r: r.source)

    async def run_source(self, name: str) -> SourceReport:
        """One round of one source. Never raises for the source's own failures."""
        started = self.clock()
        collector = self.collector(name)
        targets = self.config.targets(name)
        gathered = await self._gather(collector, targets)
        report = SourceReport(
            name,
            "ok",
            targets=len(targets),
            collected=len(gathered.observations),
            failures=gathered.failures,
            kind=gathered.kind,
        )
        try:
            report.stored = await asyncio.to_thread(self.store.write, name, gathered.observations)
        except StoreError as exc:
            report.failures["(store)"] = str(exc)
            report.kind = "store"
        if report.failures:
            report.outcome = "partial" if report.collected and report.kind != "store" else "failed"
        self._record(report, started)
        return report

    async def _gather(self, collector: Collector, targets: Sequence[Target]) -> _Gathered:
        gathered = _Gathered()
        try:
            requests = collector.plan(targets)
        except SourceError as exc:
            gathered.failures = {t.name: exc.cause for t in targets}
            gathered.kind = exc.kind
            return gathered
        except ConfigError as exc:
            gathered.failures = {t.name: str(exc) for t in targets}
            gathered.kind = "config"
            return gathered
        limit = asyncio.Semaphore(collector.settings.concurrency)

        async def one(request: Request) -> None:
            async with limit:
                deferred = await asyncio.to_thread(self._spend, collector, request)
                if deferred:
                    for target in request.targets:
                        gathered.failures[target.name] = deferred
                    gathered.kind = gathered.kind or "deferred"
                    return
                try:
                    body = await fetch_body(self.client, collector, request, self.policy)
                    parsed = collector.parse(request, body, self.clock().replace(microsecond=0))
                except SourceError as exc:
                    if isinstance(exc, QuotaExhausted) and request.budget:
                        await asyncio.to_thread(self._park, collector, request, exc)
                    for target in request.targets:
                        gathered.failures[target.name] = redact(exc.cause)
                    gathered.kind = gathered.kind or exc.kind
                    return
                except Exception as exc:  # a collector bug: fail its targets, not the round
                    log.exception("%s: unexpected error on %s", collector.name, request.url)
                    for target in request.targets:
                        gathered.failures[target.name] = redact(f"{type(exc).__name__}: {exc}")
                    gathered.kind = gathered.kind or "error"
                    return
            gathered.observations.extend(parsed.observations)
            gathered.failures.update(parsed.failures)
            if parsed.failures and not gathered.kind:
                gathered.kind = "not_found"

        await asyncio.gather(*(one(r) for r in requests))
        return gathered

    def _budget_key(self, collector: Collector, request: Request) -> str:
        return f"{collector.name}:{request.budget}:{collector.credential_id(request.budget)}"

    def _spend(self, collector: Collector, request: Request) -> str:
        """'' when the request may go; otherwise why it is deferred to a later round."""
        if not request.budget:
            return ""
        quota = collector.quotas[request.budget]
        key = self._budget_key(collector, request)
        at = self.clock()
        if self.store.quota_take(key, quota, request.cost, at) is not None:
            return ""
        _, end = quota.window(at)
        return (
            f"deferred: {collector.name} {request.budget} quota ({quota.limit} per window) is "
            f"spent until {end:%Y-%m-%d %H:%M} UTC"
        )

    def _park(self, collector: Collector, request: Request, exc: QuotaExhausted) -> None:
        quota = collector.quotas[request.budget]
        self.store.quota_park(
            self._budget_key(collector, request), quota, exc.reset_at, self.clock()
        )

    def _record(self, report: SourceReport, started: datetime) -> None:
        attempt = Attempt(
            source=report.source,
            started=to_epoch(started),
            finished=to_epoch(self.clock()),
            outcome=report.outcome,
            targets=report.targets,
            stored=report.stored,
            failed=len(report.failures),
            kind=report.kind,
            cause=redact(report.cause)[:MAX_CAUSE],
        )
        try:
            self.store.record_attempt(attempt)
        except StoreError as exc:
            # The store is down: the report still says what happened; the log keeps it.
            log.error("%s: could not record the attempt: %s", report.source, exc)
        level = logging.INFO if report.outcome == "ok" else logging.WARNING
        log.log(level, report.line())
