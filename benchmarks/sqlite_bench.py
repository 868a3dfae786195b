"""SQLite: bulk insert, one series' history and bytes per snapshot, store against raw sqlite3."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import statistics
from pathlib import Path

from benchmarks.data import Shape, collection_order, key_order
from benchmarks.history import Query, plan_queries, run_queries
from benchmarks.timing import Measure, frozen_heap, throughput, timed
from tracker.store import SQLITE_PRAGMAS, Database, Row, Store  # the same pragmas the store sets
from tracker.store.timeseries import SQLITE_STORED

# Rows as the store takes them (period in seconds, sig, flags) into the table's columns (days,
# the figures above the two flag bits): the store's own conversion.
INSERT = (
    "INSERT INTO snapshot (series_id, ts, value, days, flags) VALUES (?, ?, ?, "
    + SQLITE_STORED
    + ")"
)
HISTORY = "SELECT ts, value FROM snapshot WHERE series_id = ? AND ts >= ? AND ts < ? ORDER BY ts"
CACHE_FORMAT = 1  # bump when the way the cached history database is built changes


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def fresh_store(path: Path) -> Store:
    """A store on a new file, migrated to the newest schema, its connection pool warmed."""
    _remove(path)
    store = Database.open(f"sqlite:///{path}")
    store.upgrade()
    store.count()
    return store


def snapshot_ddl(store_path: Path) -> str:
    with sqlite3.connect(store_path) as conn:
        row = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'snapshot'").fetchone()
    conn.close()
    return str(row[0])


def raw_connection(path: Path, ddl: str | None = None) -> sqlite3.Connection:
    """A sqlite3 connection with the store's pragmas; creates the table when `ddl` is given."""
    if ddl is not None:
        _remove(path)
    conn = sqlite3.connect(path)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    if ddl is not None:
        conn.execute(ddl)
        conn.commit()
    return conn


def store_snapshot_ddl(workdir: Path) -> str:
    """The CREATE TABLE of `snapshot` exactly as the store's migrations make it."""
    probe = workdir / "schema-probe.db"
    fresh_store(probe).close()
    ddl = snapshot_ddl(probe)
    _remove(probe)
    return ddl


def _store_insert(path: Path, batches: list[list[Row]]) -> tuple[float, int]:
    store = fresh_store(path)
    new = 0

    def run() -> None:
        nonlocal new
        for batch in batches:
            new += store.write_rows(batch)

    seconds = timed(run)
    store.close()
    return seconds, new


def _raw_insert(path: Path, batches: list[list[Row]], ddl: str) -> tuple[float, int]:
    conn = raw_connection(path, ddl)

    def run() -> None:
        for batch in batches:
            conn.executemany(INSERT, batch)
            conn.commit()

    seconds = timed(run)
    count = int(conn.execute("SELECT count(*) FROM snapshot").fetchone()[0])
    conn.close()
    return seconds, count


def bulk_insert(workdir: Path, shape: Shape, repeat: int = 1) -> tuple[list[Measure], Path, Path]:
    """Collection-order rows through `Database.write_rows` against raw executemany, both one call
    per round (a transaction each, as the daemon writes) and one call with every row.

    Returns the measures and the store- and raw-written database files (one call per round)."""
    ddl = store_snapshot_ddl(workdir)
    rounds = list(collection_order(shape))
    modes: dict[str, list[list[Row]]] = {
        "round": rounds,
        "all": [[row for batch in rounds for row in batch]],
    }
    seconds: dict[str, list[float]] = {}
    counted: dict[str, int] = {}
    with frozen_heap():
        for i in range(repeat):
            for kind, batches in modes.items():
                for side in ("store", "raw") if i % 2 == 0 else ("raw", "store"):
                    path = workdir / f"bulk-{side}-{kind}.db"
                    if side == "store":
                        took, count = _store_insert(path, batches)
                    else:
                        took, count = _raw_insert(path, batches, ddl)
                    seconds.setdefault(f"{side}_{kind}", []).append(took)
                    counted[f"{side}_{kind}"] = count
    del rounds, modes
    for side in ("store", "raw"):
        _remove(workdir / f"bulk-{side}-all.db")
    measures = []
    for kind, title in (
        ("round", f"1 call/round ({shape.series} rows)"),
        ("all", "1 call, all rows"),
    ):
        store_s = statistics.median(seconds[f"store_{kind}"])
        raw_s = statistics.median(seconds[f"raw_{kind}"])
        notes = {
            "rows": shape.rows,
            "rows_new_store": counted[f"store_{kind}"],
            "rows_raw": counted[f"raw_{kind}"],
            "seconds_store": [round(t, 3) for t in seconds[f"store_{kind}"]],
            "seconds_raw": [round(t, 3) for t in seconds[f"raw_{kind}"]],
            "baseline": "sqlite3 executemany INSERT, same WITHOUT ROWID table and pragmas",
        }
        measures.append(throughput(f"sqlite insert {title}", shape.rows, store_s, raw_s, notes))
    return measures, workdir / "bulk-store-round.db", workdir / "bulk-raw-round.db"


