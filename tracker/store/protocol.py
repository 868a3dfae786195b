"""The `Store` protocol: everything the rest of tracker may ask of storage.

Rounds, the spool, the daemon, backfills, queries, reports and commands type against this
protocol, never against the class that implements it (`tracker.store.database.Database`, on
SQLite or PostgreSQL), so another implementation (a remote store, a test double) fits in
without their code changing. Times are integer UTC seconds (`ts`) or aware datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import URL

from tracker.core import Observation, Sudden
from tracker.quota import Budget, Quota
from tracker.store.alerting import Delivery, Due, Episode, Outgoing
from tracker.store.latest import Extents, LatestRow
from tracker.store.ledger import SourceStatus
from tracker.store.models import Attempt, Baseline
from tracker.store.series import SeriesInfo
from tracker.store.slots import Claim, Distribution, Sender
from tracker.store.timeseries import PointRow


class Store(Protocol):
    """Time series, the ledger of attempts, quota budgets and the daemon lock of one database."""

    @property
    def url(self) -> URL:
        """Which database this is (the spool keys its files by it)."""
        ...

    def upgrade(self) -> str | None:
        """Bring the schema to the newest migration; the revision found (None: new)."""
        ...

    def close(self) -> None: ...

    # -- time series ---------------------------------------------------------------------
    def write(
        self,
        source: str,
        observations: Iterable[Observation],
        flags: int | None = None,
        *,
        sudden: Sudden | None = None,
    ) -> int:
        """Store observations; returns how many were new. Idempotent on (series, time).

        With `sudden`, values too far from their series' previous value are flagged SUDDEN."""
        ...

    def find_series(
        self,
        subject: str | None = None,
        source: str | None = None,
        metric: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> list[SeriesInfo]:
        """Series matching every filter given; `subject` ignores case (an index look-up)."""
        ...

    def history(
        self, series_id: int, since: int | None = None, until: int | None = None
    ) -> list[tuple[int, int]]:
        """(ts, value) pairs of one series, oldest first; `until` is exclusive."""
        ...

    def points(
        self, series_id: int, since: int | None = None, until: int | None = None
    ) -> list[PointRow]:
        """(ts, value, period, sig, flags) rows of one series, oldest first."""
        ...

    def point_objects(
        self,
        series_id: int,
        since: int | None,
        until: int | None,
        offset: int,
        limit: int,
        tails: Sequence[str],
    ) -> tuple[int, str]:
        """(points of one series in [since, until) (None: open), a page of them as JSON
        objects joined by commas, each closed by `tails[flags & 3]`): see
        tracker.store.pointtext."""
        ...

    def latest(self, series_id: int, at_or_before: int | None = None) -> tuple[int, int] | None:
        """The newest (ts, value) of one series at or before a time."""
        ...

    def count(self) -> int:
        """Every snapshot stored."""
        ...

    def sudden(self, since: int, limit: int = 20) -> list[tuple[int, int, int]]:
        """(series_id, ts, value) of the newest values flagged SUDDEN since a time."""
        ...

    # -- the ledger ----------------------------------------------------------------------
    def record_attempt(self, attempt: Attempt) -> None: ...

    def attempts(self, source: str | None = None, limit: int = 50) -> list[Attempt]:
        """The newest attempts first."""
        ...

    def set_next_run(self, source: str, when: datetime | None) -> None: ...

    def status(self) -> list[SourceStatus]:
        """Per source: last success, last failure and its cause, failures in a row, next run."""
        ...

    def sync_baselines(self, campaign: str, references: Iterable[Baseline]) -> None:
        """Make the stored baselines of `campaign` exactly these."""
        ...

    def baselines(self, campaign: str | None = None) -> list[Baseline]: ...

    # -- quota budgets -------------------------------------------------------------------
    def quota_take(self, key: str, quota: Quota, cost: int, at: datetime) -> Budget | None:
        """Spend `cost` of budget `key` if it has it: None when spent, else what is left."""
        ...

    def quota_park(self, key: str, quota: Quota, until: datetime | None, at: datetime) -> None:
        """Stop spending `key` until `until` (the window's end when None)."""
        ...

    def quotas(self) -> list[Budget]: ...

    # -- the one-daemon lock -------------------------------------------------------------
    def acquire_lock(self, name: str = "daemon") -> None:
        """Take the lock, or raise LockHeld naming the process that has it."""
        ...

    def heartbeat(self, name: str = "daemon") -> None: ...

    def release_lock(self, name: str = "daemon") -> None: ...

    # -- the distributed mode (PostgreSQL only) ------------------------------------------
    def dispatch_due(self, every: Mapping[str, int], at: int, send: Sender) -> list[Claim]:
        """Claim each due slot (source -> interval), `send` its messages, advance it: once."""
        ...

    def dispatch_done(
        self,
        source: str,
        slot: int,
        part: int,
        targets: int,
        sent: int,
        outcome: str,
        at: int,
        *,
        keep: bool = False,
    ) -> bool:
        """Record what became of one message of a slot; True when it had no outcome yet
        (with `keep`, an outcome already recorded stays)."""
        ...

    def dispatch_forget(self, source: str) -> None:
        """Drop the slot row of a source no longer dispatched (added back, it starts afresh)."""
        ...

    def worker_seen(self, name: str, started: int, at: int, messages: int) -> None:
        """A worker process's heartbeat."""
        ...

    def distribution(self, at: int) -> Distribution:
        """Workers seen, messages waiting, dead and late ones (empty on SQLite)."""

    # -- every series at once ------------------------------------------------------------
    def latest_values(self) -> list[LatestRow]:
        """(series_id, ts, value) of the newest point of every series, in one query."""
        ...

    def extents(self, series_ids: list[int]) -> Extents:
        """series_id -> (points, first ts, last ts) for those of `series_ids` with points."""
        ...

    # -- series by name ------------------------------------------------------------------
    def series_named(
        self, name: str, source: str | None = None, metric: str | None = None
    ) -> list[SeriesInfo]:
        """Series whose subject or handle is `name`, ignoring case (one index look-up), or
        failing those, whose platform id is exactly `name`; filtered by source and metric."""
        ...

    # -- alerts: episodes, the outbox, the delivery log -----------------------------------
    def alert_states(self, rule: str | None = None) -> list[Episode]:
        """Where each (rule, series) stands."""
        ...

    def alert_save(self, states: Sequence[Episode], due: Sequence[Due], at: int) -> int:
        """Episode changes and the alerts they make due, in one transaction; returns how many
        alerts were queued (an episode already queued is not queued twice)."""
        ...

    def alert_claim(self, at: int, stale: int, limit: int = 100) -> list[Outgoing]:
        """Due alerts, claimed for sending by this caller."""
        ...

    def alert_done(
        self, row: Outgoing, outcome: str, detail: str, at: int, retry_at: int | None
    ) -> None:
        """One delivery attempt's outcome, in the outbox and the delivery log."""
        ...

    def alert_sent_since(self, destination: str, since: int) -> int: ...

    def alert_deliveries(self, rule: str | None = None, limit: int = 50) -> list[Delivery]:
        """The delivery log, newest first."""
        ...

    def alert_waiting(self) -> dict[str, int]:
        """Alerts not sent yet, by rule."""
        ...

    def alert_newest(self, source: str, metric: str) -> int | None:
        """The newest time any series of (source, metric) has a value."""
        ...

    def alert_latest(
        self, series_ids: Sequence[int], at_or_before: int | None = None
    ) -> dict[int, PointRow]:
        """The newest row of each series (at or before a time), in one go."""
        ...

    def alert_history(self, series_ids: Sequence[int]) -> dict[int, list[PointRow]]:
        """Every row of each series, oldest first, in one go (for short series)."""
        ...

    # -- a chart's listing ---------------------------------------------------------------
    def period_starts(
        self,
        series_ids: Sequence[int],
        period: int,
        since: int | None = None,
        until: int | None = None,
    ) -> list[int]:
        """The distinct starts in [since, until) of the `period`-second periods any of
        `series_ids` has a point for, oldest first: the weeks a chart's listing (the series
        given) is known to have been published."""
        ...
