"""What a round's requests bring back: values, failures per target, who has answered.

`gather` sends a source's requests (concurrently, within its budgets), parses each answer
and keeps only the values the store can hold; one failing request fails its own targets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from tenacity import AsyncRetrying

from tracker.allowance import Allowance
from tracker.collectors.base import Collector, Observation, Parsed, Request, Target
from tracker.core import unstorable
from tracker.errors import ConfigError, QuotaExhausted, SourceError
from tracker.http import fetch_body, when_sent
from tracker.secrets import redact

log = logging.getLogger("tracker.round")

# The longest an answer's parse waits for requests still being sent (one slow to connect).
PARSE_WAIT = 0.02


@dataclass(slots=True)
class Harvest:
    observations: list[Observation] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    kind: str = ""
    answered: set[str] = field(default_factory=set)  # targets whose request has come back
    finished: set[str] = field(default_factory=set)  # targets whose answer was parsed
    # Called after each answer's values joined `observations` (the round's drain), with True
    # once every request of the round has been sent (only answers are left to come).
    arrived: Callable[[bool], None] | None = None


class Outgoing:
    """The requests that hold a slot but are not written to their connection yet.

    With several requests in flight, a wave's answers come within a millisecond or two of each
    other, and one event loop handles them in turn. An answer's parse (a millisecond for 50-100
    accounts) waits until the requests that took the freed slots are out (at most
    `PARSE_WAIT`), so no answer's next request waits behind the parses of the others: the
    parse then runs while every slot waits on the platform.
    """

    def __init__(self) -> None:
        self.count = 0
        self._none = asyncio.Event()
        self._none.set()

    @contextmanager
    def sending(self) -> Iterator[None]:
        """One request from taking its slot until it is written (or ends unsent)."""
        self.count += 1
        self._none.clear()
        done = False

        def sent() -> None:
            nonlocal done
            if not done:
                done = True
                self.count -= 1
                if not self.count:
                    self._none.set()

        try:
            with when_sent(sent):
                yield
        finally:
            sent()

    async def out(self) -> None:
        """Return once no request waits to be written, or after `PARSE_WAIT`."""
        # A freed slot's waiter runs first and counts itself before this looks.
        await asyncio.sleep(0)
        if self.count:
            try:
                async with asyncio.timeout(PARSE_WAIT):
                    await self._none.wait()
            except TimeoutError:
                pass


@dataclass(slots=True)
class Gatherer:
    """The round's means of asking: one HTTP client, the retry policy, the ledger, a clock."""

    client: httpx.AsyncClient
    policy: AsyncRetrying
    allowance: Allowance
    clock: Callable[[], datetime]

    async def gather(
        self,
        collector: Collector,
        targets: Sequence[Target],
        harvest: Harvest,
        at: datetime | None = None,
    ) -> None:
        """Fill `harvest` with what `collector` answers for `targets`; never raises for it.

        Instantaneous values are stamped `at` when given (a slot's start), else the clock's now.
        """
        try:
            requests = collector.plan(targets)
        except SourceError as exc:
            harvest.failures = {t.name: exc.cause for t in targets}
            harvest.kind = exc.kind
            return
        except ConfigError as exc:
            harvest.failures = {t.name: str(exc) for t in targets}
            harvest.kind = "config"
            return
        limit = asyncio.Semaphore(collector.settings.concurrency)
        outgoing = Outgoing()
        unsent = sum(1 for r in requests if not r.refusal)  # not in a slot yet
        paid = await self.allowance.pay_round(collector, requests)

        async def one(request: Request) -> None:
            if request.refusal:
                for target in request.targets:
                    harvest.failures[target.name] = request.refusal
                harvest.kind = harvest.kind or "refused"
                return
            nonlocal unsent
            async with limit:
                unsent -= 1
                with outgoing.sending():
                    deferred = await self.allowance.clearance(collector, request, paid)
                    harvest.answered.update(t.name for t in request.targets)
                    if deferred:
                        for target in request.targets:
                            harvest.failures[target.name] = deferred
                        harvest.kind = harvest.kind or "deferred"
                        return
                    try:
                        body = await fetch_body(self.client, collector, request, self.policy)
                    except Exception as exc:
                        await self._failed(collector, request, exc, harvest, paid)
                        return
            # The slot is free: the next requests go out first, and this answer is parsed
            # while they are in flight instead of before they are sent.
            await outgoing.out()
            try:
                parsed = collector.parse(request, body, at or self.clock().replace(microsecond=0))
            except Exception as exc:
                await self._failed(collector, request, exc, harvest, paid)
                return
            harvest.observations.extend(storable(request, parsed))
            harvest.failures.update(parsed.failures)
            harvest.answered.update(t.name for t in request.targets)
            harvest.finished.update(t.name for t in request.targets)
            if parsed.failures and not harvest.kind:
                harvest.kind = "not_found"
            if harvest.arrived is not None:
                harvest.arrived(not unsent)

        await asyncio.gather(*(one(r) for r in requests))

    async def _failed(
        self,
        collector: Collector,
        request: Request,
        exc: Exception,
        harvest: Harvest,
        paid: set[str],
    ) -> None:
        """A request that failed (asking or parsing) fails its own targets, with the cause."""
        harvest.answered.update(t.name for t in request.targets)
        if isinstance(exc, SourceError):
            if isinstance(exc, QuotaExhausted) and request.budget:
                await asyncio.to_thread(self.allowance.park, collector, request, exc)
                # The rest of the round asks the ledger again, which finds it parked.
                paid.discard(request.budget)
            cause, kind = redact(exc.cause), exc.kind
        else:  # a collector bug: fail its targets, not the round
            log.error("%s: unexpected error on %s", collector.name, request.url, exc_info=exc)
            cause, kind = redact(f"{type(exc).__name__}: {exc}"), "error"
        for target in request.targets:
            harvest.failures[target.name] = cause
        harvest.kind = harvest.kind or kind


def storable(request: Request, parsed: Parsed) -> list[Observation]:
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
