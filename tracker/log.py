"""Logging to stderr: readable lines for people, or JSON lines for machines.

A JSON line carries `time`, `level`, `logger` and `message`, plus the record's fields: what
the code passed as `extra=` (a round's summary: source, outcome, targets, values, new,
failed, kind, cause, duration; the start line: version, pid, config, database, sources).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from tracker.secrets import RedactingFilter, redact

# What every LogRecord has: anything else on a record came in through `extra=`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The `extra=` fields of a record, secrets masked."""
    return {key: _masked(value) for key, value in record.__dict__.items() if key not in _STANDARD}


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(fmt: str = "text", level: int = logging.INFO, *, verbose: bool = False) -> None:
    """Log to stderr at `level`; `verbose` adds tracker's own debug lines (retried attempts)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Only tracker's own debug lines: httpcore's would bury them.
    logging.getLogger("tracker").setLevel(logging.DEBUG if verbose else logging.NOTSET)
    # APScheduler narrates every job run at INFO; our own round lines say more.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
