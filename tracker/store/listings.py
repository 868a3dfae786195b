"""Which periods a listing was published for: the distinct starts of the periods of one length
that any of a set of series (a chart's entries) has a point for.

A weekly chart lists every entry of its week, so a week in which some entry of the listing has
a point is a week the listing is known to exist: an entry without a point that week was not in
the chart. Only the snapshot table is read (its (series_id, ts) key makes each series a range
look-up); which series make up a listing is the caller's to say, by id.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracker.store.engine import Gateway, id_lists
from tracker.store.models import DAY

_EARLIEST, _LATEST = -(2**62), 2**62


def period_starts(
    gateway: Gateway,
    series_ids: Sequence[int],
    period: int,
    since: int | None = None,
    until: int | None = None,
) -> list[int]:
    """The distinct starts in [since, until) of the `period`-second periods that any of
    `series_ids` has a point for, oldest first: one statement per 500 ids."""
    if period % DAY:  # the table keeps whole days: no point has a period of this length
        return []
    lo = since if since is not None else _EARLIEST
    hi = until if until is not None else _LATEST
    found: set[int] = set()
    for chunk, placeholders in id_lists(sorted(set(series_ids))):
        with gateway.cursor() as cursor:
            cursor.execute(
                gateway.sql(
                    f"SELECT DISTINCT ts FROM snapshot WHERE series_id IN ({placeholders}) "
                    "AND days = ? AND ts >= ? AND ts < ?"
                ),
                [*chunk, period // DAY, lo, hi],
            )
            found.update(int(ts) for (ts,) in cursor.fetchall())
    return sorted(found)
