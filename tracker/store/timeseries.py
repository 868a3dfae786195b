"""The time series: snapshot rows written in bulk, one strategy per dialect, and read back.

Bulk paths go straight to the DB-API cursor with bound parameters: no ORM object per row.
SQLite takes `executemany` of `INSERT OR IGNORE`; PostgreSQL takes `COPY`, with a savepoint
and a set-based fallback that keeps writes idempotent.

Rows keep one shape on both sides of the store, (…, period in seconds, sig, flags); the table
holds the period in days and the figures above the flag bits (`tracker.store.models.Snapshot`).
The conversion is the store's edge: in the SQL that reads (POINT_COLUMNS) and, on writing, in
SQLite's insert and in the rows PostgreSQL's COPY takes (`stored`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from operator import attrgetter
from typing import Any, Protocol

from tracker.core import Observation, Sudden, clash_examples, split_collisions
from tracker.errors import Clashed, StoreError, StoreRefused
from tracker.store.engine import Gateway
from tracker.store.models import DAY, FLAG_BITS, SIG_SHIFT, SUDDEN
from tracker.store.recent import NOTHING, Recent
from tracker.store.series import SeriesIndex
from tracker.timeutil import to_epoch

# A snapshot row as the bulk path takes it: series_id, ts, value, period (seconds, whole
# days), sig, flags.
Row = tuple[int, int, int, int | None, int | None, int | None]
# (ts, value, period, sig, flags) of one series.
PointRow = tuple[int, int, int | None, int | None, int | None]

# The bounds of a range given open (past any time a store holds).
EARLIEST, LATEST = -(2**62), 2**62

assert (DAY, SIG_SHIFT, FLAG_BITS) == (86_400, 2, 3), "the statements below spell them out"
# A stored row's period in seconds (NULL: an instant), as the column `period` held it.
PERIOD = "days * 86400"
# A stored row's (period in seconds, sig, flags), each NULL where there is none (an instant,
# an exact value, no flag), as the columns `period`, `sig` and `flags` held them. CASE, not
# nullif(): no function call per row (SQLite, 100,000 rows: +4.6% on the old columns' read
# where nullif() cost +7%).
POINT_COLUMNS = (
    PERIOD
    + ", CASE WHEN flags > 3 THEN flags >> 2 END, CASE WHEN flags & 3 <> 0 THEN flags & 3 END"
)
# The stored columns of a row's (period, sig, flags), the period whole days (`write` refuses
# others), the flags NULL when there is no flag and no figure (bits beyond FLAG_BITS are none).
SQLITE_STORED = "? / 86400, nullif(ifnull(? << 2, 0) | ifnull(? & 3, 0), 0)"
_PERIOD = attrgetter("period")
_ONE_DAY = timedelta(seconds=DAY)


def stored(rows: Iterable[Row]) -> Iterator[tuple[int, int, int, int | None, int | None]]:
    """`rows` as the table stores them: (series_id, ts, value, days, flags)."""
    for sid, ts, value, period, sig, flags in rows:
        yield (
            sid,
            ts,
            value,
            None if period is None else period // DAY,
            ((flags or 0) & FLAG_BITS | sig << SIG_SHIFT)
            if sig
            else (flags or 0) & FLAG_BITS or None,
        )


class RowWriter(Protocol):
    """Writes rows already keyed by series id; returns how many were new."""

    def __call__(self, rows: Sequence[Row]) -> int: ...


class SQLiteInsert:
    """`INSERT OR IGNORE` through `executemany`: SQLite's fastest idempotent bulk path."""

    def __init__(self, gateway: Gateway) -> None:
        self._db = gateway

    def __call__(self, rows: Sequence[Row]) -> int:
        with self._db.cursor(write=True) as cursor:
            cursor.executemany(
                "INSERT OR IGNORE INTO snapshot (series_id, ts, value, days, flags) "
                "VALUES (?, ?, ?, " + SQLITE_STORED + ")",
                rows,
            )
            return int(cursor.rowcount)


