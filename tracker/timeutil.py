"""Time helpers: storage is integer UTC seconds; everything else is aware datetimes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$", re.ASCII)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# The longest duration tracker reads anywhere (100 years): more is a typo, and far more
# overflows datetime arithmetic. Settings narrow this further (an interval is at most a year).
MAX_DURATION = timedelta(days=36500)


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
        raise ValueError(f"{shown(text)}: a duration must be positive")
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{shown(text)} is not a duration like 30s, 15m, 1h, 7d or 2w")
    digits, unit = match.group(1), match.group(2)
    # Bounded before int(): a 5,000-digit amount costs time to convert and overflows timedelta.
    seconds = int(digits) * _UNITS[unit] if len(digits) <= 12 else None
    if seconds is None or seconds > MAX_DURATION.total_seconds():
        longest = format_duration(MAX_DURATION)
        raise ValueError(f"{shown(text)} is longer than {longest} (100 years)")
    if seconds <= 0 and not zero:
        raise ValueError(f"{shown(text)}: a duration must be positive")
    return timedelta(seconds=seconds)


def shown(text: str, limit: int = 40) -> str:
    """`text` quoted for a message, cut to `limit` characters: hostile input can be megabytes."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} chars)"


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
    try:
        if _DURATION.match(text):
            return (reference or now()) - parse_duration(text)
    except OverflowError:  # less than MAX_DURATION, but back past year 1 from `reference`
        raise ValueError(f"{shown(text)} reaches back before the year 1") from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{shown(text)} is neither a date (2022-04-22), a time (2022-04-22T10:00Z) "
            "nor a duration back from now (30d)"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        moment.timestamp()
    except (OverflowError, ValueError):  # 0001-01-01T00:00+01:00 is before the year 1 in UTC
        raise ValueError(f"{shown(text)} is outside the years 1 to 9999 in UTC") from None
    return moment
