"""Rate-limit signals (tracker/limits.py): each header shape the platforms send, read as seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tracker.limits import RESET_HEADERS, parse_reset, parse_retry_after, wait_seconds

# A moment with a fractional second: a reset read against it must keep the fraction.
NOW = datetime(2024, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
EPOCH_NOW = 1_709_294_400.25  # NOW as epoch seconds, written out independently


def test_the_moment_used_below_is_the_epoch_it_claims() -> None:
    assert NOW.timestamp() == EPOCH_NOW


# -- Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP date ---------------------------
@pytest.mark.parametrize(("value", "seconds"), [("120", 120.0), ("0", 0.0), (" 7 ", 7.0)])
def test_retry_after_in_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_retry_after_as_an_http_date_is_counted_from_now() -> None:
    # IMF-fixdate, 90 s after 12:00:00 (NOW is 12:00:00.25).
    assert parse_retry_after("Fri, 01 Mar 2024 12:01:30 GMT", NOW) == 89.75


def test_retry_after_as_an_http_date_in_another_zone() -> None:
    assert parse_retry_after("Fri, 01 Mar 2024 13:01:30 +0100", NOW) == 89.75


def test_retry_after_as_an_obsolete_date_without_zone_is_utc() -> None:
    # "-0000" means "no zone information": parsedate gives a naive time, which is read as UTC.
    assert parse_retry_after("Fri, 01 Mar 2024 12:02:00 -0000", NOW) == 119.75


def test_retry_after_date_in_the_past_waits_nothing() -> None:
    assert parse_retry_after("Fri, 01 Mar 2024 11:00:00 GMT", NOW) == 0.0


@pytest.mark.parametrize("value", ["soon", "", "-5", "1.5", "Fri, 99 Foo 2024"])
def test_unreadable_retry_after_is_none(value: str) -> None:
    assert parse_retry_after(value, NOW) is None


# -- reset headers: epoch seconds, seconds from now, ISO time ----------------------------------
def test_reset_as_epoch_seconds() -> None:
    assert parse_reset(str(int(EPOCH_NOW) + 300), NOW) == 299.75


def test_reset_as_fractional_epoch_seconds() -> None:
    assert parse_reset(f"{EPOCH_NOW + 30.5}", NOW) == pytest.approx(30.5)


def test_reset_as_epoch_in_the_past_waits_nothing() -> None:
    assert parse_reset(str(int(EPOCH_NOW) - 3600), NOW) == 0.0


@pytest.mark.parametrize(("value", "seconds"), [("42", 42.0), ("0", 0.0), (" 1.5 ", 1.5)])
def test_reset_as_seconds_from_now(value: str, seconds: float) -> None:
    assert parse_reset(value, NOW) == seconds


def test_reset_as_negative_seconds_waits_nothing() -> None:
    assert parse_reset("-5", NOW) == 0.0


def test_the_epoch_floor_separates_seconds_from_timestamps() -> None:
    # 1e9 s (~31 years) is still a count of seconds; one more is a timestamp (2001-09-09).
    assert parse_reset("1000000000", NOW) == 1_000_000_000.0
    assert parse_reset("1000000001", NOW) == 0.0


def test_reset_as_iso_time_with_z() -> None:
    assert parse_reset("2024-03-01T12:05:00.250Z", NOW) == 300.0


def test_reset_as_iso_time_with_an_offset() -> None:
    assert parse_reset("2024-03-01T14:05:00.250+02:00", NOW) == 300.0


def test_reset_as_naive_iso_time_is_utc() -> None:
    # Mastodon sends "2024-03-01T12:05:00.250000Z"; a server that drops the zone means UTC.
    assert parse_reset("2024-03-01T12:05:00.250000", NOW) == 300.0


def test_reset_as_iso_time_in_the_past_waits_nothing() -> None:
    assert parse_reset("2024-03-01T11:59:00Z", NOW) == 0.0


def test_reset_is_counted_from_the_given_now_not_the_clock() -> None:
    later = NOW + timedelta(seconds=100)
    assert parse_reset("2024-03-01T12:05:00.250Z", later) == 200.0
    assert parse_reset(str(int(EPOCH_NOW) + 300), later) == 199.75


@pytest.mark.parametrize("value", ["soon", "", "12:05", "2024-13-01T00:00:00Z"])
def test_unreadable_reset_is_none(value: str) -> None:
    assert parse_reset(value, NOW) is None


# -- wait_seconds: whichever header the platform sent ----------------------------------------
def test_no_header_means_no_wait() -> None:
    assert wait_seconds({}, NOW) is None
    assert wait_seconds({"content-type": "application/json"}, NOW) is None


def test_retry_after_wins_over_a_reset_header() -> None:
    headers = {"Retry-After": "5", "x-rate-limit-reset": str(int(EPOCH_NOW) + 600)}
    assert wait_seconds(headers, NOW) == 5.0


def test_an_unreadable_retry_after_falls_back_to_the_reset_header() -> None:
    headers = {"Retry-After": "later", "RateLimit-Reset": "30"}
    assert wait_seconds(headers, NOW) == 30.0


@pytest.mark.parametrize("name", RESET_HEADERS)
def test_each_reset_header_is_read_in_any_case(name: str) -> None:
    assert wait_seconds({name.upper(): "12"}, NOW) == 12.0
    assert wait_seconds({name.title(): "12"}, NOW) == 12.0


def test_the_reset_headers_are_the_platforms() -> None:
    # Bluesky, X and Reddit respectively (README "Sources"); Mastodon uses x-ratelimit-reset too.
    assert set(RESET_HEADERS) == {"ratelimit-reset", "x-rate-limit-reset", "x-ratelimit-reset"}


def test_reset_headers_are_tried_in_order_skipping_unreadable_ones() -> None:
    headers = {"ratelimit-reset": "garbage", "x-rate-limit-reset": "20", "x-ratelimit-reset": "40"}
    assert wait_seconds(headers, NOW) == 20.0
    assert wait_seconds({"x-rate-limit-reset": "20", "ratelimit-reset": "10"}, NOW) == 10.0


def test_wait_seconds_counts_dates_and_timestamps_from_the_given_now() -> None:
    http_date = {"Retry-After": "Fri, 01 Mar 2024 12:01:30 GMT"}
    assert wait_seconds(http_date, NOW) == 89.75
    assert wait_seconds({"x-rate-limit-reset": str(int(EPOCH_NOW) + 300)}, NOW) == 299.75
    assert wait_seconds({"X-RateLimit-Reset": "2024-03-01T12:05:00.250Z"}, NOW) == 300.0


def test_every_header_unreadable_is_none() -> None:
    assert wait_seconds({"Retry-After": "?", "x-ratelimit-reset": "?"}, NOW) is None


def test_a_zero_wait_is_a_wait_not_a_missing_header() -> None:
    # 0.0 is falsy: a reset that has already passed must not fall through to the next header.
    assert wait_seconds({"Retry-After": "0", "x-ratelimit-reset": "99"}, NOW) == 0.0
    assert wait_seconds({"ratelimit-reset": "0", "x-ratelimit-reset": "99"}, NOW) == 0.0


def test_an_aware_now_in_another_zone_gives_the_same_answer() -> None:
    elsewhere = NOW.astimezone(timezone(timedelta(hours=-7)))
    assert parse_reset("2024-03-01T12:05:00.250Z", elsewhere) == 300.0
    assert parse_retry_after("Fri, 01 Mar 2024 12:01:30 GMT", elsewhere) == 89.75
