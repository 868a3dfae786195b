"""Intervals and jitter: a jitter of 0 turns it off (0, "0", "0s"); an interval stays positive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from tracker import scheduler
from tracker.core import SourceSettings
from tracker.timeutil import format_duration, parse_duration

URL = "https://example.org"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("1h", 3600),
        ("30d", 2_592_000),
        ("2w", 1_209_600),
        (" 5 m ", 300),
    ],
)
def test_parse_duration_reads_each_unit(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration(text, zero=True) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0", "0s", "0m", " 0 ", "0d"])
def test_zero_is_a_duration_only_where_zero_is_allowed(text: str) -> None:
    assert parse_duration(text, zero=True) == timedelta(0)
    with pytest.raises(ValueError, match="a duration must be positive"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["", "-5m", "1.5h", "5", "fortnight", "5 minutes", "00x"])
def test_parse_duration_refuses_what_is_not_one(text: str) -> None:
    for zero in (False, True):
        with pytest.raises(ValueError, match="is not a duration like 30s, 15m, 1h, 7d or 2w"):
            parse_duration(text, zero=zero)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0"), (1, "1s"), (90, "90s"), (120, "2m"), (3600, "1h"), (5400, "90m"), (86400, "1d"),
     (90000, "25h"), (604800, "1w"), (1209600, "2w"), (691200, "8d")],
)  # fmt: skip
def test_format_duration_writes_the_largest_unit_that_divides(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text
    if seconds:
        assert parse_duration(text) == timedelta(seconds=seconds)  # and reads back the same


@pytest.mark.parametrize("off", [0, "0", "0s", "0m", 0.0])
def test_jitter_0_turns_jitter_off(off: object) -> None:
    settings = SourceSettings(base_url=URL, jitter=off)  # type: ignore[arg-type]
    assert settings.jitter == timedelta(0)
    trigger = scheduler._trigger(settings)
    assert trigger.jitter is None  # APScheduler: no random delay at all
    assert trigger.interval == timedelta(hours=1)


def test_a_jitter_is_kept_as_given() -> None:
    settings = SourceSettings(base_url=URL, interval="15m", jitter="30s")
    assert (settings.interval, settings.jitter) == (timedelta(minutes=15), timedelta(seconds=30))
    assert scheduler._trigger(settings).jitter == 30


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        (0, "must be at least 1s, got 0s"),
        (0.5, "must be at least 1s, got 0.5s"),
        (-60, "must be at least 1s, got -60s"),
        ("0", "a duration must be positive"),
        ("0s", "a duration must be positive"),
    ],
)
def test_an_interval_must_stay_positive(interval: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        SourceSettings(base_url=URL, interval=interval)  # type: ignore[arg-type]
    assert caught.value.errors()[0]["loc"] == ("interval",)


@pytest.mark.parametrize("jitter", [-1, "-5m"])
def test_a_negative_jitter_is_refused(jitter: object) -> None:
    with pytest.raises(ValidationError, match="must be 0 or more|is not a duration") as caught:
        SourceSettings(base_url=URL, jitter=jitter)  # type: ignore[arg-type]
    assert caught.value.errors()[0]["loc"] == ("jitter",)
