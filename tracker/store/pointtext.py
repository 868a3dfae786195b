"""A page of one series' points written as JSON text by the database itself.

The web's points answer for a series with no "not in chart" weeks is its rows, each as one
object, joined by commas. Written here by the database (SQLite's `group_concat`, PostgreSQL's
`string_agg`) the text comes back as one string: no tuple per row for Python to build and
format (a 10,000-point page: ~3.8 ms for the text against ~3.9 ms to fetch the rows alone
and ~1.5 ms more to write them; benchmarks/web.py measures the endpoint).
"""

from __future__ import annotations

from collections.abc import Sequence

from tracker.store.engine import Gateway
from tracker.store.models import BACKFILLED, SUDDEN

# `tails[flags & FLAG_BITS]` closes a point's object (its flags' members and the brace).
FLAG_BITS = BACKFILLED | SUDDEN
assert FLAG_BITS == 3, "the statements below spell out the four cases of two flag bits"

_OBJECT = (
    "'{\"ts\":' || ts || ',\"value\":' || value"
    " || CASE WHEN period IS NULL THEN '' ELSE ',\"period\":' || period END"
    " || CASE COALESCE(flags, 0) & 3 WHEN 0 THEN ? WHEN 1 THEN ? WHEN 2 THEN ? ELSE ? END"
)
_RANGE = "FROM snapshot WHERE series_id = ? AND ts >= ? AND ts < ?"
# Fixed fragments joined with `+` (values are all bound parameters).
_SQLITE = (
    "SELECT (SELECT COUNT(*) " + _RANGE + "), (SELECT group_concat(point, ',') FROM "
    "(SELECT " + _OBJECT + " AS point " + _RANGE + " ORDER BY ts LIMIT ? OFFSET ?))"
)
_POSTGRES = (
    "SELECT (SELECT COUNT(*) " + _RANGE + "), (SELECT string_agg(point, ',' ORDER BY ts) "
    "FROM (SELECT ts, " + _OBJECT + " AS point " + _RANGE + " ORDER BY ts LIMIT ? OFFSET ?)"
    " page)"
)


def point_objects(
    gateway: Gateway,
    series_id: int,
    lo: int,
    hi: int,
    offset: int,
    limit: int,
    tails: Sequence[str],
) -> tuple[int, str]:
    """(how many points the series has in [lo, hi), the page [offset, offset + limit) of them
    oldest first, each `{"ts":…,"value":…` (`,"period":…` when it has one) closed by
    `tails[flags & FLAG_BITS]`, joined by commas): "" for an empty page."""
    if len(tails) != FLAG_BITS + 1:
        raise ValueError(f"tails: need {FLAG_BITS + 1} (one per flag bits), got {len(tails)}")
    statement = _SQLITE if gateway.is_sqlite else _POSTGRES
    span = (series_id, lo, hi)
    with gateway.cursor() as cursor:
        cursor.execute(gateway.sql(statement), (*span, *tails, *span, limit, offset))
        total, text = cursor.fetchone()
    return int(total), text or ""
