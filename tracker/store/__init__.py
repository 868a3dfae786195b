"""Storage: the only package that touches the tables.

    protocol.py    Store, the protocol everything else types against
    database.py    Database, the Store on SQLite or PostgreSQL (Database.open(url))
    engine.py      URLs, SQLite pragmas, raw cursors and sessions (Gateway), error messages
    series.py      series ids, created on first sight; SeriesInfo
    interned.py    the texts series are known by, stored once (name, kind); packed id lists
    timeseries.py  snapshot rows: one bulk write strategy per dialect, history reads
    listings.py    the periods a chart's listing was published for (its series' weeks)
    ledger.py      attempts, per-source status and next run, baselines
    budgets.py     quota budgets per credential
    alerting.py    alert episodes, the outbox of due alerts, the delivery log
    lock.py        the one-daemon lock
    recent.py      each series' newest value, remembered by the daemon for the sudden check
    schema.py      whether a database is tracker's (not someone else's, not a newer schema)
    slots.py       the distributed mode: slots claimed once, messages sent and done, workers
    models.py      the SQLModel tables;  migrations/: Alembic, applied by tracker.migrate

Nothing here imports `tracker.collectors`: storage speaks `tracker.core`'s types.
"""

from __future__ import annotations

from tracker.store.database import Database
from tracker.store.engine import SQLITE_PRAGMAS, database_error, make_engine, normalize_url, redact
from tracker.store.ledger import SourceStatus
from tracker.store.lock import LOCK_STALE_SECONDS
from tracker.store.models import BACKFILLED
from tracker.store.protocol import Store
from tracker.store.series import SeriesInfo
from tracker.store.timeseries import PointRow, Row

__all__ = [
    "BACKFILLED",
    "LOCK_STALE_SECONDS",
    "SQLITE_PRAGMAS",
    "Database",
    "PointRow",
    "Row",
    "SeriesInfo",
    "SourceStatus",
    "Store",
    "database_error",
    "make_engine",
    "normalize_url",
    "redact",
]
