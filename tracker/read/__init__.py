"""The read model: pure functions from the store (and the config) to records.

Every face renders these records and only these: the CLI's tables, CSV and JSON, the report,
the web API. Option parsing and usage errors stay in the faces; the functions here raise the
errors of `tracker.errors` (an `UnknownName` for a subject, platform or metric nothing is
stored under, with what is spelled close).

    series(store, subject, platform, metric)    -> [SeriesRecord]   what is stored
    history(store, HistoryQuery)                -> History          points; periods; buckets
    values_at(store, subjects, days, event)     -> AtTable          compare --at
    compare(config, store, subjects, ...)       -> [VerdictRecord]  baselines and claims
    claims(config, store, campaign)             -> [VerdictRecord]  the same verdicts
"""

from __future__ import annotations

from tracker.read.campaigns import chosen, event, events, subjects_of
from tracker.read.history import Swing, history, series, sudden_changes
from tracker.read.moments import values_at
from tracker.read.records import (
    NO_VALUE,
    NOT_IN_CHART,
    SCHEMA,
    VALUE,
    AtCell,
    AtRow,
    AtTable,
    EvidenceRecord,
    History,
    HistoryQuery,
    PointRecord,
    SeriesPoints,
    SeriesRecord,
    VerdictRecord,
    document,
)
from tracker.read.verdicts import claims, compare, readers, readiness, verdict

__all__ = [
    "NO_VALUE", "NOT_IN_CHART", "SCHEMA", "VALUE", "AtCell", "AtRow", "AtTable",
    "EvidenceRecord", "History", "HistoryQuery", "PointRecord", "SeriesPoints", "SeriesRecord",
    "Swing", "VerdictRecord", "chosen", "claims", "compare", "document", "event", "events",
    "history", "readers", "readiness", "series", "subjects_of", "sudden_changes", "values_at",
    "verdict",
]  # fmt: skip
