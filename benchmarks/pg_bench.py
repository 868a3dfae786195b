"""PostgreSQL: bulk insert and one series' history, store against raw psycopg.

Everything lives in its own database (`tracker_bench` by default, created when missing), one
schema per role: `bulk_store` / `bulk_raw` are recreated for every insert run, `bulk_template`
holds the store's table the raw one copies, `hist_s<series>_t<times>` the cached history table
with its cache key in the schema's comment.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Iterable
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from benchmarks.data import Shape, collection_order
from benchmarks.history import Query, plan_queries, run_queries
from benchmarks.timing import Measure, frozen_heap, throughput, timed
from tracker.store import Database, Row, Store
from tracker.store.timeseries import stored

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tracker_bench"
COPY = "COPY snapshot (series_id, ts, value, days, flags) FROM STDIN"
HISTORY = "SELECT ts, value FROM snapshot WHERE series_id = %s AND ts >= %s AND ts < %s ORDER BY ts"
CACHE_FORMAT = 1


def in_schema(url: str, schema: str) -> str:
    """`url` with the connection's search_path set to `schema` (libpq `options`)."""
    return f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"


def ensure_database(url: str) -> None:
    """Create the benchmark database when missing, from the server's `postgres` database."""
    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')


def server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]


def _admin(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _store_schema(url: str, schema: str) -> Store:
    """A fresh schema migrated by the store; returns the store on it, its pool warmed."""
    _admin(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE", f"CREATE SCHEMA {schema}")
    store = Database.open(in_schema(url, schema))
    store.upgrade()
    store.count()
    return store


def _raw_schema(url: str, schema: str) -> None:
    """A fresh schema with a table identical to the store's (`bulk_template.snapshot`)."""
    _admin(
        url,
        f"DROP SCHEMA IF EXISTS {schema} CASCADE",
        f"CREATE SCHEMA {schema}",
        f"CREATE TABLE {schema}.snapshot (LIKE bulk_template.snapshot INCLUDING ALL)",
    )


def _copy(conn: psycopg.Connection, batches: Iterable[list[Row]], commit_each: bool = True) -> None:
    """Raw COPY of every batch; a transaction per batch, or one for all."""
    with conn.cursor() as cur:
        for batch in batches:
            with cur.copy(COPY) as copy:
                # The store's rows as the table's columns, as the store's COPY writes them.
                for row in stored(batch):
                    copy.write_row(row)
            if commit_each:
                conn.commit()
    conn.commit()


def _schema_key(url: str) -> str:
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'bulk_template' AND table_name = 'snapshot' "
            "ORDER BY ordinal_position"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'bulk_template' "
            "AND tablename = 'snapshot' ORDER BY indexname"
        ).fetchall()
    text = repr((columns, [i[0].replace("bulk_template.", "") for i in indexes]))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def prepare(url: str) -> None:
    """The benchmark database and the template schema the raw tables copy."""
    ensure_database(url)
    _store_schema(url, "bulk_template").close()


def _store_insert(url: str, batches: list[list[Row]]) -> tuple[float, int]:
    store = _store_schema(url, "bulk_store")
    _admin(url, "CHECKPOINT")
    new = 0

    def run() -> None:
        nonlocal new
        for batch in batches:
            new += store.write_rows(batch)

    seconds = timed(run)
    store.close()
    return seconds, new


def _raw_insert(url: str, batches: list[list[Row]]) -> tuple[float, int]:
    _raw_schema(url, "bulk_raw")
    _admin(url, "CHECKPOINT")
    with psycopg.connect(in_schema(url, "bulk_raw")) as conn:
        seconds = timed(lambda: _copy(conn, batches))
        count = conn.execute("SELECT count(*) FROM snapshot").fetchone()
    return seconds, int(count[0]) if count else 0


def bulk_insert(url: str, shape: Shape, repeat: int = 1) -> list[Measure]:
    """Collection-order rows through `Database.write_rows` against raw COPY into an identical
    table, one call (and transaction) per round and one with every row."""
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
                    insert = _store_insert if side == "store" else _raw_insert
                    took, counted[f"{side}_{kind}"] = insert(url, batches)
                    seconds.setdefault(f"{side}_{kind}", []).append(took)
    del rounds, modes
    _admin(
        url, "DROP SCHEMA IF EXISTS bulk_store CASCADE", "DROP SCHEMA IF EXISTS bulk_raw CASCADE"
    )
    measures = []
    for kind, title in (
        ("round", f"1 call/round ({shape.series} rows)"),
        ("all", "1 call, all rows"),
    ):
        notes = {
            "rows": shape.rows,
            "rows_new_store": counted[f"store_{kind}"],
            "rows_raw": counted[f"raw_{kind}"],
            "seconds_store": [round(t, 3) for t in seconds[f"store_{kind}"]],
            "seconds_raw": [round(t, 3) for t in seconds[f"raw_{kind}"]],
            "baseline": "psycopg COPY (text, write_row) into an identical table",
        }
        store_s = statistics.median(seconds[f"store_{kind}"])
        raw_s = statistics.median(seconds[f"raw_{kind}"])
        measures.append(throughput(f"postgres insert {title}", shape.rows, store_s, raw_s, notes))
    return measures


def history_schema(shape: Shape) -> str:
    return f"hist_s{shape.series}_t{shape.times}"


def history_table(url: str, shape: Shape) -> str:
    """The cached history table (schema `hist_s<series>_t<times>`): the store's schema, filled
    by raw COPY in collection order, so the heap interleaves series as a daemon's does. Its
    cache key (shape, seed, table definition) is the schema's comment. Returns the schema."""
    schema, key = history_schema(shape), f"{shape.key()}-{_schema_key(url)}-f{CACHE_FORMAT}"
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
            (schema,),
        ).fetchone()
    if row is not None and row[0] == key:
        return schema
    _store_schema(url, schema).close()
    with psycopg.connect(in_schema(url, schema)) as conn:
        _copy(conn, collection_order(shape), commit_each=False)
    _admin(url, f"VACUUM ANALYZE {schema}.snapshot", f"COMMENT ON SCHEMA {schema} IS '{key}'")
    return schema


def history(url: str, shape: Shape, windows: tuple[int, ...], queries: int) -> list[Measure]:
    """`Store.history` against the same query through psycopg (autocommit, one connection)."""
    store = Database.open(in_schema(url, history_schema(shape)))
    raw = psycopg.connect(in_schema(url, history_schema(shape)), autocommit=True)

    def raw_history(q: Query) -> list[tuple[int, int]]:
        return raw.execute(HISTORY, (q.series_id, q.since, q.until)).fetchall()

    def store_history(q: Query) -> list[tuple[int, int]]:
        return store.history(q.series_id, q.since, q.until)

    measures = []
    for window in windows:
        plan = plan_queries(shape, window, queries)
        measures += run_queries(f"postgres history {window} pts", plan, store_history, raw_history)
    store.close()
    raw.close()
    return measures
