"""Time helpers (tracker/timeutil.py): UTC epoch seconds in storage, aware datetimes elsewhere."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from tracker import timeutil
from tracker.timeutil import day_start, from_epoch, parse_duration, parse_moment, to_epoch

# 2022-04-22 10:30:00 UTC (Heartstopper's launch morning) as epoch seconds, worked out by hand:
# 19104 days from 1970-01-01 to 2022-04-22, times 86400, plus 10.5 hours.
LAUNCH = datetime(2022, 4, 22, 10, 30, tzinfo=UTC)
LAUNCH_EPOCH = 19104 * 86400 + 10 * 3600 + 30 * 60


def test_now_is_aware_utc_and_current() -> None:
    before = datetime.now(UTC)
    moment = timeutil.now()
    after = datetime.now(UTC)
    assert moment.tzinfo is UTC and before <= moment <= after


def test_to_epoch_counts_utc_seconds() -> None:
    assert to_epoch(LAUNCH) == LAUNCH_EPOCH
    assert to_epoch(datetime(1970, 1, 1, tzinfo=UTC)) == 0


def test_to_epoch_reads_the_zone_of_the_time() -> None:
    # 12:30 at UTC+2 is 10:30 UTC.
    assert to_epoch(datetime(2022, 4, 22, 12, 30, tzinfo=timezone(timedelta(hours=2)))) == (
        LAUNCH_EPOCH
    )


def test_to_epoch_drops_fractions_of_a_second() -> None:
    assert to_epoch(LAUNCH + timedelta(microseconds=999_999)) == LAUNCH_EPOCH


def test_to_epoch_refuses_a_naive_time_naming_it() -> None:
    with pytest.raises(
        ValueError,
        match=r"^naive datetime 2022-04-22T10:30:00: times must carry a timezone$",
    ):
        to_epoch(datetime(2022, 4, 22, 10, 30))


def test_from_epoch_is_aware_utc() -> None:
    moment = from_epoch(LAUNCH_EPOCH)
    assert moment == LAUNCH and moment.tzinfo is UTC
    assert from_epoch(0) == datetime(1970, 1, 1, tzinfo=UTC)


def test_epoch_round_trip() -> None:
    assert to_epoch(from_epoch(1_653_048_000)) == 1_653_048_000


def test_day_start_is_midnight_utc_of_that_day() -> None:
    start = day_start(date(2022, 4, 22))
    assert start == datetime(2022, 4, 22, 0, 0, tzinfo=UTC) and start.tzinfo is UTC
    assert to_epoch(start) == 19104 * 86400


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("1h", 3600),
        ("30d", 30 * 86400),
        ("2w", 14 * 86400),
        (" 7 d ", 7 * 86400),
        ("1s", 1),
        ("1m", 60),
        ("1d", 86400),
        ("1w", 7 * 86400),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "h", "10", "1.5h", "-1h", "1y", "1 h 2", "1hh", "x1h"])
def test_parse_duration_refuses_what_is_not_a_duration(text: str) -> None:
    expected = f"^{re.escape(repr(text))} is not a duration like 30s, 15m, 1h, 7d or 2w$"
    with pytest.raises(ValueError, match=expected):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0s", "0d", "00h"])
def test_parse_duration_refuses_zero(text: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(repr(text))}: a duration must be positive$"):
        parse_duration(text)


REFERENCE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", datetime(2024, 1, 31, 12, 0, tzinfo=UTC)),
        (" 2h ", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        ("2022-04-22", datetime(2022, 4, 22, tzinfo=UTC)),
        ("2022-04-22T10:30", LAUNCH),
        ("2022-04-22T10:30Z", LAUNCH),
        ("2022-04-22T12:30+02:00", LAUNCH.astimezone(timezone(timedelta(hours=2)))),
        (" 2022-04-22T10:30:00 ", LAUNCH),
    ],
)
def test_parse_moment(text: str, expected: datetime) -> None:
    moment = parse_moment(text, reference=REFERENCE)
    assert moment == expected and moment.utcoffset() == expected.utcoffset()


def test_parse_moment_keeps_the_zone_it_was_given() -> None:
    moment = parse_moment("2022-04-22T12:30+02:00")
    assert moment.utcoffset() == timedelta(hours=2)


def test_a_naive_moment_is_utc() -> None:
    assert parse_moment("2022-04-22T10:30").tzinfo is UTC


def test_a_duration_counts_back_from_now_without_a_reference() -> None:
    before = datetime.now(UTC)
    moment = parse_moment("1h")
    after = datetime.now(UTC)
    assert before - timedelta(hours=1) <= moment <= after - timedelta(hours=1)


@pytest.mark.parametrize("text", ["yesterday", "2022-13-01", "1y", ""])
def test_parse_moment_refuses_naming_the_text_and_the_forms(text: str) -> None:
    expected = (
        f"^{re.escape(repr(text.strip()))} is neither a date \\(2022-04-22\\), a time "
        r"\(2022-04-22T10:00Z\) nor a duration back from now \(30d\)$"
    )
    with pytest.raises(ValueError, match=expected) as caught:
        parse_moment(text)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


# -- zero, bounds, and how durations and hostile text are shown -------------------------------
@pytest.mark.parametrize("text", ["0", " 0 ", "0s", "0h", "00w"])
def test_zero_is_no_time_when_allowed(text: str) -> None:
    assert parse_duration(text, zero=True) == timedelta(0)


def test_a_bare_zero_is_refused_unless_allowed() -> None:
    with pytest.raises(ValueError, match=r"^'0': a duration must be positive$"):
        parse_duration("0")


@pytest.mark.parametrize("text", ["36501d", "5215w", "1234567890123s"])
def test_more_than_a_hundred_years_is_refused(text: str) -> None:
    expected = f"^{re.escape(repr(text))} is longer than 36500d \\(100 years\\)$"
    with pytest.raises(ValueError, match=expected):
        parse_duration(text)


def test_a_hundred_years_is_the_longest_duration() -> None:
    assert parse_duration("36500d") == timedelta(days=36500)
    assert timeutil.MAX_DURATION == timedelta(days=36500)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0"), (1, "1s"), (90, "90s"), (60, "1m"), (5400, "90m"), (3600, "1h"), (7200, "2h"),
     (86400, "1d"), (3 * 86400, "3d"), (604800, "1w"), (1209600, "2w"), (36500 * 86400, "36500d")],
)  # fmt: skip
def test_format_duration_uses_the_largest_unit_that_divides(seconds: int, text: str) -> None:
    assert timeutil.format_duration(timedelta(seconds=seconds)) == text
    if seconds:
        assert parse_duration(text) == timedelta(seconds=seconds)


def test_hostile_text_is_shown_cut() -> None:
    assert timeutil.shown("abc") == "'abc'"
    assert timeutil.shown("x" * 40) == repr("x" * 40)
    assert timeutil.shown("x" * 41) == repr("x" * 40) + "... (41 chars)"
    assert timeutil.shown("y" * 10, limit=4) == "'yyyy'... (10 chars)"
    with pytest.raises(ValueError, match=r"^'zzzz.*'\.\.\. \(5000 chars\) is not a duration"):
        parse_duration("z" * 5000)


def test_a_duration_back_past_the_year_1_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^'36500d' reaches back before the year 1$"):
        parse_moment("36500d", reference=datetime(50, 1, 1, tzinfo=UTC))
