"""Quota budgets in the database: spent atomically, parked when the platform says so.

State lives here, not in memory, so the daemon, `tracker run --once`, a backfill and
`tracker status` agree on what a credential has left (tracker.quota defines the windows).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from tracker.quota import Budget, Quota
from tracker.store.engine import Gateway
from tracker.store.models import QuotaUse
from tracker.timeutil import from_epoch, to_epoch


class Budgets:
    """Quota use per credential key."""

    def __init__(self, gateway: Gateway) -> None:
        self._db = gateway

    def take(self, key: str, quota: Quota, cost: int, at: datetime) -> Budget | None:
        """Spend `cost` units of budget `key` if it has them: None when spent, else what is left.

        One conditional UPDATE does the check and the spending, so concurrent rounds (threads
        or processes) sharing a credential never overspend it together.
        """
        sql = self._db.sql
        begin, end = (to_epoch(t) for t in quota.window(at))
        stamp = to_epoch(at)
        with self._db.cursor(write=True) as cursor:
            cursor.execute(
                sql(
                    "INSERT INTO quota (key, quota_limit, window_start, window_end, used) "
                    "VALUES (?, ?, ?, ?, 0) ON CONFLICT (key) DO NOTHING"
                ),
                (key, quota.limit, begin, end),
            )
            spent = "CASE WHEN window_start = ? THEN used ELSE 0 END"
            cursor.execute(
                sql(
                    f"UPDATE quota SET used = {spent} + ?, window_start = ?, window_end = ?, "
                    "quota_limit = ?, parked_until = NULL "
                    "WHERE key = ? AND (parked_until IS NULL OR parked_until <= ?) "
                    f"AND {spent} + ? <= ?"
                ),
                (begin, cost, begin, end, quota.limit, key, stamp, begin, cost, quota.limit),
            )
            granted = cursor.rowcount == 1
            cursor.execute(
                sql(
                    "SELECT key, quota_limit, used, window_end, parked_until FROM quota "
                    "WHERE key = ?"
                ),
                (key,),
            )
            row = cursor.fetchone()
        if not granted:
            return None
        return Budget(row[0], row[1], row[2], from_epoch(row[3]), None)

    def park(self, key: str, quota: Quota, until: datetime | None, at: datetime) -> None:
        """Stop spending `key` until `until` (the platform said the quota is gone)."""
        begin, end = quota.window(at)
        with self._db.session() as session:
            use = session.get(QuotaUse, key, with_for_update=not self._db.is_sqlite) or QuotaUse(
                key=key,
                quota_limit=quota.limit,
                window_start=to_epoch(begin),
                window_end=to_epoch(end),
            )
            use.parked_until = to_epoch(until or end)
            session.add(use)
            session.commit()

    def all(self) -> list[Budget]:
        """Every budget as it stands, by key."""
        with self._db.session() as session:
            rows = session.exec(select(QuotaUse).order_by(col(QuotaUse.key))).all()
        return [_budget(row) for row in rows]


def _budget(use: QuotaUse) -> Budget:
    parked = from_epoch(use.parked_until) if use.parked_until is not None else None
    return Budget(use.key, use.quota_limit, use.used, from_epoch(use.window_end), parked)
