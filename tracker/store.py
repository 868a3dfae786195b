"""The only module that writes or queries the time-series tables.

Bulk paths (writing snapshots, reading a series' history) go straight to the DB-API cursor
with bound parameters: no ORM object per row. Everything else uses SQLModel queries.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, col, delete, select

from tracker.core import Observation
from tracker.errors import LockHeld, StoreError
from tracker.models import Attempt, Baseline, DaemonLock, QuotaUse, SourceState
from tracker.quota import Budget, Quota
from tracker.timeutil import from_epoch, now, to_epoch

# A snapshot row as the bulk path takes it: series_id, ts, value, period, sig, flags.
Row = tuple[int, int, int, int | None, int | None, int | None]

# SQLite's default 2 MiB page cache costs ~3x on collection-order inserts; give it 64 MiB.
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA cache_size=-65536",
    "PRAGMA temp_store=MEMORY",
    # A collection-order write dirties many pages of the (series, ts) b-tree: checkpoint less
    # often than every 1,000 pages (measured: 2x the rows per second per round).
    "PRAGMA wal_autocheckpoint=10000",
    # ...and truncate the WAL back to 64 MiB after a checkpoint, so it cannot grow unbounded.
    "PRAGMA journal_size_limit=67108864",
)
# A daemon whose heartbeat is older than this is gone, whatever its lock row says.
LOCK_STALE_SECONDS = 90


def normalize_url(url: str) -> str:
    """Accept plain postgresql:// URLs and point them at psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    id: int
    source: str
    metric: str
    key: str
    subject: str
    label: str
    labels: dict[str, str]


