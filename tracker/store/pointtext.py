"""A page of one series' points written as JSON text by the database itself.

The web's points answer for a series with no "not in chart" weeks is its rows, each as one
object, joined by commas. Written here by the database (SQLite's `group_concat`, PostgreSQL's
`string_agg`) the text comes back as one string: no tuple per row for Python to build and
format (a 10,000-point page in one process, load ~2.4: ~3.6 ms for its text against ~4.0 ms
to fetch its rows alone, and ~1.5 ms more to write them; benchmarks/web.py measures the
endpoint).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from tracker.store.engine import Gateway
from tracker.store.models import FLAG_BITS
from tracker.store.timeseries import EARLIEST, LATEST, PERIOD

# `tails[flags & FLAG_BITS]` closes a point's object (its flags' members and the brace).
assert FLAG_BITS == 3, "the statements below spell out the four cases of two flag bits"

# A point's object; the common one (no period, no flag) is written by the first, shorter
# branch (~13% of the statement's time). The period is written in seconds, as the store's rows
# give it (`tracker.store.timeseries.PERIOD`), the flags are the stored column's low bits
# (the significant figures above them are not part of the object).
_OBJECT = (
    "CASE WHEN days IS NULL AND COALESCE(flags, 0) & 3 = 0"
    " THEN '{\"ts\":' || ts || ',\"value\":' || value || '}'"
    " ELSE '{\"ts\":' || ts || ',\"value\":' || value"
    " || CASE WHEN days IS NULL THEN '' ELSE ',\"period\":' || (" + PERIOD + ") END"
    " || CASE COALESCE(flags, 0) & 3 WHEN 0 THEN ? WHEN 1 THEN ? WHEN 2 THEN ? ELSE ? END END"
)
_RANGE = "FROM snapshot WHERE series_id = ? AND ts >= ? AND ts < ?"
_COUNT = "SELECT COUNT(*) " + _RANGE
# Fixed fragments joined with `+` (values are all bound parameters).
# SQLite orders an aggregate's input from 3.44 on; before, `group_concat` takes the ordered
# subquery's rows as it yields them, which SQLite does not promise (the order is checked byte
# for byte by tests/test_web_api.py on the SQLite the suite runs).
_SQLITE_ORDER = " ORDER BY ts" if sqlite3.sqlite_version_info >= (3, 44, 0) else ""
_SQLITE = (
    "SELECT COUNT(*), group_concat(point, ','" + _SQLITE_ORDER + ") FROM "
    "(SELECT ts, " + _OBJECT + " AS point " + _RANGE + " ORDER BY ts LIMIT ? OFFSET ?)"
)
_POSTGRES = (
    "SELECT COUNT(*), string_agg(point, ',' ORDER BY ts) FROM "
    "(SELECT ts, " + _OBJECT + " AS point " + _RANGE + " ORDER BY ts LIMIT ? OFFSET ?) page"
)
# Where the last of several objects starts (a value is an integer: no '{' inside one).
_LAST = ',{"ts":'


def point_objects(
    gateway: Gateway,
    series_id: int,
    since: int | None,
    until: int | None,
    offset: int,
    limit: int,
    tails: Sequence[str],
) -> tuple[int, str]:
    """(how many points the series has in [since, until) (None: open), the page
    [offset, offset + limit) of them oldest first, each `{"ts":…,"value":…` (`,"period":…`
    when it has one) closed by `tails[flags & FLAG_BITS]`, joined by commas): "" for an
    empty page.

    The page is read one point longer: when it ends short, what it holds is the total and
    the points are not counted again (~0.3 ms of a 10,000-point page)."""
    if len(tails) != FLAG_BITS + 1:
        raise ValueError(f"tails: need {FLAG_BITS + 1} (one per flag bits), got {len(tails)}")
    statement = _SQLITE if gateway.is_sqlite else _POSTGRES
    span = (
        series_id,
        since if since is not None else EARLIEST,
        until if until is not None else LATEST,
    )
    with gateway.cursor() as cursor:
        cursor.execute(gateway.sql(statement), (*tails, *span, limit + 1, offset))
        found, text = cursor.fetchone()
        text = text or ""
        if found > limit:
            text = text[: text.rindex(_LAST)]
        elif found or not offset:
            return offset + int(found), text
        cursor.execute(gateway.sql(_COUNT), span)
        (total,) = cursor.fetchone()
    return int(total), text