class PostgresCopy:
    """`COPY` into the table; when a row is already there, a scratch table and one insert.

    COPY is ~8x faster than executemany on PostgreSQL; idempotence comes from the slow path,
    a scratch table and one set-based insert that skips what is there.
    """

    def __init__(self, gateway: Gateway) -> None:
        self._db = gateway

    def __call__(self, rows: Sequence[Row]) -> int:
        with self._db.cursor(write=True) as cursor:
            # Fast path: COPY straight into the table. A row that is already there (a retried
            # round, a re-import) makes it fail; then only this part is undone.
            cursor.execute("SAVEPOINT bulk_copy")
            try:
                with cursor.copy(
                    "COPY snapshot (series_id, ts, value, days, flags) FROM STDIN"
                ) as copy:
                    for row in stored(rows):
                        copy.write_row(row)
            except self._db.unique_violation:
                cursor.execute("ROLLBACK TO SAVEPOINT bulk_copy")
            else:
                cursor.execute("RELEASE SAVEPOINT bulk_copy")
                return len(rows)
            return self._fallback(cursor, rows)

    def _fallback(self, cursor: Any, rows: Sequence[Row]) -> int:
        """The slow path: the rows into a scratch table, then one insert of those not there."""
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS snapshot_in "
            "(series_id integer, ts bigint, value bigint, days smallint, flags smallint) "
            "ON COMMIT DELETE ROWS"
        )
        with cursor.copy("COPY snapshot_in (series_id, ts, value, days, flags) FROM STDIN") as copy:
            for row in stored(rows):
                copy.write_row(row)
        cursor.execute(
            "INSERT INTO snapshot (series_id, ts, value, days, flags) "
            "SELECT DISTINCT ON (series_id, ts) series_id, ts, value, days, flags "
            "FROM snapshot_in ON CONFLICT (series_id, ts) DO NOTHING"
        )
        return int(cursor.rowcount)


# The write strategy of each dialect and driver the store supports.
WRITERS: dict[tuple[str, str], Callable[[Gateway], RowWriter]] = {
    ("sqlite", "pysqlite"): SQLiteInsert,
    ("postgresql", "psycopg"): PostgresCopy,
}


def writer_for(gateway: Gateway) -> RowWriter:
    """The bulk write strategy of the gateway's dialect; StoreError for one tracker lacks."""
    make = WRITERS.get(gateway.dialect)
    if make is None:
        known = ", ".join(f"{name}+{driver}" for name, driver in WRITERS)
        name, driver = gateway.dialect
        raise StoreError(f"database {name}+{driver} is not supported: use one of {known}")
    return make(gateway)


