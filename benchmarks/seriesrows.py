"""Series rows written straight into the tables, as the store keeps them (migrations 0007 and
0008): the benchmarks that build millions of points name their series without going through
the store.

    insert_series(cursor, [(id, source, metric, key, subject, handle, labels), ...], pg)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tracker.store.interned import coded, pack, stored_fold

SeriesRow = tuple[int, str, str, str, str, str, dict[str, str]]


def table_rows(
    series: Iterable[SeriesRow],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows of `name`, `kind` and `series` for `series`, into empty tables."""
    names: dict[str, int] = {}
    kinds: dict[tuple[str, str], int] = {}

    def name(text: str) -> int:
        return names.setdefault(text, len(names) + 1)

    out = []
    for sid, source, metric, key, subject, handle, labels in series:
        kind = kinds.setdefault((source, metric), len(kinds) + 1)
        parts, stored = coded(key, labels)
        out.append(
            (
                sid,
                kind,
                pack(name(part) for part in parts),
                name(subject),
                None if handle == subject else name(handle),
                pack(name(t) for t in stored),
            )
        )
    return (
        [(i, text, stored_fold(text)) for text, i in names.items()],
        [(i, source, metric) for (source, metric), i in kinds.items()],
        out,
    )


def insert_series(cursor: Any, series: Iterable[SeriesRow], pg: bool) -> None:
    """Write `series` into empty tables through a DB-API cursor (sqlite3 or psycopg)."""
    names, kinds, rows = table_rows(series)
    p = "%s" if pg else "?"
    cursor.executemany(f"INSERT INTO name (id, text, fold) VALUES ({p}, {p}, {p})", names)
    cursor.executemany(f"INSERT INTO kind (id, source, metric) VALUES ({p}, {p}, {p})", kinds)
    cursor.executemany(
        f"INSERT INTO series (id, kind, key, subject, label, labels) "
        f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
        rows,
    )
    if pg:
        for table in ("name", "kind", "series"):
            cursor.execute(RESTART[table])


RESTART = {
    "name": "SELECT setval('name_id_seq', (SELECT max(id) FROM name))",
    "kind": "SELECT setval('kind_id_seq', (SELECT max(id) FROM kind))",
    "series": "SELECT setval('series_id_seq', (SELECT max(id) FROM series))",
}
