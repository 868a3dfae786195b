"""The engine and the ways into it: URLs, SQLite pragmas, raw cursors and ORM sessions.

Every part of the store reaches the database through one `Gateway`, so every database error
arrives as one `StoreError` line, whichever path (DB-API cursor or SQLModel session) raised it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
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
_PRAGMA_SCRIPT = ";\n".join(SQLITE_PRAGMAS) + ";"
# sqlite3.connect's arguments beyond the file: any thread may use a pooled connection.
SQLITE_CONNECT_ARGS: dict[str, Any] = {"check_same_thread": False, "timeout": 10}


# Ids per `IN (...)` list: well under SQLite's oldest limit of 999 bound parameters.
IN_LIST = 500


def id_lists(ids: Sequence[int]) -> Iterator[tuple[list[int], str]]:
    """`ids` in slices of IN_LIST, each with its placeholders ("?, ?, ..."): a statement each."""
    for at in range(0, len(ids), IN_LIST):
        chunk = list(ids[at : at + IN_LIST])
        yield chunk, ", ".join("?" * len(chunk))


def plain_sqlite_file(url: str | URL) -> URL | None:
    """The URL of a SQLite file named plainly (sqlite:///FILE: no URL options, not in
    memory), which the driver can open as the pool would; None for any other."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(normalize_url(url) if isinstance(url, str) else url)
    except ArgumentError:
        return None
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite") or parsed.query:
        return None
    if parsed.host or parsed.port or parsed.username or parsed.password:
        return None
    return None if parsed.database in (None, "", ":memory:") else parsed


