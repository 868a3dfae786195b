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
from datetime import datetime

import httpx
from tenacity import AsyncRetrying

from tracker.allowance import Allowance
from tracker.collectors import registry
from tracker.collectors.base import Collector, Observation, Target
from tracker.config import Config
from tracker.drain import Drain
from tracker.errors import Clashed, StoreError, StoreRefused
from tracker.harvest import Gatherer, Harvest
from tracker.http import retry_policy
from tracker.lineup import lineup
from tracker.roundreport import SourceReport
from tracker.secrets import redact
from tracker.spool import Replayed, Spool
from tracker.store import Store
from tracker.store.models import Attempt
from tracker.timeutil import now, to_epoch

__all__ = ["Runner", "SourceReport"]

log = logging.getLogger("tracker.round")

MAX_CAUSE = 1000
STOPPED = "stopped before an answer came (the daemon is shutting down)"


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
        self.gatherer = Gatherer(client, self.policy, Allowance(store, clock), clock)
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
            if not self._unrecorded and not self.spool.files():
                # Nothing waits (a directory listing): no thread hop before the first request.
                self._waiting = 0
                return Replayed()
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

    async def run_source(
        self, name: str, targets: Sequence[Target] | None = None, at: datetime | None = None
    ) -> SourceReport:
        """One round of one source. Never raises for the source's own failures or the store's.

        `targets` (default: the config's) and `at`, the time instantaneous values are stored
        at (default: the clock's), are the distributed mode's: a slot's part, keyed by its slot.
        Cancelled (the daemon stopping), it spools what it collected so far, then re-raises.
        """
        await self.replay()
        started = self.clock()
        collector = self.collector(name)
        targets = list(targets) if targets is not None else self.config.targets(name)
        gathered = Harvest()
        # Values are written as answers come, so after the last answer only the last batch is.
        drain = Drain(self.store, name, gathered.observations, self.config.sudden)
        gathered.arrived = drain.poke
        report = SourceReport(name, "ok", targets=len(targets))
        deadline = collector.settings.deadline.total_seconds()
        try:
            try:
                async with asyncio.timeout(deadline):
                    await self.gatherer.gather(collector, targets, gathered, at)
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
            try:
                await drain.finish()
            finally:
                report.stored = drain.stored
        except Clashed as exc:
            # Some values named one series and time twice: refused and said, the rest stored.
            report.failures, report.kind = gathered.failures, "store"
            report.stored, report.note = exc.stored, " ".join(str(exc).split())
            report.outcome = "partial"
            self._record(report, self._attempt(report, started))
            return report
        except StoreRefused as exc:
            # The database is there and said no: spooling would park the values for good.
            self._refused(report, gathered, drain, started, " ".join(str(exc).split()))
            return report
        except StoreError as exc:
            why = f"database unavailable ({' '.join(str(exc).split())})"
            self._spool(report, list(drain.unwritten), started, why)
            return report
        except Exception as exc:  # a store bug: this source's failure, never the daemon's
            drain.stop()  # (it stopped at the failed write; this covers a bug anywhere else)
            log.error("%s: the write failed", name, exc_info=exc)
            self._refused(report, gathered, drain, started, f"{type(exc).__name__}: {exc}")
            return report
        except asyncio.CancelledError:
            # A write may or may not have committed in its thread: the spool's replay is
            # idempotent, so spooling what no write is known to hold is right either way.
            drain.stop()
            for target in targets:
                if target.name not in gathered.answered:
                    gathered.failures.setdefault(target.name, STOPPED)
            report.collected = len(gathered.observations)
            report.failures = gathered.failures
            report.stored = drain.stored
            # No database call here: a stop must not wait on it. The replay records the attempt.
            self._spool(
                report, list(drain.unwritten), started, "stopped mid-round", "stopped", record=False
            )
            raise
        if report.failures:
            report.outcome = "partial" if report.collected else "failed"
        self._record(report, self._attempt(report, started))
        return report

    def _refused(
        self, report: SourceReport, gathered: Harvest, drain: Drain, started: datetime, why: str
    ) -> None:
        """The write failed for a reason waiting will not mend: a failure, nothing spooled.

        The batches written before the failing one stay written (and counted in `stored`)."""
        report.failures, report.kind = gathered.failures, "store"
        report.outcome = "failed"
        report.note = f"{why}: {len(drain.unwritten)} value(s) not stored" + _before(drain)
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
        """Keep values the store did not take; record the attempt as 'spooled'.

        `report.stored` keeps what batches written before the failure stored."""
        report.outcome, report.kind = "spooled", kind
        earlier = f" ({report.stored} new value(s) written before)" if report.stored else ""
        report.note = (
            f"{why}: {len(observations)} value(s) spooled to {self.spool.directory}, "
            f"written when the database takes them{earlier}"
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
            report.summary()

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
        report.summary()


def _before(drain: Drain) -> str:
    if not drain.written:
        return ""
    return f" ({drain.written} written before, {drain.stored} of them new)"


def _seconds(value: float) -> str:
    return f"{value:g}s" if value < 120 else f"{value / 60:g} min"