class TimeSeries:
    """Snapshots: written idempotently on (series, time), read one series at a time."""

    def __init__(self, gateway: Gateway, series: SeriesIndex) -> None:
        self._db = gateway
        self._series = series
        self._write_rows = writer_for(gateway)
        self.recent = Recent()  # each series' newest value, for the sudden-change check

    def write(
        self,
        source: str,
        observations: Iterable[Observation],
        flags: int | None = None,
        sudden: Sudden | None = None,
    ) -> int:
        """Store observations; returns how many were new. Idempotent on (series, time).

        With `sudden`, a value beyond its factor from the series' previous value is flagged
        SUDDEN (and stored all the same). One series at one time twice with different values
        is refused, every value of it (neither COPY nor INSERT OR IGNORE may keep one of them
        silently): the rest is stored, then Clashed says what was refused. A period that is
        not whole days is refused, the whole write, before anything is stored (never rounded:
        a round's values were checked by `unstorable`; this is for any other writer)."""
        observations = list(observations)
        _whole_days(observations)
        clashes: list[list[Observation]] = []
        # A series and time twice: look closer, before any series is created (a new series
        # whose every value is refused is not made, to sit there with no points).
        if len({(o.metric, o.key, o.at) for o in observations}) != len(observations):
            observations, _, clashes = split_collisions(observations)
        rows = _rows(self._series.ids(source, observations), observations, flags)
        if sudden is not None and rows:
            rows = self._flag_sudden(rows, sudden)
        new = self.write_rows(rows)
        if clashes:
            refused = sum(len(group) for group in clashes)
            raise Clashed(
                f"{refused} value(s) refused: one series and time twice with different values "
                f"({clash_examples(clashes)}); {new} other value(s) stored",
                stored=new,
                refused=refused,
            )
        return new

    def _flag_sudden(self, rows: list[Row], sudden: Sudden) -> list[Row]:
        """`rows` with SUDDEN set on each value too far from the one before it in its series
        (the stored one before the batch, then the batch's own, in time order). Returned in
        (series, time) order, the order of the table's key: an import's rows go in faster."""
        # A series and time are one row here (`write` saw to it): no compare goes past them.
        out = sorted(rows)
        first: dict[int, int] = {}
        for row in out:
            first.setdefault(row[0], row[1])
        previous, ask = self.recent.before(first)
        if ask:
            previous.update(self._ask_before({sid: first[sid] for sid in ask}))
        for i, (sid, ts, value, period, sig, flags) in enumerate(out):
            last = previous.get(sid)
            if last is not None and sudden.between(last, value):
                out[i] = (sid, ts, value, period, sig, (flags or 0) | SUDDEN)
            previous[sid] = value
        return out

    def _ask_before(self, first: dict[int, int]) -> dict[int, int | None]:
        """Per series, the stored value before the given time (None: there is none), from
        the series' newest value (which `recent` then knows) when the time is after it."""
        newest = self._newest(list(first))
        self.recent.learn(newest.items())
        before: dict[int, int | None] = {}
        past: dict[int, int] = {}
        for sid, ts in first.items():
            if newest[sid][0] < ts:
                before[sid] = newest[sid][1]
            else:  # written into the past (a backfill, an import): what came before it
                past[sid] = ts
        if past:
            found = self._values_before(past)
            before.update({sid: found.get(sid) for sid in past})
        return before

    def _newest(self, sids: list[int]) -> dict[int, tuple[int, int | None]]:
        """Per series, its newest stored (ts, value); NOTHING for a series without one."""
        found: dict[int, tuple[int, int | None]] = {}
        for start in range(0, len(sids), 500):
            chunk = sids[start : start + 500]
            placeholders = ", ".join(["(?)"] * len(chunk))
            with self._db.cursor() as cursor:
                cursor.execute(
                    self._db.sql(
                        # Two probes of the key's index per series (a join on max(ts)
                        # takes PostgreSQL 3x as long).
                        f"WITH want (sid) AS (VALUES {placeholders}) SELECT sid, "
                        "(SELECT ts FROM snapshot WHERE series_id = sid "
                        "ORDER BY ts DESC LIMIT 1), "
                        "(SELECT value FROM snapshot WHERE series_id = sid "
                        "ORDER BY ts DESC LIMIT 1) FROM want"
                    ),
                    chunk,
                )
                for sid, ts, value in cursor.fetchall():
                    found[int(sid)] = NOTHING if ts is None else (int(ts), int(value))
        return found

    def _values_before(self, first: dict[int, int]) -> dict[int, int]:
        """Per series, its newest stored value before the given time (none: left out)."""
        found: dict[int, int] = {}
        items = list(first.items())
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            placeholders = ", ".join(["(?, ?)"] * len(chunk))
            with self._db.cursor() as cursor:
                cursor.execute(
                    self._db.sql(
                        f"WITH want (sid, before) AS (VALUES {placeholders}) "
                        "SELECT sid, (SELECT value FROM snapshot WHERE series_id = sid "
                        "AND ts < before ORDER BY ts DESC LIMIT 1) FROM want"
                    ),
                    [v for pair in chunk for v in pair],
                )
                for sid, value in cursor.fetchall():
                    if value is not None:
                        found[int(sid)] = int(value)
        return found

    def sudden(self, since: int, limit: int = 20) -> list[tuple[int, int, int]]:
        """(series_id, ts, value) of the newest values flagged SUDDEN since a time."""
        with self._db.cursor() as cursor:
            cursor.execute(
                self._db.sql(
                    "SELECT series_id, ts, value FROM snapshot "
                    f"WHERE {self._sudden_predicate} AND ts >= ? ORDER BY ts DESC LIMIT ?"
                ),
                (since, limit),
            )
            return [(int(s), int(t), int(v)) for s, t, v in cursor.fetchall()]

    @property
    def _sudden_predicate(self) -> str:
        # The partial index's own predicate, so the planner uses it (see migration 0003).
        return "(flags & 2) != 0" if self._db.is_sqlite else "(flags & 2) <> 0"

    def write_rows(self, rows: Sequence[Row]) -> int:
        """The bulk path: rows already keyed by series id. Returns the count of new rows.
        Unchecked: a period must be whole days (`write` refuses others; here they would be
        cut to whole days)."""
        if not rows:
            return 0
        new = self._write_rows(rows)
        self.recent.wrote(rows, new == len(rows))
        return new

    def history(
        self, series_id: int, since: int | None = None, until: int | None = None
    ) -> list[tuple[int, int]]:
        """(ts, value) pairs of one series, oldest first; `until` is exclusive."""
        lo = since if since is not None else EARLIEST
        hi = until if until is not None else LATEST
        with self._db.cursor() as cursor:
            cursor.execute(
                self._db.sql(
                    "SELECT ts, value FROM snapshot WHERE series_id = ? AND ts >= ? AND ts < ? "
                    "ORDER BY ts"
                ),
                (series_id, lo, hi),
            )
            return cursor.fetchall()

    def points(
        self, series_id: int, since: int | None = None, until: int | None = None
    ) -> list[PointRow]:
        """Full rows (ts, value, period, sig, flags) of one series, oldest first."""
        lo = since if since is not None else EARLIEST
        hi = until if until is not None else LATEST
        with self._db.cursor() as cursor:
            cursor.execute(
                self._db.sql(
                    "SELECT ts, value, " + POINT_COLUMNS + " FROM snapshot "
                    "WHERE series_id = ? AND ts >= ? AND ts < ? ORDER BY ts"
                ),
                (series_id, lo, hi),
            )
            return cursor.fetchall()

    def latest(self, series_id: int, at_or_before: int | None = None) -> tuple[int, int] | None:
        """The newest (ts, value) of one series at or before a time, if there is one."""
        hi = at_or_before if at_or_before is not None else LATEST
        with self._db.cursor() as cursor:
            cursor.execute(
                self._db.sql(
                    "SELECT ts, value FROM snapshot WHERE series_id = ? AND ts <= ? "
                    "ORDER BY ts DESC LIMIT 1"
                ),
                (series_id, hi),
            )
            row = cursor.fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def count(self) -> int:
        """Every snapshot stored, all series."""
        with self._db.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM snapshot")
            return int(cursor.fetchone()[0])


def _whole_days(observations: Sequence[Observation]) -> None:
    """StoreRefused when a value's period is not whole days (the table keeps days)."""
    for every in set(map(_PERIOD, observations)):
        if every is not None and every % _ONE_DAY:
            raise StoreRefused(
                f"a period of {every} is not a whole number of days: the store keeps a "
                "value's period in days"
            )


def _rows(ids: Sequence[int], observations: Sequence[Observation], flags: int | None) -> list[Row]:
    """Observations as snapshot rows. A round's values share one time: convert it once."""
    rows: list[Row] = []
    at, ts = None, 0
    every, period = None, None  # an import's values share one period: convert it once too
    for sid, obs in zip(ids, observations, strict=True):
        if obs.at is not at:
            at, ts = obs.at, to_epoch(obs.at)
        if obs.period is not every:
            every = obs.period
            period = int(every.total_seconds()) if every else None
        rows.append((sid, ts, obs.value, period, obs.sig, flags))
    return rows
