"""One collection round of a source: plan, fetch under the retry policy, parse, store, record.

One failing target never stops the others: each request's failure is recorded against the
targets it answers for, and the round carries on. A database that refuses the write loses
nothing: the values (and the attempt) go to the spool (`tracker.spool`), which every round
replays first. A round cancelled mid-flight (the daemon stopping) spools what it has.
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
from tracker.collectors.base import Collector, Observation, Parsed, Request, Target
from tracker.config import Config
from tracker.core import unstorable
from tracker.errors import ConfigError, QuotaExhausted, SourceError, StoreError, StoreRefused
from tracker.http import fetch_body, retry_policy
from tracker.lineup import lineup
from tracker.secrets import redact
from tracker.spool import Replayed, Spool
from tracker.store import Store
from tracker.store.models import Attempt
from tracker.timeutil import now, to_epoch

log = logging.getLogger("tracker.round")

MAX_CAUSE = 1000
STOPPED = "stopped before an answer came (the daemon is shutting down)"


@dataclass(slots=True)
class SourceReport:
    """What one round of one source came to."""

    source: str
    outcome: str  # ok | partial | failed | skipped | spooled
    targets: int = 0
    collected: int = 0
    stored: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # target -> cause
    kind: str = ""
    reason: str = ""  # why it was skipped
    note: str = ""  # what became of the values when the store refused them
    duration: float = 0.0  # seconds the round took

    def fields(self) -> dict[str, object]:
        """The summary as fields, for JSON log lines."""
        return {
            "source": self.source,
            "outcome": self.outcome,
            "targets": self.targets,
            "values": self.collected,
            "new": self.stored,
            "failed": len(self.failures),
            "kind": self.kind,
            "cause": redact(self.cause),
            "duration": round(self.duration, 3),
        }

    @property
    def cause(self) -> str:
        if self.reason:
            return self.reason
        return "; ".join(part for part in (self.note, self._failed()) if part)

    def _failed(self) -> str:
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
        if self.note:
            head += f"; {self.note}"
        if self.failures:
            head += f"; {len(self.failures)} failed: {self._failed()}"
        return head


@dataclass(slots=True)
class _Gathered:
    observations: list[Observation] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    kind: str = ""
    answered: set[str] = field(default_factory=set)  # targets whose request has come back
    finished: set[str] = field(default_factory=set)  # targets whose answer was parsed


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
        spool: Spool | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.client = client
        self.clock = clock
        self.policy = policy or retry_policy(config.http)
        self.spool = spool or Spool.for_store(config.spool_dir, store)
        self._collectors: dict[str, Collector] = {}
        self._replaying = asyncio.Lock()
        self._waiting = 0  # spool files the last replay left behind
        # Attempts neither the database nor the spool took (the database away, the spool
        # disk full): recorded when the database is back, so `status` says values were lost.
        self._unrecorded: list[Attempt] = []

    def reconfigure(self, config: Config) -> None:
        """Run `config` from the next round on (a reload); collectors are rebuilt lazily."""
        self.config = config
        self._collectors = {}

    async def replay(self) -> Replayed:
        """Write what the spool holds for this database; never raises for the database."""
        async with self._replaying:
            done = await asyncio.to_thread(self.spool.replay, self.store, self.config.sudden)
            # Said once per change, not once per source and round while the database is away.
            if done.busy:  # another process is replaying this spool right now
                return done
            if done.waiting and done.waiting != self._waiting:
                log.warning(
                    "spool: %d file(s) in %s wait for the database: %s",
                    done.waiting,
                    self.spool.directory,
                    done.error,
                )
            self._waiting = done.waiting
            if self._unrecorded and not done.error:
                await asyncio.to_thread(self._record_unrecorded)
        return done

    def _record_unrecorded(self) -> None:
        while self._unrecorded:
            try:
                self.store.record_attempt(self._unrecorded[0])
            except StoreError:
                return
            self._unrecorded.pop(0)

    def collector(self, name: str) -> Collector:
        if name not in self._collectors:
            cls = registry.get(name)
            # Not the runner's clock: that one stamps values (tests fix it); a collector's
            # reads reset headers and date windows, which are the wall clock's.
            self._collectors[name] = cls(self.config.source_settings[name])
        return self._collectors[name]

    def plan(self) -> tuple[list[str], list[SourceReport]]:
        """Sources to run (enabled, installed, with targets) and the ones skipped, with why.

        A source without targets is left out of both: there is nothing to report about it.
        """
        runnable: list[str] = []
        skipped: list[SourceReport] = []
        for entry in lineup(self.config, self.collector):
            if entry.runs:
                runnable.append(entry.name)
            elif entry.targets or not entry.installed:
                skipped.append(
                    SourceReport(entry.name, "skipped", entry.targets, reason=entry.reason)
                )
        return runnable, skipped

    async def run_round(self, names: Sequence[str] | None = None) -> list[SourceReport]:
        runnable, skipped = self.plan()
        chosen = [n for n in runnable if names is None or n in names]
        reports = await asyncio.gather(*(self.run_source(n) for n in chosen))
        return sorted([*reports, *skipped], key=lambda r: r.source)

    async def run_source(self, name: str) -> SourceReport:
        """One round of one source. Never raises for the source's own failures or the store's.

        Cancelled (the daemon stopping), it spools what it collected so far, then re-raises.
        """
        await self.replay()
        started = self.clock()
        collector = self.collector(name)
        targets = self.config.targets(name)
        gathered = _Gathered()
        report = SourceReport(name, "ok", targets=len(targets))
        deadline = collector.settings.deadline.total_seconds()
        try:
            try:
                async with asyncio.timeout(deadline):
                    await self._gather(collector, targets, gathered)
            except TimeoutError:
                # What came back is stored; the rest is this round's failure. The next run
                # starts on time, as if this one had ended normally.
                cause = f"round deadline: no answer within {_seconds(deadline)} (round_deadline)"
                for target in targets:
                    if target.name not in gathered.finished:
                        gathered.failures.setdefault(target.name, cause)
                gathered.kind = gathered.kind or "deadline"
            report.collected = len(gathered.observations)
            report.failures, report.kind = gathered.failures, gathered.kind
            report.stored = await asyncio.to_thread(
                self.store.write, name, gathered.observations, sudden=self.config.sudden
            )
        except StoreRefused as exc:
            # The database is there and said no: spooling would park the values for good.
            self._refused(report, gathered, started, " ".join(str(exc).split()))
            return report
        except StoreError as exc:
            why = f"database unavailable ({' '.join(str(exc).split())})"
            self._spool(report, gathered.observations, started, why)
            return report
        except Exception as exc:  # a store bug: this source's failure, never the daemon's
            log.exception("%s: the write failed", name)
            self._refused(report, gathered, started, f"{type(exc).__name__}: {exc}")
            return report
        except asyncio.CancelledError:
            # The write may or may not have committed in its thread: the spool's replay is
            # idempotent, so spooling is right either way.
            for target in targets:
                if target.name not in gathered.answered:
                    gathered.failures.setdefault(target.name, STOPPED)
            report.collected = len(gathered.observations)
            report.failures = gathered.failures
            # No database call here: a stop must not wait on it. The replay records the attempt.
            self._spool(
                report, gathered.observations, started, "stopped mid-round", "stopped", record=False
            )
            raise
        if report.failures:
            report.outcome = "partial" if report.collected else "failed"
        self._record(report, self._attempt(report, started))
        return report

    def _refused(
        self, report: SourceReport, gathered: _Gathered, started: datetime, why: str
    ) -> None:
        """The write failed for a reason waiting will not mend: a failure, nothing spooled."""
        report.failures, report.kind = gathered.failures, "store"
        report.outcome, report.stored = "failed", 0
        report.note = f"{why}: {len(gathered.observations)} value(s) not stored"
        self._record(report, self._attempt(report, started))

    def _spool(
        self,
        report: SourceReport,
        observations: list[Observation],
        started: datetime,
        why: str,
        kind: str = "store",
        *,
        record: bool = True,
    ) -> None:
        """Keep values the store did not take; record the attempt as 'spooled'."""
        report.outcome, report.kind, report.stored = "spooled", kind, 0
        report.note = (
            f"{why}: {len(observations)} value(s) spooled to {self.spool.directory}, "
            "written when the database takes them"
        )
        attempt = self._attempt(report, started)
        try:
            self.spool.put(report.source, observations, attempt)
        except StoreError as exc:
            report.outcome = "failed"
            report.note = f"{why}; {len(observations)} value(s) lost: {exc}"
            attempt, record = self._attempt(report, started), True
        if record:
            # The spool file holds the attempt too: its replay records it if this cannot.
            self._record(report, attempt, spooled=report.outcome == "spooled")
        else:
            _summary(report)

    async def _gather(
        self, collector: Collector, targets: Sequence[Target], gathered: _Gathered
    ) -> None:
        try:
            requests = collector.plan(targets)
        except SourceError as exc:
            gathered.failures = {t.name: exc.cause for t in targets}
            gathered.kind = exc.kind
            return
        except ConfigError as exc:
            gathered.failures = {t.name: str(exc) for t in targets}
            gathered.kind = "config"
            return
        limit = asyncio.Semaphore(collector.settings.concurrency)
        paid = await self._pay_round(collector, requests)

        async def one(request: Request) -> None:
            if request.refusal:
                for target in request.targets:
                    gathered.failures[target.name] = request.refusal
                gathered.kind = gathered.kind or "refused"
                return
            async with limit:
                deferred = await self._clearance(collector, request, paid)
                gathered.answered.update(t.name for t in request.targets)
                if deferred:
                    for target in request.targets:
                        gathered.failures[target.name] = deferred
                    gathered.kind = gathered.kind or "deferred"
                    return
                try:
                    body = await fetch_body(self.client, collector, request, self.policy)
                    parsed = collector.parse(request, body, self.clock().replace(microsecond=0))
                except SourceError as exc:
                    gathered.answered.update(t.name for t in request.targets)
                    if isinstance(exc, QuotaExhausted) and request.budget:
                        await asyncio.to_thread(self._park, collector, request, exc)
                        # The rest of the round asks the ledger again, which finds it parked.
                        paid.discard(request.budget)
                    for target in request.targets:
                        gathered.failures[target.name] = redact(exc.cause)
                    gathered.kind = gathered.kind or exc.kind
                    return
                except Exception as exc:  # a collector bug: fail its targets, not the round
                    gathered.answered.update(t.name for t in request.targets)
                    log.exception("%s: unexpected error on %s", collector.name, request.url)
                    for target in request.targets:
                        gathered.failures[target.name] = redact(f"{type(exc).__name__}: {exc}")
                    gathered.kind = gathered.kind or "error"
                    return
            gathered.observations.extend(_storable(request, parsed))
            gathered.failures.update(parsed.failures)
            gathered.answered.update(t.name for t in request.targets)
            gathered.finished.update(t.name for t in request.targets)
            if parsed.failures and not gathered.kind:
                gathered.kind = "not_found"

        await asyncio.gather(*(one(r) for r in requests))

    def _budget_key(self, collector: Collector, budget: str) -> str:
        return f"{collector.name}:{budget}:{collector.credential_id(budget)}"

    async def _pay_round(self, collector: Collector, requests: Sequence[Request]) -> set[str]:
        """Budgets whose every request of this round is paid for up front, in one take each.

        One ledger transaction per budget and round instead of one per request (a write
        each, which SQLite serialises). A budget that cannot cover the whole round is left
        to pay per request, as before, so it is spent to the last unit and never beyond.
        """
        costs: dict[str, list[int]] = {}
        for request in requests:
            if request.budget and not request.refusal:
                costs.setdefault(request.budget, []).append(request.cost)
        shared = {budget: sum(each) for budget, each in costs.items() if len(each) > 1}
        if not shared:
            return set()
        return await asyncio.to_thread(self._take_all, collector, shared)

    def _take_all(self, collector: Collector, totals: dict[str, int]) -> set[str]:
        at = self.clock()
        paid = set()
        for budget, total in totals.items():
            key = self._budget_key(collector, budget)
            try:
                if self.store.quota_take(key, collector.quotas[budget], total, at) is not None:
                    paid.add(budget)
            except StoreError:
                continue  # each request then asks, and says the ledger is unavailable
        return paid

    async def _clearance(self, collector: Collector, request: Request, paid: set[str]) -> str:
        """'' when the request may go, else why not; a thread hop only to spend a budget."""
        if not request.budget or request.budget in paid:
            return ""
        return await asyncio.to_thread(self._spend, collector, request)

    def _spend(self, collector: Collector, request: Request) -> str:
        """'' when the request may go; otherwise why it is deferred to a later round."""
        if not request.budget:
            return ""
        quota = collector.quotas[request.budget]
        key = self._budget_key(collector, request.budget)
        at = self.clock()
        try:
            if self.store.quota_take(key, quota, request.cost, at) is not None:
                return ""
        except StoreError as exc:
            # No ledger to check: ask anyway, so the values can still be spooled; the
            # platform's own quota answer (403/429) is the backstop.
            log.warning("%s: quota not checked, the database is unavailable: %s", key, exc)
            return ""
        _, end = quota.window(at)
        return (
            f"deferred: {collector.name} {request.budget} quota ({quota.limit} per window) is "
            f"spent until {end:%Y-%m-%d %H:%M} UTC"
        )

    def _park(self, collector: Collector, request: Request, exc: QuotaExhausted) -> None:
        quota = collector.quotas[request.budget]
        try:
            self.store.quota_park(
                self._budget_key(collector, request.budget), quota, exc.reset_at, self.clock()
            )
        except StoreError as error:
            log.warning("%s: could not park the spent quota: %s", collector.name, error)

    def _attempt(self, report: SourceReport, started: datetime) -> Attempt:
        finished = self.clock()
        report.duration = max((finished - started).total_seconds(), 0.0)
        return Attempt(
            source=report.source,
            started=to_epoch(started),
            finished=to_epoch(finished),
            outcome=report.outcome,
            targets=report.targets,
            stored=report.stored,
            failed=len(report.failures),
            kind=report.kind,
            cause=redact(report.cause)[:MAX_CAUSE],
        )

    def _record(self, report: SourceReport, attempt: Attempt, *, spooled: bool = False) -> None:
        """Record the attempt; with the store down, keep it in the spool (unless it is there)."""
        try:
            # A copy: the session expires what it commits, and the spool may still read it.
            self.store.record_attempt(Attempt(**attempt.model_dump(exclude={"id"})))
        except StoreError as exc:
            if not spooled:
                try:
                    self.spool.put(attempt.source, [], attempt)
                except StoreError as spool_exc:
                    log.error(
                        "%s: attempt not recorded yet (kept until the database is back): %s; %s",
                        attempt.source,
                        exc,
                        spool_exc,
                    )
                    self._unrecorded.append(Attempt(**attempt.model_dump(exclude={"id"})))
        _summary(report)


def _seconds(value: float) -> str:
    return f"{value:g}s" if value < 120 else f"{value / 60:g} min"


def _storable(request: Request, parsed: Parsed) -> list[Observation]:
    """The parsed values the store can hold; each one it cannot fails its target, with why."""
    kept: list[Observation] = []
    for obs in parsed.observations:
        why = unstorable(obs)
        if not why:
            kept.append(obs)
            continue
        name = _owner(request, obs)
        parsed.failures.setdefault(name, f"value not stored: {why}")
    # A target with one poison value is failed, and its good values are still stored.
    return kept


def _owner(request: Request, obs: Observation) -> str:
    """The name of the target of `request` that `obs` answers for."""
    if len(request.targets) == 1:
        return request.targets[0].name
    for target in request.targets:
        if target.name in (obs.label, obs.key):
            return target.name
    matching = [t.name for t in request.targets if t.subject == obs.subject]
    return matching[0] if len(matching) == 1 else obs.label or obs.key


def _summary(report: SourceReport) -> None:
    """The one line per source per round: info when it went well, warning when not."""
    level = logging.INFO if report.outcome == "ok" else logging.WARNING
    log.log(level, "%s (%.1fs)", report.line(), report.duration, extra=report.fields())
