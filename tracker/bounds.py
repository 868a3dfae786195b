"""Bounds of everything tracker reads from outside: the config file, the environment and the
command line. Pure helpers, shared by the domain's settings (core.py), the config (config.py),
the file reader (configfile.py) and collectors' own settings.

Beyond each setting's own range, no value may be hostile (`hostile`): a NUL character, an
integer beyond 64 bits, a NaN or an infinity; and no text may nest deeper than MAX_DEPTH.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tracker.timeutil import (
    MAX_DURATION,
    format_duration,
    parse_duration,
    parse_moment,
    shown,
)

# What a BIGINT column holds: every integer a setting or a value may take stays inside it.
MAX_INT64 = 2**63 - 1
# A source runs at least every year and at most every second; its jitter is at most a day.
MAX_INTERVAL = timedelta(days=365)
MAX_JITTER = timedelta(days=1)
# A quota allowance (requests or units per window) is at most a billion.
MAX_ALLOWANCE = 10**9
# The longest path any setting may name (Linux PATH_MAX).
MAX_PATH = 4096
# Tables and arrays nested deeper than this are no config (a deeper file makes the parser
# recurse until Python gives up, and every later walk of the data too).
MAX_DEPTH = 32
# Dates a campaign may name: day N arithmetic (up to 100 years either side) stays in range.
FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(2199, 12, 31)
# Column sizes of the store (tracker/store/models.py): what the config lets in, it can hold.
MAX_SOURCE = MAX_METRIC = 40
MAX_KEY = MAX_LABEL = 300
MAX_SUBJECT = 200
MAX_NAME = 100
# Significant figures a value may be rounded to (a 64-bit integer has at most 19 digits): the
# store keeps them in a 16-bit integer beside two flag bits (`tracker.store.models.SIG_SHIFT`).
MAX_SIG = 2**13 - 1


def refuse_hostile(value: Any) -> Any:
    """`value`, or a ValueError saying why it is hostile (for field validators)."""
    why = hostile(value)
    if why:
        raise ValueError(why)
    return value


def header_text(value: str) -> str:
    """Text that goes into an HTTP header: printable, one line, of a sane length."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must be one line of printable text (no control characters)")
    if len(value) > 500:
        raise ValueError(f"at most 500 characters, got {len(value)}")
    return value


def dated(value: date) -> date:
    """A date a campaign may name (FIRST_DATE .. LAST_DATE)."""
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(f"{value} is outside {FIRST_DATE} .. {LAST_DATE}")
    return value


def moment(text: str) -> datetime:
    """A date, time or duration back from now given on the command line (`parse_moment`), on
    a day a campaign may name (FIRST_DATE .. LAST_DATE, in UTC); else a ValueError saying so.
    """
    when = parse_moment(text)
    try:
        day: date | None = when.astimezone(UTC).date()
    except OverflowError:  # 9999-12-31T23:00-05:00 is in the year 10000 in UTC
        day = None
    if day is None or not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(
            f"{shown(text.strip())} is outside {FIRST_DATE} .. {LAST_DATE}, the days tracker "
            "can name"
        )
    return when


def duration_setting(value: Any, *, zero: bool = False) -> Any:
    """A duration setting as the TOML gave it -> timedelta: "15m" or a number of seconds.

    Numbers are checked here, before timedelta sees them: `true`, NaN and infinities are no
    durations, and a huge number would overflow (OverflowError is no validation error).
    """
    if isinstance(value, str):
        return parse_duration(value, zero=zero)
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 15m or a number of seconds, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number of seconds, got {value}")
        if abs(value) > MAX_DURATION.total_seconds():
            longest = format_duration(MAX_DURATION)
            raise ValueError(f"{value:g}s is longer than {longest} (100 years)")
        return timedelta(seconds=value)
    return value


def bounded(value: timedelta, low: timedelta, high: timedelta) -> timedelta:
    """`value` if low <= value <= high, else a ValueError naming the bound and the value."""
    given = f"{value.total_seconds():g}s"
    if value < low:
        least = f"at least {format_duration(low)}" if low else "0 or more"
        raise ValueError(f"must be {least}, got {given}")
    if value > high:
        raise ValueError(f"must be at most {format_duration(high)}, got {format_duration(value)}")
    return value


def hostile(value: Any) -> str | None:
    """Why a setting's value cannot be used whatever its field says, or None.

    A NUL character (no path, URL or header can hold one), an integer beyond 64 bits (no
    column can), a NaN or an infinity; lists and tables are looked through.
    """
    if isinstance(value, str):
        return "contains a NUL character" if "\x00" in value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # Named by size: str() of a 5,000-digit integer raises (Python's conversion limit).
        too_big = f"{abs(value).bit_length()}-bit integer: more than 64 bits (2**63 - 1)"
        return too_big if abs(value) > MAX_INT64 else None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value} is not a finite number"
    # A nested section (a web page rule): any pydantic model, told by its fields, so the read
    # commands (configfile.py imports this module) do not pay for importing pydantic.
    fields = getattr(type(value), "model_fields", None)
    if isinstance(fields, dict):
        inner: list[Any] = [getattr(value, name) for name in fields]
    elif isinstance(value, Mapping):
        inner = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        inner = list(value)
    else:
        return None
    for item in inner:
        why = hostile(item)
        if why:
            return why
    return None


def nesting(text: str) -> str | None:
    """Why `text` nests too deeply to be parsed safely, or None.

    Counts open brackets and braces outside strings and comments: an over-estimate for
    brackets in odd places is harmless, since only absurd depths are refused.
    """
    depth = deepest = 0
    quote = ""
    chars = iter(text)
    for char in chars:
        if quote:
            if char == "\\" and quote == '"':
                next(chars, None)
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            for rest in chars:
                if rest == "\n":
                    break
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    if deepest > MAX_DEPTH:
        return f"arrays or tables nested {deepest} deep: at most {MAX_DEPTH} levels"
    return None
