"""The newest value of each series, as far as this store knows: the sudden-change check of a
round compares each value with the one before it without asking the database.

Only while the store holds the daemon lock (`start` .. `stop`): the daemon is then the one
process collecting, and writes each series' newest value itself, so from its second round on
the check costs no query. Any other store (`run --once`, a backfill, an import, a worker)
asks every time. What another process writes beside the daemon (an import, a backfill) is
not seen here: where it adds a value newer than the one known, the next value is compared
with the older one (one flag may be missed or set wrongly; values are stored all the same).
Writes into the past (below the newest known) never change what is known, and a write that
found some of its rows already stored forgets its series, which are asked again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence

# A series with no value stored: nothing before any time.
NOTHING = (-(2**63), None)
# Enough for every series a daemon tracks; past it, start again (the next rounds ask).
LIMIT = 500_000

Row = tuple[int, int, int, int | None, int | None, int | None]  # as timeseries.Row


class Recent:
    """Per series id, its newest (ts, value) stored (value None: no value stored yet)."""

    def __init__(self) -> None:
        self._newest: dict[int, tuple[int, int | None]] = {}
        self._lock = threading.Lock()
        self._on = False

    def start(self) -> None:
        """Remember from now on (the store took the daemon lock)."""
        with self._lock:
            self._on = True

    def stop(self) -> None:
        """Forget, and remember nothing more (the lock is let go)."""
        with self._lock:
            self._on = False
            self._newest.clear()

    def before(self, first: Mapping[int, int]) -> tuple[dict[int, int | None], list[int]]:
        """For each series and the time of its first new value: the value before it where
        known (None: no value before), and the series to ask the database about."""
        known: dict[int, int | None] = {}
        ask: list[int] = []
        if not self._on:
            return known, list(first)
        for sid, ts in first.items():
            newest = self._newest.get(sid)
            if newest is not None and newest[0] < ts:
                known[sid] = newest[1]
            else:
                ask.append(sid)
        return known, ask

    def learn(self, newest: Iterable[tuple[int, tuple[int, int | None]]]) -> None:
        """What the database said is each series' newest (ts, value) (NOTHING: none)."""
        with self._lock:
            if not self._on:
                return
            if len(self._newest) > LIMIT:
                self._newest.clear()
            self._newest.update(newest)

    def wrote(self, rows: Sequence[Row], all_new: bool) -> None:
        """After a write of `rows`: the series' newest values move on (when every row was new)
        or are forgotten (some were there already, perhaps with other values)."""
        with self._lock:
            if not self._on:
                return
            if not all_new:
                for row in rows:
                    self._newest.pop(row[0], None)
                return
            for sid, ts, value, *_ in rows:
                newest = self._newest.get(sid)
                if newest is not None and ts > newest[0]:
                    self._newest[sid] = (ts, value)
