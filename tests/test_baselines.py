"""Comparisons (tracker/baselines.py): changes, growth per day, rounding, day counts, references.

Every expected figure below is worked out by hand from the inputs, never by the code under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tracker import config as config_module
from tracker.baselines import (
    Between,
    Change,
    Comparison,
    days_since,
    end_of_day,
    human,
    per_day,
    references,
    rounding,
    significant,
    value_at,
)
from tracker.store.models import Baseline

DAY = 86400
T0 = 1_650_585_600  # 2022-04-22 00:00 UTC: a start that is not zero, so `a + b` != `a - b`


# -- Change -----------------------------------------------------------------------------------
def test_change_growth() -> None:
    change = Change(before=1_000, after=3_400)
    assert (change.delta, change.percent, change.multiple) == (2_400, 240.0, 3.4)


def test_change_decline() -> None:
    change = Change(before=400, after=100)
    assert (change.delta, change.percent, change.multiple) == (-300, -75.0, 0.25)


def test_change_from_zero_has_no_percent_or_multiple() -> None:
    change = Change(before=0, after=5)
    assert (change.delta, change.percent, change.multiple) == (5, None, None)


# -- per day ----------------------------------------------------------------------------------
def test_per_day_from_a_start_that_is_not_zero() -> None:
    # 100 -> 1,300 over 4 days, starting at T0.
    assert per_day((T0, 100), (T0 + 4 * DAY, 1_300)) == 300.0


def test_per_day_over_part_of_a_day() -> None:
    assert per_day((T0 + 3600, 50), (T0 + 3600 + DAY // 4, 60)) == 40.0


def test_per_day_of_a_decline() -> None:
    assert per_day((T0, 900), (T0 + 2 * DAY, 500)) == -200.0


def test_per_day_of_points_at_one_moment_is_none() -> None:
    assert per_day((T0, 1), (T0, 9)) is None


# -- Between: two points of one series, either may be missing --------------------------------
def test_between_two_points() -> None:
    between = Between((T0, 1_000), (T0 + 10 * DAY, 2_500))
    assert between.change == Change(1_000, 2_500)
    assert between.per_day == 150.0
    assert between.significant


@pytest.mark.parametrize(
    "between",
    [Between(None, (T0, 5)), Between((T0, 5), None), Between(None, None)],
)
def test_a_gap_stays_a_gap(between: Between) -> None:
    assert between.change is None and between.per_day is None and not between.significant


def test_no_change_is_not_significant() -> None:
    assert not Between((T0, 700), (T0 + DAY, 700)).significant


def test_a_change_within_rounding_is_not_significant() -> None:
    # 3.4M and 3.42M at 2 significant figures could both be 3.4M +/- 50K.
    assert not Between((T0, 3_400_000), (T0 + DAY, 3_420_000), 2, 2).significant
    # The same change between exact values is real.
    assert Between((T0, 3_400_000), (T0 + DAY, 3_420_000)).significant


def test_each_side_brings_its_own_rounding() -> None:
    # before exact, after at 2 figures (+/- 50K): a 60K change is more than the rounding.
    assert Between((T0, 3_400_000), (T0 + DAY, 3_460_000), None, 2).significant
    assert not Between((T0, 3_400_000), (T0 + DAY, 3_440_000), None, 2).significant
    assert not Between((T0, 3_400_000), (T0 + DAY, 3_440_000), 2, None).significant


# -- rounding and significance ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "sig", "half_unit"),
    [
        (3_400_000, 2, 50_000),  # 3.4M: the last significant unit is 100K
        (3_420_000, 3, 5_000),
        (-3_420_000, 3, 5_000),
        (1_280_000, 3, 5_000),
        (950, 3, 0),  # as many figures as digits: exact
        (95, 3, 0),  # fewer digits than figures: exact
        (1_000, 1, 500),
        (10, 1, 5),
        (0, 2, 0),
        (12_345, None, 0),
    ],
)
def test_rounding_is_half_the_last_significant_unit(
    value: int, sig: int | None, half_unit: int
) -> None:
    assert rounding(value, sig) == half_unit


def test_significant_needs_more_than_both_slacks() -> None:
    # slack 50K (3.4M at 2 figures) + 5K (3.42M at 3 figures) = 55K
    assert not significant(Change(3_400_000, 3_455_000), 2, 3)
    assert significant(Change(3_400_000, 3_455_001), 2, 3)
    assert significant(Change(3_455_001, 3_400_000), 3, 2)
    assert not significant(Change(3_400_000, 3_455_000), 2, 3)


def test_significant_without_rounding_is_any_change() -> None:
    assert significant(Change(5, 6), None) and not significant(Change(5, 5), None)
    assert significant(Change(6, 5), None, None)


# -- day counts relative to an event ----------------------------------------------------------
LAUNCH = date(2022, 4, 22)


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (datetime(2022, 4, 22, 0, 0, tzinfo=UTC), 0),
        (datetime(2022, 4, 22, 23, 59, 59, tzinfo=UTC), 0),
        (datetime(2022, 4, 23, 0, 0, tzinfo=UTC), 1),
        (datetime(2022, 4, 21, 23, 59, 59, tzinfo=UTC), -1),
        (datetime(2022, 5, 20, 12, 0, tzinfo=UTC), 28),
        (datetime(2022, 3, 23, 0, 0, tzinfo=UTC), -30),
    ],
)
def test_days_since_counts_from_midnight_utc_of_the_event(moment: datetime, day: int) -> None:
    assert days_since(int(moment.timestamp()), LAUNCH) == day


def test_end_of_day_is_the_last_second_of_that_day() -> None:
    assert end_of_day(LAUNCH, 0) == int(datetime(2022, 4, 22, 23, 59, 59, tzinfo=UTC).timestamp())
    assert end_of_day(LAUNCH, 28) == int(datetime(2022, 5, 20, 23, 59, 59, tzinfo=UTC).timestamp())
    assert end_of_day(LAUNCH, -1) == int(datetime(2022, 4, 21, 23, 59, 59, tzinfo=UTC).timestamp())


# -- value_at: the last value at or before a moment, never a guess ---------------------------
POINTS = [(T0, 10), (T0 + DAY, 20), (T0 + 3 * DAY, 40)]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (T0 - 1, None),
        (T0, (T0, 10)),
        (T0 + DAY - 1, (T0, 10)),
        (T0 + DAY, (T0 + DAY, 20)),
        (T0 + 2 * DAY, (T0 + DAY, 20)),
        (T0 + 3 * DAY, (T0 + 3 * DAY, 40)),
        (T0 + 30 * DAY, (T0 + 3 * DAY, 40)),
    ],
)
def test_value_at(moment: int, expected: tuple[int, int] | None) -> None:
    assert value_at(POINTS, moment) == expected


def test_value_at_of_no_points_is_none() -> None:
    assert value_at([], T0) is None


# -- Comparison: the latest value against a reference -----------------------------------------
def reference(value: int = 1_200, at: int = T0) -> Baseline:
    return Baseline(
        campaign="c", name="n", role="baseline", subject="Kit Connor", source="bluesky",
        metric="followers", value=value, at=at,
    )  # fmt: skip


def test_comparison_with_a_measured_value() -> None:
    comparison = Comparison(reference(1_200), (T0 + 5 * DAY, 1_800), "kit.bsky.social")
    assert comparison.change == Change(1_200, 1_800)
    assert comparison.measured_at == datetime(2022, 4, 27, tzinfo=UTC)
    assert comparison.reference_at == datetime(2022, 4, 22, tzinfo=UTC)
    assert comparison.series_label == "kit.bsky.social"


def test_comparison_before_any_value() -> None:
    comparison = Comparison(reference(), None)
    assert comparison.change is None and comparison.measured_at is None
    assert comparison.series_label == ""


# -- human: figures for tables ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (3_400_000, "3.4M"),
        (4_400_000_000, "4.4B"),
        (1_000_000_000, "1B"),
        (999_999_999, "1B"),  # rounded to 3 figures first, never "1e+03M"
        (999_500, "1M"),
        (999.9, "1K"),
        (1_280_000, "1.28M"),
        (100_000, "100K"),
        (1_000, "1K"),
        (999, "999"),
        (12_345, "12.3K"),
        (-2_500, "-2.5K"),
        (0, "0"),
        (12.5, "12.5"),
        (0.123456, "0.123"),
    ],
)
def test_human(value: float | int | None, text: str) -> None:
    assert human(value) == text


def test_human_with_more_digits() -> None:
    assert human(3_456_789, digits=4) == "3.457M"
    assert human(3.14159, digits=2) == "3.1"


def test_human_shows_a_count_under_a_thousand_exactly() -> None:
    # Fewer digits asked than the count has: a count is still never "1.2e+02".
    assert human(123, digits=2) == "123"
    assert human(-45, digits=1) == "-45"


# -- references: the campaign's baselines and claims as rows ---------------------------------
CAMPAIGN = """\
[campaign]
name = "Heartstopper"
launch = 2022-04-22

