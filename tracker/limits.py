"""Reading the platforms' rate-limit signals. Pure: headers in, seconds out.

Reset headers (`ratelimit-reset`, `x-rate-limit-reset`, `x-ratelimit-reset`, ...) come in
three shapes: epoch seconds, seconds from now, and an ISO time; which one a header holds is
told from its value. `Retry-After` is seconds or an HTTP date.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Any number above this is an epoch timestamp, not a count of seconds from now.
_EPOCH_FLOOR = 1_000_000_000

RESET_HEADERS = ("ratelimit-reset", "x-rate-limit-reset", "x-ratelimit-reset")


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def parse_reset(value: str, now: datetime) -> float | None:
    """Seconds from `now` until the moment a reset header names; None when unreadable."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if number > _EPOCH_FLOOR:
            return max(0.0, number - now.timestamp())
        return max(0.0, number)
    try:
        moment = datetime.fromisoformat(value)  # Python 3.11 reads a trailing "Z" too
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def parse_retry_after(value: str, now: datetime) -> float | None:
    """`Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def wait_seconds(headers: Mapping[str, str], now: datetime) -> float | None:
    """How long the platform asks us to wait, from whichever header it sent; None if none."""
    lowered = _lower(headers)
    if "retry-after" in lowered:
        seconds = parse_retry_after(lowered["retry-after"], now)
        if seconds is not None:
            return seconds
    for name in RESET_HEADERS:
        if name in lowered:
            seconds = parse_reset(lowered[name], now)
            if seconds is not None:
                return seconds
    return None
