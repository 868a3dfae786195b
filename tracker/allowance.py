"""A round's side of the quota ledger: pay up front where the budget covers the round,
else per request; park a budget the platform says is spent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from tracker.collectors.base import Collector, Request
from tracker.errors import QuotaExhausted, StoreError
from tracker.store import Store

log = logging.getLogger("tracker.round")


def budget_key(collector: Collector, budget: str) -> str:
    """The ledger's key of a budget: the platform, the budget and the credential it spends."""
    return f"{collector.name}:{budget}:{collector.credential_id(budget)}"


class Allowance:
    """What a round may spend: a collector's budgets in the store's ledger, by its clock."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    async def pay_round(self, collector: Collector, requests: Sequence[Request]) -> set[str]:
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
            key = budget_key(collector, budget)
            try:
                if self.store.quota_take(key, collector.quotas[budget], total, at) is not None:
                    paid.add(budget)
            except StoreError:
                continue  # each request then asks, and says the ledger is unavailable
        return paid

    async def clearance(self, collector: Collector, request: Request, paid: set[str]) -> str:
        """'' when the request may go, else why not; a thread hop only to spend a budget."""
        if not request.budget or request.budget in paid:
            return ""
        return await asyncio.to_thread(self._spend, collector, request)

    def _spend(self, collector: Collector, request: Request) -> str:
        """'' when the request may go; otherwise why it is deferred to a later round."""
        if not request.budget:
            return ""
        quota = collector.quotas[request.budget]
        key = budget_key(collector, request.budget)
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

    def park(self, collector: Collector, request: Request, exc: QuotaExhausted) -> None:
        """Mark the budget spent until the platform's reset, so no request asks before it."""
        quota = collector.quotas[request.budget]
        try:
            self.store.quota_park(
                budget_key(collector, request.budget), quota, exc.reset_at, self.clock()
            )
        except StoreError as error:
            log.warning("%s: could not park the spent quota: %s", collector.name, error)
