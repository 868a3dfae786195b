"""The newest value of every series at once: what a scrape of /metrics reads.

One statement, whatever the number of series: the (series_id, ts) primary key makes each
series' MAX(ts) an index look-up, so a store of ~50,000 series answers in one pass.
"""

from __future__ import annotations

from tracker.store.engine import Gateway

# (series_id, ts, value)
LatestRow = tuple[int, int, int]


def latest_values(gateway: Gateway) -> list[LatestRow]:
    """(series_id, ts, value) of the newest point of every series that has one."""
    with gateway.cursor() as cursor:
        cursor.execute(
            "SELECT s.series_id, s.ts, s.value FROM snapshot s "
            "JOIN (SELECT series_id, MAX(ts) AS ts FROM snapshot GROUP BY series_id) m "
            "ON s.series_id = m.series_id AND s.ts = m.ts ORDER BY s.series_id"
        )
        return [(int(sid), int(ts), int(value)) for sid, ts, value in cursor.fetchall()]
