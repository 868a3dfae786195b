"""Time helpers: storage is integer UTC seconds; everything else is aware datetimes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def now() -> datetime:
    return datetime.now(UTC)


def to_epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: times must carry a timezone")
    return int(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '1h', '30d', '2w' -> timedelta. Raises ValueError naming the text."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 1h, 7d or 2w")
    amount, unit = int(match.group(1)), match.group(2)
    if amount <= 0:
        raise ValueError(f"{text!r}: a duration must be positive")
    return timedelta(seconds=amount * _UNITS[unit])


def parse_moment(text: str, *, reference: datetime | None = None) -> datetime:
    """A date, an ISO time, or a duration back from now ('30d'). Naive input is UTC."""
    text = text.strip()
    if _DURATION.match(text):
        return (reference or now()) - parse_duration(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a date (2022-04-22), a time (2022-04-22T10:00Z) "
            "nor a duration back from now (30d)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
