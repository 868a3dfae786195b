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


def parse_duration(text: str, *, zero: bool = False) -> timedelta:
    """'90s', '15m', '1h', '30d', '2w' -> timedelta. Raises ValueError naming the text.

    With `zero`, '0' and '0s' (any unit) mean no time at all (a jitter that is off).
    """
    if text.strip() == "0":
        if zero:
            return timedelta(0)
        raise ValueError(f"{text!r}: a duration must be positive")
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 1h, 7d or 2w")
    amount, unit = int(match.group(1)), match.group(2)
    if amount <= 0 and not zero:
        raise ValueError(f"{text!r}: a duration must be positive")
    return timedelta(seconds=amount * _UNITS[unit])


def format_duration(span: timedelta) -> str:
    """The inverse of parse_duration: 1h, 2d, 90s; the largest unit that divides evenly."""
    seconds = int(span.total_seconds())
    if seconds == 0:
        return "0"
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{span.total_seconds():g}s"  # pragma: no cover  (every whole second divides by 1s)


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
