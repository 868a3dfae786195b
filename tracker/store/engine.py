"""The engine and the ways into it: URLs, SQLite pragmas, raw cursors and ORM sessions.

Every part of the store reaches the database through one `Gateway`, so every database error
arrives as one `StoreError` line, whichever path (DB-API cursor or SQLModel session) raised it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import DataError, DisconnectionError, IntegrityError, SQLAlchemyError
from sqlmodel import Session

from tracker.errors import StoreError, StoreRefused

# SQLite's default 2 MiB page cache costs ~3x on collection-order inserts; give it 64 MiB.
SQLITE_PRAGMAS = (
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
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        return engine
    engine = create_engine(url)
    _ping_when_idle(engine)
    return engine


# A pooled connection idle this long is pinged before it is used again (the server may have
# restarted or dropped it meanwhile); one used just now is not: a ping is a round trip, and
# `pool_pre_ping` on every checkout made one series' history cost four instead of two.
PING_IDLE = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pessimistic disconnect handling, for connections idle `PING_IDLE` or more:
    a dead one raises DisconnectionError, and the pool connects afresh (its documented way)."""

    @event.listens_for(engine, "checkin")
    def _used(_dbapi_connection: Any, record: Any) -> None:
        record.info["used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        used = record.info.get("used")
        if used is None or time.monotonic() - used < PING_IDLE:
            return  # just connected (`info` is new with each connection), or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any driver error: this connection is not to be used
            raise DisconnectionError(f"pooled connection lost: {exc}") from exc


def redact(url: str) -> str:
    """A database URL fit for messages: the password replaced."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown without its userinfo part
        return url.split("@")[-1]


def database_error(exc: Exception, url: str | URL | None = None) -> StoreError:
    """A driver or SQLAlchemy error as one line, with what to do about it."""
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
    if refused(exc):
        return StoreRefused(f"database refused the values: {reason}")
    where = f" {redact(str(url))}:" if url is not None else ""
    if "file is not a database" in reason:
        return StoreError(
            f"not a tracker database:{where.rstrip(':') or ' the file'} is not a SQLite file "
            f"({reason}); "
            "point --database (or TRACKER_DATABASE_URL) at tracker's database, or give a new "
            "file name to start one"
        )
    if (advice := _advice(reason)) is not None:
        return StoreError(f"database unreachable:{where} {reason} ({advice})")
    missing = "no such table" in reason or ("relation" in reason and "does not exist" in reason)
    return StoreError(f"database: {reason}" + (" (try `tracker db upgrade`)" if missing else ""))


def refused(exc: BaseException) -> bool:
    """Whether the database answered and refused the data (out of range, too long, a NUL):
    an error that retrying the same values later cannot fix, unlike an unreachable server."""
    if isinstance(exc, (DataError, IntegrityError, OverflowError)):
        return True
    orig = getattr(exc, "orig", None)
    if orig is not None and orig is not exc:
        return refused(orig)
    # The drivers' own classes, as raw cursors raise them (DB-API names, any driver).
    return any(base.__name__ in ("DataError", "IntegrityError") for base in type(exc).__mro__)


# What an error that means "cannot reach or log in" asks of the user, by its driver's words.
_ADVICE = (
    ("password authentication failed", "check the user and password in the database URL"),
    ("role", "check the user in the database URL"),
    ("database", "create that database first, or fix its name in the database URL"),
    ("unable to open database file", "check that the file's directory exists and is writable"),
    ("connection refused", "is the server running, and are the host and port in the URL right?"),
    ("could not translate host", "check the host name in the database URL"),
    ("name or service not known", "check the host name in the database URL"),
    ("timeout", "is the server running and reachable from here?"),
    ("connection failed", "is the server running, and is the database URL right?"),
)


def _advice(reason: str) -> str | None:
    lowered = reason.casefold()
    if "does not exist" in lowered and ("role" in lowered or "database" in lowered):
        key = "role" if "role" in lowered else "database"
        return dict(_ADVICE)[key]
    for words, advice in _ADVICE:
        if words in ("role", "database"):
            continue
        if words in lowered:
            return advice
    return None


class Gateway:
    """One engine's raw cursors and ORM sessions, with the dialect's differences in one place."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # Reads need no transaction: autocommit saves a BEGIN/ROLLBACK round trip per query.
        self._reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        dbapi = engine.dialect.dbapi
        self.driver_error: type[Exception] = dbapi.Error if dbapi is not None else Exception
        self.unique_violation: type[Exception] = (
            dbapi.IntegrityError if dbapi is not None else Exception
        )

    @contextmanager
    def cursor(self, write: bool = False) -> Iterator[Any]:
        """A DB-API cursor; with `write`, inside a transaction committed on leaving."""
        if not write and not self.is_sqlite:
            with self._read_cursor() as cursor:
                yield cursor
            return
        try:
            with self.engine.begin() if write else self._reader.connect() as conn:
                raw = conn.connection.dbapi_connection
                assert raw is not None
                cursor = raw.cursor()
                try:
                    yield cursor
                finally:
                    cursor.close()
        except (SQLAlchemyError, self.driver_error, OverflowError) as exc:
            # Raw cursors raise the driver's own exceptions, not SQLAlchemy's wrappers; sqlite3
            # raises OverflowError for an integer past 64 bits.
            raise database_error(exc, self.engine.url) from None

    @contextmanager
    def _read_cursor(self) -> Iterator[Any]:
        """A pooled PostgreSQL connection in autocommit, straight from the pool: a read needs
        no transaction (no BEGIN and ROLLBACK round trips) and no SQLAlchemy `Connection`
        around it (a third of a short read's client time)."""
        try:
            pooled = self.engine.raw_connection()
        except (SQLAlchemyError, self.driver_error) as exc:
            raise database_error(exc, self.engine.url) from None
        dbapi = pooled.driver_connection
        assert dbapi is not None  # a checked-out connection has its driver's connection
        try:
            dbapi.autocommit = True
            cursor = dbapi.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        except (self.driver_error, OverflowError) as exc:
            pooled.invalidate()  # whatever state it is in, it is not handed out again
            raise database_error(exc, self.engine.url) from None
        finally:
            if not dbapi.closed:
                dbapi.autocommit = False  # the pool's next user may begin a transaction
            pooled.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session whose database errors arrive as StoreError, like the raw paths'."""
        try:
            with Session(self.engine) as session:
                yield session
        except (SQLAlchemyError, self.driver_error, OverflowError) as exc:
            raise database_error(exc, self.engine.url) from None

    def sql(self, statement: str) -> str:
        """`statement` written with `?` placeholders, in the driver's paramstyle."""
        return statement if self.is_sqlite else statement.replace("?", "%s")
