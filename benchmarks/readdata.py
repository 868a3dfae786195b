"""A database shaped like a busy tracker's, for the read-path benchmarks: many series that are
only names (50,000 chart entries), a few with long histories (up to 10 M snapshot rows).

Built once per shape and kept: a SQLite file under the given directory, a PostgreSQL schema
named after the shape. A second run finds it complete (a marker row) and reuses it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from benchmarks.data import STEP, T0, Shape, key_order
from benchmarks.seriesrows import SeriesRow, insert_series
from tracker.store import Database

BATCH_SERIES = 20  # series written per bulk call: 200,000 rows at 10,000 points


@dataclass(frozen=True, slots=True)
class ReadShape:
    """`tracked` series with `points` each, among `names` series with no points."""

    tracked: int
    points: int
    names: int = 50_000

    @property
    def rows(self) -> int:
        return self.tracked * self.points

    def key(self) -> str:
        return f"r{self.tracked}x{self.points}n{self.names}"


def subject(i: int) -> str:
    """The subject of tracked series `i` (1-based): mixed case, so lookups casefold."""
    return f"Tracked Subject {i}"


def pg_url(base: str, schema: str) -> str:
    import psycopg

    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def build(url: str, shape: ReadShape) -> float:
    """Fill the database at `url` with `shape` unless already done; seconds spent (0: reused)."""
    store = Database.open(url)
    try:
        store.upgrade()
        if _complete(store, shape):
            return 0.0
        start = time.perf_counter()
        _series(store, shape)
        tracked = Shape(series=shape.tracked, times=shape.points)
        batch = []
        for rows in key_order(tracked):
            batch.extend(rows)
            if len(batch) >= BATCH_SERIES * shape.points:
                store.write_rows(batch)
                batch = []
        store.write_rows(batch)
        with store.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO sourcestate (source, next_run, updated) VALUES (?, NULL, ?)"
                if store.is_sqlite
                else "INSERT INTO sourcestate (source, next_run, updated) VALUES (%s, NULL, %s)",
                (f"bench:{shape.key()}", 0),
            )
            conn.exec_driver_sql("ANALYZE")
        return time.perf_counter() - start
    finally:
        store.close()


def _complete(store: Database, shape: ReadShape) -> bool:
    with store.engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT count(*) FROM sourcestate WHERE source = " + f"'bench:{shape.key()}'"
        ).scalar()
        if found:
            return True
        if conn.exec_driver_sql("SELECT count(*) FROM series").scalar():
            raise SystemExit(f"{store.url}: holds another shape's data; give another place")
    return False


def _series(store: Database, shape: ReadShape) -> None:
    """Tracked series take ids 1..tracked (the rows of `key_order` use them), names follow."""
    labels = {"list": "XX", "category": "TV"}
    rows: list[SeriesRow] = []
    for i in range(1, shape.tracked + 1):
        name = subject(i)
        rows.append((i, "bench", "followers", f"id:{i}", name, f"h{i}", labels))
    for j in range(shape.names):
        i = shape.tracked + 1 + j
        title = f"Some Title {j // 90}"  # ~90 charts per title, as a show in many countries
        key = f"{title}|Season 1|C{j % 90}|TV"
        rows.append((i, "charts", "chart_rank", key, title, title, labels))
    with store.engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        insert_series(raw.cursor(), rows, pg=not store.is_sqlite)


def window(start: int, points: int) -> tuple[int, int]:
    """(since, until) of `points` consecutive points from point `start`."""
    since = T0 + start * STEP
    return since, since + points * STEP