@dataclass(frozen=True, slots=True)
class SourceStatus:
    source: str
    last_success: datetime | None
    last_failure: datetime | None
    last_cause: str
    failures_in_a_row: int
    next_run: datetime | None
    last_outcome: str


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._mark = "?" if self.is_sqlite else "%s"
        self._series_cache: dict[tuple[str, str, str], tuple[int, str]] = {}
        # Reads need no transaction: autocommit saves a BEGIN/ROLLBACK round trip per query.
        self._reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        dbapi = engine.dialect.dbapi
        self._driver_error: type[Exception] = dbapi.Error if dbapi is not None else Exception
        self._unique_violation: type[Exception] = (
            dbapi.IntegrityError if dbapi is not None else Exception
        )

    @classmethod
    def open(cls, url: str) -> Store:
        try:
            return cls(make_engine(url))
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"cannot open database {redact(url)}: {exc}") from None

    def close(self) -> None:
        self.engine.dispose()

    # -- schema --------------------------------------------------------------------------
    def upgrade(self) -> None:
        """Bring the schema to the newest migration (Alembic)."""
        from tracker.migrate import upgrade

        try:
            upgrade(self.engine)
        except OperationalError as exc:
            raise StoreError(f"database unreachable: {exc.orig}") from None

    # -- raw cursor ----------------------------------------------------------------------
    @contextmanager
    def _cursor(self, write: bool = False) -> Iterator[Any]:
        try:
            with self.engine.begin() if write else self._reader.connect() as conn:
                raw = conn.connection.dbapi_connection
                assert raw is not None
                cursor = raw.cursor()
                try:
                    yield cursor
                finally:
                    cursor.close()
        except (SQLAlchemyError, self._driver_error) as exc:
            # Raw cursors raise the driver's own exceptions, not SQLAlchemy's wrappers.
            raise database_error(exc) from None

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """An ORM session whose database errors arrive as StoreError, like the raw paths'."""
        try:
            with Session(self.engine) as session:
                yield session
        except (SQLAlchemyError, self._driver_error) as exc:
            raise database_error(exc) from None

    def _sql(self, statement: str) -> str:
        return statement if self.is_sqlite else statement.replace("?", "%s")

    # -- series --------------------------------------------------------------------------
    def series_ids(self, source: str, observations: Sequence[Observation]) -> list[int]:
        """The series id of each observation, creating series on first sight in one batch.

        A handle that changed (same stable key, new label) updates the label: the history
        continues under the platform's id.
        """
        cache = self._series_cache
        unknown = {(source, o.metric, o.key) for o in observations} - cache.keys()
        if unknown:
            self._load_series(source)
            unknown -= cache.keys()
        if unknown:
            firsts = {}
            for obs in observations:
                identity = (source, obs.metric, obs.key)
                if identity in unknown and identity not in firsts:
                    firsts[identity] = obs
            created = to_epoch(now())
            rows = [
                (
                    source,
                    o.metric,
                    o.key,
                    o.subject,
                    o.label,
                    json.dumps(dict(o.labels), sort_keys=True, ensure_ascii=False),
                    created,
                )
                for o in firsts.values()
            ]
            conflict = "ON CONFLICT (source, metric, key) DO NOTHING"
            with self._cursor(write=True) as cursor:
                cursor.executemany(
                    self._sql(
                        "INSERT INTO series (source, metric, key, subject, label, labels, created) "
                        f"VALUES (?, ?, ?, ?, ?, ?, ?) {conflict}"
                    ),
                    rows,
                )
            self._load_series(source)
        renamed = {
            (cache[(source, o.metric, o.key)][0], o.label)
            for o in observations
            if o.label and cache[(source, o.metric, o.key)][1] != o.label
        }
        if renamed:
            with self._cursor(write=True) as cursor:
                cursor.executemany(
                    self._sql("UPDATE series SET label = ? WHERE id = ?"),
                    [(label, sid) for sid, label in renamed],
                )
            self._load_series(source)
        return [cache[(source, o.metric, o.key)][0] for o in observations]

    def _load_series(self, source: str) -> None:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("SELECT metric, key, id, label FROM series WHERE source = ?"), (source,)
            )
            for metric, key, sid, label in cursor.fetchall():
                self._series_cache[(source, metric, key)] = (sid, label)

    def find_series(
        self,
        subject: str | None = None,
        source: str | None = None,
        metric: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> list[SeriesInfo]:
        # Raw SQL: the read commands start faster without compiling an ORM query.
        where, args = ["1 = 1"], []
        for column, value in (("lower(subject)", subject), ("source", source), ("metric", metric)):
            if value:
                where.append(f"{column} = ?")
                args.append(value.lower() if column.startswith("lower") else value)
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "SELECT id, source, metric, key, subject, label, labels FROM series "
                    f"WHERE {' AND '.join(where)} ORDER BY id"
                ),
                args,
            )
            found = [
                SeriesInfo(sid, src, met, key, subj, label, json.loads(lab))
                for sid, src, met, key, subj, label, lab in cursor.fetchall()
            ]
        if labels:
            found = [s for s in found if all(s.labels.get(k) == v for k, v in labels.items())]
        return found

    # -- snapshots -----------------------------------------------------------------------
    def write(
        self, source: str, observations: Iterable[Observation], flags: int | None = None
    ) -> int:
        """Store observations; returns how many were new. Idempotent on (series, time)."""
        observations = list(observations)
        ids = self.series_ids(source, observations)
        rows = [
            (
                sid,
                to_epoch(obs.at),
                obs.value,
                int(obs.period.total_seconds()) if obs.period else None,
                obs.sig,
                flags,
            )
            for sid, obs in zip(ids, observations, strict=True)
        ]
        return self.write_rows(rows)

    def write_rows(self, rows: Sequence[Row]) -> int:
        """The bulk path: rows already keyed by series id. Returns the count of new rows."""
        if not rows:
            return 0
        if self.is_sqlite:
            with self._cursor(write=True) as cursor:
                cursor.executemany(
                    "INSERT OR IGNORE INTO snapshot (series_id, ts, value, period, sig, flags) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                return int(cursor.rowcount)
        return self._copy_rows(rows)

    def _copy_rows(self, rows: Sequence[Row]) -> int:
        # COPY is ~8x faster than executemany on PostgreSQL; idempotence comes from the slow
        # path, a scratch table and one set-based insert that skips what is there.
        with self._cursor(write=True) as cursor:
            # Fast path: COPY straight into the table. A row that is already there (a retried
            # round, a re-import) makes it fail; then only this part is undone.
            cursor.execute("SAVEPOINT bulk_copy")
            try:
                with cursor.copy(
                    "COPY snapshot (series_id, ts, value, period, sig, flags) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
            except self._unique_violation:
                cursor.execute("ROLLBACK TO SAVEPOINT bulk_copy")
            else:
                cursor.execute("RELEASE SAVEPOINT bulk_copy")
                return len(rows)
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS snapshot_in "
                "(series_id integer, ts bigint, value bigint, period integer, sig smallint, "
                "flags smallint) ON COMMIT DELETE ROWS"
            )
            with cursor.copy(
                "COPY snapshot_in (series_id, ts, value, period, sig, flags) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                "INSERT INTO snapshot (series_id, ts, value, period, sig, flags) "
                "SELECT DISTINCT ON (series_id, ts) series_id, ts, value, period, sig, flags "
                "FROM snapshot_in ON CONFLICT (series_id, ts) DO NOTHING"
            )
            return int(cursor.rowcount)

    def history(
        self, series_id: int, since: int | None = None, until: int | None = None
    ) -> list[tuple[int, int]]:
        """(ts, value) pairs of one series, oldest first; `until` is exclusive."""
        lo = since if since is not None else -(2**62)
        hi = until if until is not None else 2**62
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "SELECT ts, value FROM snapshot WHERE series_id = ? AND ts >= ? AND ts < ? "
                    "ORDER BY ts"
                ),
                (series_id, lo, hi),
            )
            return cursor.fetchall()

    def points(
        self, series_id: int, since: int | None = None, until: int | None = None
    ) -> list[tuple[int, int, int | None, int | None, int | None]]:
        """Full rows (ts, value, period, sig, flags) of one series, oldest first."""
        lo = since if since is not None else -(2**62)
        hi = until if until is not None else 2**62
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "SELECT ts, value, period, sig, flags FROM snapshot "
                    "WHERE series_id = ? AND ts >= ? AND ts < ? ORDER BY ts"
                ),
                (series_id, lo, hi),
            )
            return cursor.fetchall()

    def latest(self, series_id: int, at_or_before: int | None = None) -> tuple[int, int] | None:
        hi = at_or_before if at_or_before is not None else 2**62
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "SELECT ts, value FROM snapshot WHERE series_id = ? AND ts <= ? "
                    "ORDER BY ts DESC LIMIT 1"
                ),
                (series_id, hi),
            )
            row = cursor.fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def count(self) -> int:
        with self._cursor() as cursor:
            cursor.execute("SELECT count(*) FROM snapshot")
            return int(cursor.fetchone()[0])

    # -- attempts and status -------------------------------------------------------------
    def record_attempt(self, attempt: Attempt) -> None:
        with self._session() as session:
            session.add(attempt)
            session.commit()

    def attempts(self, source: str | None = None, limit: int = 50) -> list[Attempt]:
        query = select(Attempt).order_by(col(Attempt.id).desc()).limit(limit)
        if source:
            query = query.where(Attempt.source == source)
        with self._session() as session:
            return list(session.exec(query).all())

    def set_next_run(self, source: str, when: datetime | None) -> None:
        with self._session() as session:
            state = session.get(SourceState, source) or SourceState(source=source, updated=0)
            state.next_run = to_epoch(when) if when else None
            state.updated = to_epoch(now())
            session.add(state)
            session.commit()

    def status(self) -> list[SourceStatus]:
        """Per source: last success, last failure and its cause, failures in a row, next run."""
        with self._session() as session:
            sources = set(session.exec(select(Attempt.source).distinct()).all())
            states = {s.source: s for s in session.exec(select(SourceState)).all()}
            out = []
            for source in sorted(sources | set(states)):
                recent = session.exec(
                    select(Attempt)
                    .where(Attempt.source == source)
                    .order_by(col(Attempt.id).desc())
                    .limit(200)
                ).all()
                # Spooled values were collected; they reach the table when the database returns.
                collected = ("ok", "partial", "spooled")
                success = next((a for a in recent if a.outcome in collected), None)
                failure = next((a for a in recent if a.outcome in ("failed", "partial")), None)
                in_a_row = 0
                for a in recent:
                    if a.outcome != "failed":
                        break
                    in_a_row += 1
                state = states.get(source)
                out.append(
                    SourceStatus(
                        source=source,
                        last_success=from_epoch(success.finished) if success else None,
                        last_failure=from_epoch(failure.finished) if failure else None,
                        last_cause=failure.cause if failure else "",
                        failures_in_a_row=in_a_row,
                        next_run=from_epoch(state.next_run) if state and state.next_run else None,
                        last_outcome=recent[0].outcome if recent else "",
                    )
                )
        return out

    # -- baselines -----------------------------------------------------------------------
    def sync_baselines(self, campaign: str, references: Iterable[Baseline]) -> None:
        """Make the stored baselines of `campaign` exactly the config's."""
        with self._session() as session:
            session.exec(delete(Baseline).where(col(Baseline.campaign) == campaign))
            for ref in references:
                session.add(ref)
            session.commit()

    def baselines(self, campaign: str | None = None) -> list[Baseline]:
        query = select(Baseline).order_by(col(Baseline.id))
        if campaign:
            query = query.where(Baseline.campaign == campaign)
        with self._session() as session:
            return list(session.exec(query).all())

    # -- quota budgets ------------------------------------------------------------------
    def quota_take(self, key: str, quota: Quota, cost: int, at: datetime) -> Budget | None:
        """Spend `cost` units of budget `key` if it has them: None when spent, else what is left.

        One conditional UPDATE does the check and the spending, so concurrent rounds (threads
        or processes) sharing a credential never overspend it together.
        """
        begin, end = (to_epoch(t) for t in quota.window(at))
        stamp = to_epoch(at)
        with self._cursor(write=True) as cursor:
            cursor.execute(
                self._sql(
                    "INSERT INTO quota (key, quota_limit, window_start, window_end, used) "
                    "VALUES (?, ?, ?, ?, 0) ON CONFLICT (key) DO NOTHING"
                ),
                (key, quota.limit, begin, end),
            )
            spent = "CASE WHEN window_start = ? THEN used ELSE 0 END"
            cursor.execute(
                self._sql(
                    f"UPDATE quota SET used = {spent} + ?, window_start = ?, window_end = ?, "
                    "quota_limit = ?, parked_until = NULL "
                    "WHERE key = ? AND (parked_until IS NULL OR parked_until <= ?) "
                    f"AND {spent} + ? <= ?"
                ),
                (begin, cost, begin, end, quota.limit, key, stamp, begin, cost, quota.limit),
            )
            granted = cursor.rowcount == 1
            cursor.execute(
                self._sql(
                    "SELECT key, quota_limit, used, window_end, parked_until FROM quota "
                    "WHERE key = ?"
                ),
                (key,),
            )
            row = cursor.fetchone()
        if not granted:
            return None
        return Budget(row[0], row[1], row[2], from_epoch(row[3]), None)

    def quota_park(self, key: str, quota: Quota, until: datetime | None, at: datetime) -> None:
        """Stop spending `key` until `until` (the platform said the quota is gone)."""
        begin, end = quota.window(at)
        with self._session() as session:
            use = session.get(QuotaUse, key, with_for_update=not self.is_sqlite) or QuotaUse(
                key=key,
                quota_limit=quota.limit,
                window_start=to_epoch(begin),
                window_end=to_epoch(end),
            )
            use.parked_until = to_epoch(until or end)
            session.add(use)
            session.commit()

    def quotas(self) -> list[Budget]:
        with self._session() as session:
            rows = session.exec(select(QuotaUse).order_by(col(QuotaUse.key))).all()
        return [_budget(row) for row in rows]

    # -- the one-daemon lock -------------------------------------------------------------
    def acquire_lock(self, name: str = "daemon") -> None:
        """Take the daemon lock, or raise LockHeld naming the process that has it."""
        me_host, me_pid, stamp = socket.gethostname(), os.getpid(), to_epoch(now())
        with self._session() as session:
            held = session.get(DaemonLock, name, with_for_update=not self.is_sqlite)
            if held is not None and not self._stale(held, stamp) and held.pid != me_pid:
                raise LockHeld(
                    f"another tracker daemon (pid {held.pid} on {held.host}, running since "
                    f"{from_epoch(held.started):%Y-%m-%d %H:%M:%S} UTC) holds this database"
                )
            if held is None:
                session.add(
                    DaemonLock(name=name, pid=me_pid, host=me_host, started=stamp, heartbeat=stamp)
                )
            else:
                held.pid, held.host, held.started, held.heartbeat = me_pid, me_host, stamp, stamp
                session.add(held)
            try:
                session.commit()
            except SQLAlchemyError:
                raise LockHeld("another tracker daemon took the lock at the same moment") from None

    @staticmethod
    def _stale(held: DaemonLock, stamp: int) -> bool:
        if stamp - held.heartbeat > LOCK_STALE_SECONDS:
            return True
        if held.host == socket.gethostname():
            try:
                os.kill(held.pid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
        return False

    def heartbeat(self, name: str = "daemon") -> None:
        with self._session() as session:
            held = session.get(DaemonLock, name)
            if held is not None and held.pid == os.getpid():
                held.heartbeat = to_epoch(now())
                session.add(held)
                session.commit()

    def release_lock(self, name: str = "daemon") -> None:
        with self._session() as session:
            held = session.get(DaemonLock, name)
            if held is not None and held.pid == os.getpid():
                session.delete(held)
                session.commit()


def _budget(use: QuotaUse) -> Budget:
    parked = from_epoch(use.parked_until) if use.parked_until is not None else None
    return Budget(use.key, use.quota_limit, use.used, from_epoch(use.window_end), parked)


def database_error(exc: Exception) -> StoreError:
    """A driver or SQLAlchemy error as one line, with the fix when the schema is missing."""
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
    missing = "no such table" in reason or ("relation" in reason and "does not exist" in reason)
    return StoreError(f"database: {reason}" + (" (try `tracker db upgrade`)" if missing else ""))


def redact(url: str) -> str:
    """A database URL fit for messages: the password replaced."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown without its userinfo part
        return url.split("@")[-1]