def _bytes(path: Path) -> dict[str, float]:
    """Sizes of a database per snapshot row: as written, after VACUUM, and by dbstat."""
    conn = raw_connection(path)
    rows = conn.execute("SELECT count(*) FROM snapshot").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    as_written = os.path.getsize(path) / rows
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    vacuumed = os.path.getsize(path) / rows
    pages, payload = conn.execute(
        "SELECT sum(pgsize), sum(payload) FROM dbstat WHERE name = 'snapshot'"
    ).fetchone()
    conn.close()
    return {
        "rows": rows,
        "file_as_written": as_written,
        "file_after_vacuum": vacuumed,
        "dbstat_pages": pages / rows,
        "dbstat_payload": payload / rows,
    }


def storage(store_db: Path, raw_db: Path, goal: float = 24.0) -> list[Measure]:
    """Bytes per snapshot of the store-written file, against the raw-written one."""
    store, raw = _bytes(store_db), _bytes(raw_db)
    notes = {"store": store, "raw": raw}
    return [
        Measure(
            "sqlite bytes/snapshot, file after VACUUM",
            "B",
            store["file_after_vacuum"],
            raw["file_after_vacuum"],
            f"<= {goal:g} B",
            store["file_after_vacuum"] <= goal,
            notes,
        ),
        Measure(
            "sqlite bytes/snapshot, dbstat pages",
            "B",
            store["dbstat_pages"],
            raw["dbstat_pages"],
            f"<= {goal:g} B",
            store["dbstat_pages"] <= goal,
            {},
        ),
        Measure(
            "sqlite bytes/snapshot, as written (info)",
            "B",
            store["file_as_written"],
            raw["file_as_written"],
            "-",
            None,
            {},
        ),
    ]


def history_db(workdir: Path, shape: Shape) -> Path:
    """The cached history database: the store's schema, filled in key order by raw executemany
    with journaling off (the fastest way), rebuilt when the shape or the schema changes."""
    schema = hashlib.sha256(store_snapshot_ddl(workdir).encode()).hexdigest()[:10]
    path = workdir / f"history-{shape.key()}-{schema}-f{CACHE_FORMAT}.db"
    if path.exists():
        return path
    building = path.with_suffix(".building")
    fresh_store(building).close()
    conn = sqlite3.connect(building)
    for pragma in (
        "journal_mode=DELETE",
        "journal_mode=OFF",
        "synchronous=OFF",
        "cache_size=-262144",
    ):
        conn.execute(f"PRAGMA {pragma}")
    for batch in key_order(shape):
        conn.executemany(INSERT, batch)
    conn.commit()
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    building.rename(path)
    return path


def history(db: Path, shape: Shape, windows: tuple[int, ...], queries: int) -> list[Measure]:
    """`Store.history` against the same query through sqlite3, on random series."""
    store = Database.open(f"sqlite:///{db}")
    raw = raw_connection(db)
    with open(db, "rb") as f:  # the OS page cache holds the file for both sides alike
        while f.read(1 << 24):
            pass

    def raw_history(q: Query) -> list[tuple[int, int]]:
        return raw.execute(HISTORY, (q.series_id, q.since, q.until)).fetchall()

    def store_history(q: Query) -> list[tuple[int, int]]:
        return store.history(q.series_id, q.since, q.until)

    measures = []
    for window in windows:
        plan = plan_queries(shape, window, queries)
        measures += run_queries(f"sqlite history {window} pts", plan, store_history, raw_history)
    store.close()
    raw.close()
    return measures