[[campaign.baselines]]
name = "kit-before"
subject = "Kit Connor"
source = "instagram"
metric = "followers"
value = "100K"
at = 2022-04-01
citation = "Variety, April 2022"

[[campaign.claims]]
name = "kit-after"
subject = "Kit Connor"
source = "instagram"
metric = "followers"
value = 3400000
at = 2022-05-20
citation = "Deadline, May 2022"
"""


def test_references_are_the_baselines_then_the_claims(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    rows = references(config_module.load(path))
    assert [row.model_dump(exclude={"id"}) for row in rows] == [
        {
            "campaign": "Heartstopper", "name": "kit-before", "role": "baseline",
            "subject": "Kit Connor", "source": "instagram", "metric": "followers",
            "value": 100_000, "at": 1_648_771_200, "sig": 3, "citation": "Variety, April 2022",
        },
        {
            "campaign": "Heartstopper", "name": "kit-after", "role": "claim",
            "subject": "Kit Connor", "source": "instagram", "metric": "followers",
            "value": 3_400_000, "at": 1_653_004_800, "sig": None,
            "citation": "Deadline, May 2022",
        },
    ]  # fmt: skip


def test_no_campaign_no_references(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text('contact = "tests@example.org"\n', encoding="utf-8")
    assert references(config_module.load(path)) == []
