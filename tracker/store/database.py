"""`Database`: the `Store` on SQLite or PostgreSQL, put together from the store's parts.

Series ids (series.py), snapshots (timeseries.py, one write strategy per dialect), the ledger
(ledger.py), quota budgets (budgets.py) and the daemon lock (lock.py) share one engine and
one clock; this class wires them and answers the protocol by delegation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from tracker.core import Observation, Sudden
from tracker.errors import StoreError
from tracker.quota import Budget, Quota
from tracker.store.alerting import AlertBook, Delivery, Due, Episode, Outgoing
from tracker.store.budgets import Budgets
from tracker.store.engine import Gateway, database_error, make_engine, plain_sqlite_file, redact
from tracker.store.latest import Extents, LatestRow, extents, latest_values
from tracker.store.ledger import Ledger, SourceStatus
from tracker.store.listings import period_starts
from tracker.store.lock import Lock
from tracker.store.models import Attempt, Baseline
from tracker.store.pointtext import point_objects
from tracker.store.protocol import Store
from tracker.store.series import SeriesIndex, SeriesInfo
from tracker.store.slots import Claim, Distribution, Sender, Slots
from tracker.store.timeseries import PointRow, Row, TimeSeries
from tracker.timeutil import now


class Database(Store):
    """The store of one SQLAlchemy engine. `clock` stamps what the store itself dates
    (series creation, next-run updates, the lock's start and heartbeats)."""

    def __init__(self, engine: Engine | URL, clock: Callable[[], datetime] = now) -> None:
        """`engine`, or a SQLite file's URL whose engine is made on first use (`Gateway`)."""
        self.clock = clock
        gateway = Gateway(engine)
        self._gateway = gateway
        self.is_sqlite = gateway.is_sqlite
        self._series = SeriesIndex(gateway)
        self._timeseries = TimeSeries(gateway, self._series)
        self._ledger = Ledger(gateway, clock)
        self._budgets = Budgets(gateway)
        self._lock = Lock(gateway, clock)
        self._slots = Slots(gateway)
        self._alerts = AlertBook(gateway)

    @classmethod
    def open(cls, url: str, clock: Callable[[], datetime] = now) -> Database:
        """The store at `url` (sqlite:///file or postgresql://...); StoreError if unusable."""
        try:
            engine = make_engine(url)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"cannot open database {redact(url)}: {exc}") from None
        try:
            return cls(engine, clock)
        except StoreError as exc:
            engine.dispose()
            raise StoreError(f"cannot open database {redact(url)}: {exc}") from None

    @classmethod
    def existing(
        cls, url: str, clock: Callable[[], datetime] = now, *, hold: bool = False
    ) -> Database:
        """The store at `url` for commands that only read: StoreError when it is not a
        tracker database or was made by a newer tracker (`tracker.store.schema`). With
        `hold`, one connection serves this thread's reads until `close` (a read command's:
        the check, the look-up and the points share one checkout); never for a server."""
        from tracker.store.schema import check

        # A held SQLite file is read through the driver alone: no engine unless asked for.
        plain = plain_sqlite_file(url) if hold else None
        store = cls(plain, clock) if plain is not None else cls.open(url, clock)
        try:
            if hold:
                store._gateway.hold()
            check(store._gateway)
        except StoreError:
            store.close()
            raise
        return store

    @property
    def engine(self) -> Engine:
        return self._gateway.engine

    @property
    def url(self) -> URL:
        return self._gateway.url

    def close(self) -> None:
        """Close the connections: the held one, and the pool's (the engine stays usable,
        as after `Engine.dispose`, without building a new pool for a store being left)."""
        self._gateway.release()
        self._gateway.dispose()

    def upgrade(self) -> str | None:
        """Bring the schema to the newest migration (Alembic); returns the revision found
        (None: a new database). A database already there is told by one statement, without
        Alembic (importing it and its scripts cost every writing command ~65 ms)."""
        from tracker.store.schema import check, revisions

        try:
            found = check(self._gateway)
            if found == revisions()[1]:
                return found
        except StoreError:  # unreachable, not tracker's, or a newer tracker's: let go of it
            self._gateway.dispose()
            raise
        from alembic.util import CommandError

        from tracker.migrate import upgrade

        try:
            upgrade(self.engine)
        except (SQLAlchemyError, CommandError, StoreError) as exc:
            # A database that cannot be brought up to date is not used: let go of it.
            self.engine.dispose()
            if isinstance(exc, StoreError):
                raise
            if isinstance(exc, CommandError):  # alembic's own: a revision it cannot place
                raise StoreError(f"database {redact(str(self.engine.url))}: {exc}") from None
            # Unreachable, a file that is not SQLite, a refused statement.
            raise database_error(exc, self.engine.url) from None
        return found

    # -- time series ---------------------------------------------------------------------
    def series_ids(self, source: str, observations: Sequence[Observation]) -> list[int]:
        return self._series.ids(source, observations)

    def find_series(
        self,
        subject: str | None = None,
        source: str | None = None,
        metric: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> list[SeriesInfo]:
        return self._series.find(subject, source, metric, labels)

    def write(
        self,
        source: str,
        observations: Iterable[Observation],
        flags: int | None = None,
        *,
        sudden: Sudden | None = None,
    ) -> int:
        return self._timeseries.write(source, observations, flags, sudden)

    def write_rows(self, rows: Sequence[Row]) -> int:
        """The bulk path: rows already keyed by series id. Returns the count of new rows."""
        return self._timeseries.write_rows(rows)

    def history(
        self, series_id: int, since: int | None = None, until: int | None = None
    ) -> list[tuple[int, int]]:
        return self._timeseries.history(series_id, since, until)

    def points(
        self, series_id: int, since: int | None = None, until: int | None = None
    ) -> list[PointRow]:
        return self._timeseries.points(series_id, since, until)

    def point_objects(
        self,
        series_id: int,
        since: int | None,
        until: int | None,
        offset: int,
        limit: int,
        tails: Sequence[str],
    ) -> tuple[int, str]:
        return point_objects(self._gateway, series_id, since, until, offset, limit, tails)

    def latest(self, series_id: int, at_or_before: int | None = None) -> tuple[int, int] | None:
        return self._timeseries.latest(series_id, at_or_before)

    def count(self) -> int:
        return self._timeseries.count()

    def sudden(self, since: int, limit: int = 20) -> list[tuple[int, int, int]]:
        return self._timeseries.sudden(since, limit)

    # -- the ledger ----------------------------------------------------------------------
    def record_attempt(self, attempt: Attempt) -> None:
        self._ledger.record_attempt(attempt)

    def attempts(self, source: str | None = None, limit: int = 50) -> list[Attempt]:
        return self._ledger.attempts(source, limit)

    def set_next_run(self, source: str, when: datetime | None) -> None:
        self._ledger.set_next_run(source, when)

    def status(self) -> list[SourceStatus]:
        return self._ledger.status()

    def sync_baselines(self, campaign: str, references: Iterable[Baseline]) -> None:
        self._ledger.sync_baselines(campaign, references)

    def baselines(self, campaign: str | None = None) -> list[Baseline]:
        return self._ledger.baselines(campaign)

    # -- quota budgets -------------------------------------------------------------------
    def quota_take(self, key: str, quota: Quota, cost: int, at: datetime) -> Budget | None:
        return self._budgets.take(key, quota, cost, at)

    def quota_park(self, key: str, quota: Quota, until: datetime | None, at: datetime) -> None:
        self._budgets.park(key, quota, until, at)

    def quotas(self) -> list[Budget]:
        return self._budgets.all()

    # -- the one-daemon lock -------------------------------------------------------------
    def acquire_lock(self, name: str = "daemon") -> None:
        self._lock.acquire(name)
        if name == "daemon":  # the one process collecting: its own writes are the newest
            self._timeseries.recent.start()

    def heartbeat(self, name: str = "daemon") -> None:
        self._lock.heartbeat(name)

    def release_lock(self, name: str = "daemon") -> None:
        if name == "daemon":
            self._timeseries.recent.stop()
        self._lock.release(name)

    # -- the distributed mode ------------------------------------------------------------
    def dispatch_due(self, every: Mapping[str, int], at: int, send: Sender) -> list[Claim]:
        return self._slots.due(every, at, send)

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
        return self._slots.done(source, slot, part, targets, sent, outcome, at, keep=keep)

    def dispatch_forget(self, source: str) -> None:
        self._slots.forget(source)

    def worker_seen(self, name: str, started: int, at: int, messages: int) -> None:
        self._slots.seen(name, started, at, messages)

    def distribution(self, at: int) -> Distribution:
        return self._slots.distribution(at)

    # -- every series at once --------------------------------------------------------------
    def latest_values(self) -> list[LatestRow]:
        return latest_values(self._gateway)

    def extents(self, series_ids: list[int]) -> Extents:
        return extents(self._gateway, series_ids)

    # -- series by name ------------------------------------------------------------------
    def series_named(
        self, name: str, source: str | None = None, metric: str | None = None
    ) -> list[SeriesInfo]:
        return self._series.named(name, source, metric)

    # -- alerts --------------------------------------------------------------------------
    def alert_states(self, rule: str | None = None) -> list[Episode]:
        return self._alerts.states(rule)

    def alert_save(self, states: Sequence[Episode], due: Sequence[Due], at: int) -> int:
        return self._alerts.save(states, due, at)

    def alert_claim(self, at: int, stale: int, limit: int = 100) -> list[Outgoing]:
        return self._alerts.claim(at, stale, limit)

    def alert_done(
        self, row: Outgoing, outcome: str, detail: str, at: int, retry_at: int | None
    ) -> None:
        self._alerts.done(row, outcome, detail, at, retry_at)

    def alert_sent_since(self, destination: str, since: int) -> int:
        return self._alerts.sent_since(destination, since)

    def alert_deliveries(self, rule: str | None = None, limit: int = 50) -> list[Delivery]:
        return self._alerts.deliveries(rule, limit)

    def alert_waiting(self) -> dict[str, int]:
        return self._alerts.waiting()

    def alert_newest(self, source: str, metric: str) -> int | None:
        return self._alerts.newest(source, metric)

    def alert_latest(
        self, series_ids: Sequence[int], at_or_before: int | None = None
    ) -> dict[int, PointRow]:
        return self._alerts.latest(series_ids, at_or_before)

    def alert_history(self, series_ids: Sequence[int]) -> dict[int, list[PointRow]]:
        return self._alerts.history(series_ids)

    # -- a chart's listing -----------------------------------------------------------------
    def period_starts(
        self,
        series_ids: Sequence[int],
        period: int,
        since: int | None = None,
        until: int | None = None,
    ) -> list[int]:
        return period_starts(self._gateway, series_ids, period, since, until)


if TYPE_CHECKING:
    # mypy refuses an abstract class here: Database must implement every member of Store.
    _implements: type[Store] = Database