def normalize_url(url: str) -> str:
    """Accept plain postgresql:// URLs and point them at psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args=SQLITE_CONNECT_ARGS)
        event.listen(engine, "connect", _pragmas)
        return engine
    # No HSTORE column anywhere: without the flag, the first connection of every engine (every
    # read command's) spends a round trip looking up the hstore type.
    engine = create_engine(url, use_native_hstore=False)
    _ping_when_idle(engine)
    return engine


def _pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    # One call for all of them: a new connection opens no transaction to commit.
    dbapi_connection.executescript(_PRAGMA_SCRIPT)


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


class _Direct:
    """A driver connection outside the pool, shaped like a pooled one for the read cursor:
    `driver_connection`, and `close` (or `invalidate`) to let go of it."""

    def __init__(self, connection: Any) -> None:
        self.driver_connection = connection

    def close(self) -> None:
        self.driver_connection.close()

    invalidate = close


class Gateway:
    """One engine's raw cursors and ORM sessions, with the dialect's differences in one place.

    Reads take the driver's connection straight from the pool, outside any transaction: no
    BEGIN and ROLLBACK, and no SQLAlchemy `Connection` around it (a third of a short read's
    client time). A read command `hold`s one connection for all its reads: one checkout, not
    one per query.
    """

    def __init__(self, engine: Engine | URL) -> None:
        """`engine`, or a SQLite file's URL (`plain_sqlite_file`): its engine is then made on
        first use, and a read command that holds its connection (`hold`) never makes one."""
        if isinstance(engine, URL):
            self._engine: Engine | None = None
            self.url = engine
            self.dialect = ("sqlite", "pysqlite")
            dbapi: Any = sqlite3
        else:
            self._engine = engine
            self.url = engine.url
            self.dialect = (engine.dialect.name, engine.dialect.driver)
            dbapi = engine.dialect.dbapi
        self.is_sqlite = self.dialect[0] == "sqlite"
        self.driver_error: type[Exception] = dbapi.Error if dbapi is not None else Exception
        self.unique_violation: type[Exception] = (
            dbapi.IntegrityError if dbapi is not None else Exception
        )
        self._making = threading.Lock()
        # The pooled connection `hold` keeps, and the thread whose reads use it.
        self._held: Any = None
        self._holder: int | None = None

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, made now if it was not yet."""
        if self._engine is None:
            with self._making:  # a server's threads may come here together
                if self._engine is None:
                    self._engine = make_engine(self.url.render_as_string(hide_password=False))
        return self._engine

    def dispose(self) -> None:
        """Close the pool's connections (none to close when no engine was made): the engine
        stays usable, as after `Engine.dispose`, without building a new pool."""
        if self._engine is not None:
            self._engine.pool.dispose()

    @contextmanager
    def cursor(self, write: bool = False) -> Iterator[Any]:
        """A DB-API cursor; with `write`, inside a transaction committed on leaving."""
        if not write:
            with self._read_cursor() as cursor:
                yield cursor
            return
        try:
            with self.engine.begin() as conn:
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
            raise database_error(exc, self.url) from None

    def hold(self) -> None:
        """Keep one connection for this thread's reads until `release` (a read command's
        lifetime): its schema check, look-up and points pay one checkout. A SQLite file's is
        the driver's own (`_direct`), else the pool's. Other threads' reads, and every
        write, still go through the pool."""
        if self._held is not None:
            return
        self._held = self._direct() or self._checkout()
        self._holder = threading.get_ident()

    def release(self) -> None:
        """Give the held connection back to the pool (nothing when none is held)."""
        held, self._held = self._held, None
        if held is not None:
            self._checkin(held)

    def _checkout(self) -> Any:
        """A pooled connection ready for reads: PostgreSQL's in autocommit (SQLite's
        driver begins no transaction for a SELECT)."""
        try:
            pooled = self.engine.raw_connection()
        except (SQLAlchemyError, self.driver_error) as exc:
            raise database_error(exc, self.url) from None
        if not self.is_sqlite:
            try:
                pooled.driver_connection.autocommit = True  # type: ignore[union-attr]
            except self.driver_error as exc:
                pooled.invalidate()
                raise database_error(exc, self.url) from None
        return pooled

    def _direct(self) -> _Direct | None:
        """A SQLite file's connection opened straight from the driver, with the pool's
        arguments and pragmas: the engine, its pool and first checkout (events, the dialect's
        first-connect queries) cost ~0.35 ms of a read command's ~2. Only for a gateway made
        from a plain file's URL (`plain_sqlite_file`), before any engine: None otherwise
        (PostgreSQL; a database only the pool can share, in memory or with URL options)."""
        if self._engine is not None:  # made from an engine, or one a write has made since
            return None
        assert self.url.database is not None
        try:
            connection = sqlite3.connect(os.path.abspath(self.url.database), **SQLITE_CONNECT_ARGS)
        except self.driver_error as exc:
            raise database_error(exc, self.url) from None
        try:
            _pragmas(connection)
        except self.driver_error as exc:
            connection.close()
            raise database_error(exc, self.url) from None
        return _Direct(connection)

    def _checkin(self, pooled: Any) -> None:
        dbapi = pooled.driver_connection
        if not self.is_sqlite and dbapi is not None and not dbapi.closed:
            dbapi.autocommit = False  # the pool's next user may begin a transaction
        pooled.close()

    @contextmanager
    def _read_cursor(self) -> Iterator[Any]:
        """A cursor on the held connection (this thread's), else on one from the pool."""
        held = self._held
        pooled = held if held is not None and self._holder == threading.get_ident() else None
        if pooled is None:
            pooled = self._checkout()
        try:
            cursor = pooled.driver_connection.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        except (self.driver_error, OverflowError) as exc:
            if pooled is held:
                self._held = held = None  # let go of it below, like a connection of the pool
            pooled.invalidate()  # whatever state it is in, it is not handed out again
            raise database_error(exc, self.url) from None
        finally:
            if pooled is not held:
                self._checkin(pooled)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session whose database errors arrive as StoreError, like the raw paths'."""
        try:
            with Session(self.engine) as session:
                yield session
        except (SQLAlchemyError, self.driver_error, OverflowError) as exc:
            raise database_error(exc, self.url) from None

    def sql(self, statement: str) -> str:
        """`statement` written with `?` placeholders, in the driver's paramstyle."""
        return statement if self.is_sqlite else statement.replace("?", "%s")
