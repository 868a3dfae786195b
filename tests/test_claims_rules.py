"""Claims, rule by rule: whole verdicts (status, figure, summary, evidence) from hand-built series.

Where tests/test_claims.py checks the stories the article tells, these pin each rule's edges
(window boundaries, ties, flags, wording), found by mutation testing. Every expected value is
worked out by hand from the points, never by the code under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tracker.campaign import Reference
from tracker.claims import (
    CONFIRMED,
    CONTRADICTED,
    NOT_MEASURABLE,
    Claim,
    Evidence,
    Point,
    Readiness,
    Series,
    Verdict,
    agrees,
    check,
)
from tracker.store.models import BACKFILLED

LAUNCH = date(2022, 4, 22)  # a Friday
READY = Readiness(True, collect="tracker run --once")
WEEK = 7 * 86400
NOT_YET = "; no backfill from netflix: values start when collected"


def ts(day: date, hour: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp())


def claim(value: int | str, metric: str, at: date, source: str = "netflix", **kw: object) -> Claim:
    amount, sig = (value, None) if isinstance(value, int) else (int(float(value[:-1]) * 1e6), 2)
    fields: dict[str, object] = {"name": "c", "subject": "Heartstopper", "source": source,
                                 "metric": metric, "value": amount, "sig": sig,
                                 "at": at} | kw  # fmt: skip
    return Claim(**fields)  # type: ignore[arg-type]


def week(monday: date, rank: int, flags: int | None = None, period: int | None = WEEK) -> Point:
    return Point(ts(monday), rank, period, None, flags)


def chart(label: str, *points: Point, metric: str = "chart_rank", **labels: str) -> Series:
    return Series("netflix", metric, f"key-{label}", label, labels, points)


# -- Claim, Evidence, Point -------------------------------------------------------------------
def test_a_claim_is_made_of_its_reference_field_by_field() -> None:
    ref = Reference(name="kit-ig", subject="Kit Connor", source="instagram", metric="followers",
                    value="3.4M", at=date(2022, 5, 20), citation="Deadline",
                    text="reached 3.4M")  # fmt: skip
    assert Claim.of(ref) == Claim("kit-ig", "Kit Connor", "instagram", "followers", 3_400_000, 2,
                                  date(2022, 5, 20), "reached 3.4M", "Deadline")  # fmt: skip


def test_a_claims_figure_is_written_as_the_article_wrote_it() -> None:
    assert claim("3.4M", "followers", LAUNCH).figure == "3.4M"
    assert claim(54, "countries_in_top10", LAUNCH).figure == "54"
    assert claim(1_234_567, "views", LAUNCH).figure == "1,234,567"


def test_evidence_says_its_week_or_its_day() -> None:
    assert Evidence("x", date(2022, 4, 25), date(2022, 5, 1), 1).when == "week ending 2022-05-01"
    assert Evidence("x", date(2022, 4, 25), None, 1).when == "2022-04-25"


def test_a_point_is_backfilled_by_its_flag_only() -> None:
    assert Point(0, 1, flags=BACKFILLED).backfilled and Point(0, 1, flags=3).backfilled
    assert not Point(0, 1).backfilled and not Point(0, 1, flags=2).backfilled


# -- countries in the Top 10 ------------------------------------------------------------------
MAY_15 = date(2022, 5, 15)  # a Sunday: the window is [04-22 00:00, 05-16 00:00)


def countries_campaign() -> list[Series]:
    return [
        # BR first: a week with BR plain and GB backfilled is backfilled; BR backfilled and ES
        # plain too, whichever comes first.
        chart("br", week(date(2022, 4, 25), 3), week(date(2022, 5, 9), 8, BACKFILLED), list="BR"),
        chart(
            "gb",
            week(date(2022, 4, 18), 4),
            week(date(2022, 4, 25), 2, BACKFILLED),
            week(date(2022, 5, 16), 1),
            list="GB",
        ),  # fmt: skip
        chart("es", Point(ts(date(2022, 5, 9)), 9), list="ES"),  # no period: a week
        # Ends exactly where the window starts, and starts exactly where it ends: outside.
        chart(
            "fr",
            Point(ts(LAUNCH) - WEEK, 5, WEEK),
            Point(ts(date(2022, 5, 16)), 5, WEEK),
            list="FR",
        ),  # fmt: skip
        chart(
            "Heartstopper",
            week(date(2022, 4, 18), 7),
            week(date(2022, 4, 25), 5, BACKFILLED),
            week(date(2022, 5, 16), 6),
            list="global",
            category="TV (English)",
        ),  # fmt: skip
        chart("Heartstopper: Season 1", Point(ts(date(2022, 5, 2)), 4), list="global"),
        chart("unlabelled", week(date(2022, 4, 25), 1)),  # no list: the global list
        chart("followers", week(date(2022, 4, 25), 1), metric="followers", list="IT"),
    ]


COUNTRIES_EVIDENCE = (
    Evidence("countries in the Top 10", date(2022, 4, 18), date(2022, 4, 24), 1, False),
    Evidence("countries in the Top 10", date(2022, 4, 25), date(2022, 5, 1), 2, True),
    Evidence("countries in the Top 10", date(2022, 5, 9), date(2022, 5, 15), 2, True),
    Evidence("global rank, TV (English)", date(2022, 4, 18), date(2022, 4, 24), 7, False),
    Evidence("global rank, TV (English)", date(2022, 4, 25), date(2022, 5, 1), 5, True),
    Evidence("global rank, Heartstopper: Season 1", date(2022, 5, 2), None, 4, False),
)
COUNTRIES_SUMMARY = (
    "3 distinct countries in the weekly Top 10 lists, weeks ending 2022-04-24 .. 2022-05-15"
)


def test_countries_counted_in_the_window_confirm_the_claim() -> None:
    top10 = claim(3, "countries_in_top10", MAY_15)
    verdict = check(top10, LAUNCH, countries_campaign(), READY)
    assert verdict == Verdict(top10, CONFIRMED, 3, COUNTRIES_SUMMARY, COUNTRIES_EVIDENCE)


def test_more_countries_than_claimed_contradict_it() -> None:
    two = claim(2, "countries_in_top10", MAY_15)
    verdict = check(two, LAUNCH, countries_campaign(), READY)
    assert verdict == Verdict(two, CONTRADICTED, 3, COUNTRIES_SUMMARY, COUNTRIES_EVIDENCE)


def test_fewer_countries_contradict_once_the_stored_weeks_reach_the_claim_date() -> None:
    # The week of 05-09 .. 05-15 ends exactly at the end of the window: nothing more can come.
    five = claim(5, "countries_in_top10", MAY_15)
    verdict = check(five, LAUNCH, [chart("gb", week(date(2022, 5, 9), 3), list="GB")], READY)
    assert (verdict.status, verdict.measured) == (CONTRADICTED, 1)


def test_fewer_countries_wait_while_the_stored_weeks_end_before_the_claim_date() -> None:
    three = claim(3, "countries_in_top10", MAY_15)
    verdict = check(three, LAUNCH, [chart("gb", week(date(2022, 4, 25), 3), list="GB")], READY)
    found = (
        "1 distinct countries in the weekly Top 10 lists, weeks ending 2022-05-01 .. 2022-05-01, "
        "but the stored weeks end on 2022-05-01"
    )
    assert verdict == Verdict(
        three, NOT_MEASURABLE, summary=f"not collected yet: {found}{NOT_YET}",
        action="tracker run --once",
    )  # fmt: skip


def test_a_point_without_a_period_covers_only_its_moment() -> None:
    last_second = Point(ts(date(2022, 5, 16)) - 1, 3)  # the window's last second
    verdict = check(claim(3, "countries_in_top10", MAY_15), LAUNCH,
                    [chart("gb", last_second, list="GB")], READY)  # fmt: skip
    assert verdict.status == NOT_MEASURABLE
    assert verdict.summary.endswith(f"but the stored weeks end on 2022-05-14{NOT_YET}")


def test_country_lists_without_points_say_nothing_is_stored() -> None:
    three = claim(3, "countries_in_top10", MAY_15)
    verdict = check(three, LAUNCH, [chart("gb", list="GB")], READY)
    found = (
        "0 distinct countries in the weekly Top 10 lists, 2022-04-22 .. 2022-05-15, "
        "but the stored weeks end on None"
    )
    assert verdict.summary == f"not collected yet: {found}{NOT_YET}"


def test_without_country_lists_the_claim_is_not_measurable() -> None:
    three = claim(3, "countries_in_top10", MAY_15)
    verdict = check(three, LAUNCH, [chart("g", week(date(2022, 4, 25), 1), list="global")], READY)
    assert verdict.status == NOT_MEASURABLE
    assert verdict.summary == (
        f"not collected yet: no netflix countries_in_top10 values for Heartstopper yet{NOT_YET}"
    )


# -- weeks at number one ----------------------------------------------------------------------
def weekly(
    label: str, ranks: list[int], first: date, flags: int | None = None, **labels: str
) -> Series:
    points = [week(first + timedelta(weeks=i), r, flags) for i, r in enumerate(ranks)]
    return chart(label, *points, **(labels or {"list": "global"}))


def test_the_run_at_number_one_with_its_evidence() -> None:
    # Weeks from 04-11: 2, 1, 1 (backfilled), up to the claim on Sunday 05-01.
    ranks = chart("Heartstopper", week(date(2022, 4, 11), 2), week(date(2022, 4, 18), 1),
                  week(date(2022, 4, 25), 1, BACKFILLED), week(date(2022, 5, 2), 1),
                  list="global")  # fmt: skip
    two = claim(2, "weeks_at_number_one", date(2022, 5, 1))
    summary = (
        "2 consecutive week(s) at number one up to 2022-05-01 "
        "(weeks ending 2022-04-24 .. 2022-05-01)"
    )
    evidence = (
        Evidence("rank on Heartstopper", date(2022, 4, 11), date(2022, 4, 17), 2, False),
        Evidence("rank on Heartstopper", date(2022, 4, 18), date(2022, 4, 24), 1, False),
        Evidence("rank on Heartstopper", date(2022, 4, 25), date(2022, 5, 1), 1, True),
    )
    assert check(two, LAUNCH, [ranks], READY) == Verdict(two, CONFIRMED, 2, summary, evidence)
    three = claim(3, "weeks_at_number_one", date(2022, 5, 1))
    assert check(three, LAUNCH, [ranks], READY) == Verdict(
        three, CONTRADICTED, 2, summary, evidence
    )


def test_of_two_equal_runs_the_first_is_reported() -> None:
    ranks = weekly("Show", [1, 1, 3, 1, 1], date(2022, 4, 4))
    verdict = check(claim(2, "weeks_at_number_one", date(2022, 5, 8)), LAUNCH, [ranks], READY)
    assert verdict.summary == (
        "2 consecutive week(s) at number one up to 2022-05-08 "
        "(weeks ending 2022-04-10 .. 2022-04-17)"
    )


def test_of_two_series_with_equal_runs_the_first_is_reported() -> None:
    first = weekly("First", [3, 1, 1], date(2022, 4, 4))
    second = weekly("Second", [3, 1, 1], date(2022, 4, 4))
    verdict = check(claim(2, "weeks_at_number_one", date(2022, 4, 24)), LAUNCH,
                    [first, second], READY)  # fmt: skip
    assert {e.what for e in verdict.evidence} == {"rank on First"}


def test_a_series_without_a_label_is_named_by_its_key() -> None:
    unnamed = Series("variety", "chart_rank", "trending-tv", "", {}, (week(date(2022, 4, 4), 1),))
    verdict = check(claim(1, "weeks_at_number_one", date(2022, 4, 10), "variety"), LAUNCH,
                    [unnamed], READY)  # fmt: skip
    assert {e.what for e in verdict.evidence} == {"rank on trending-tv"}


def test_never_at_number_one_shows_the_last_three_weeks() -> None:
    ranks = weekly("Show", [5, 4, 3, 2, 2], date(2022, 4, 4))
    one = claim(1, "weeks_at_number_one", date(2022, 5, 8))
    verdict = check(one, LAUNCH, [ranks], READY)
    assert verdict == Verdict(
        one, CONTRADICTED, 0,
        "never at number one in the 5 week(s) recorded up to 2022-05-08",
        tuple(Evidence("rank on Show", date(2022, 4, 18) + timedelta(weeks=i),
                       date(2022, 4, 24) + timedelta(weeks=i), rank, False)
              for i, rank in enumerate([3, 2, 2])),
    )  # fmt: skip


def test_weeks_after_the_claim_date_do_not_count_and_other_series_go_on() -> None:
    later = weekly("Later", [1, 1, 1], date(2022, 5, 9))  # all after the claim
    earlier = weekly("Earlier", [2, 1], date(2022, 4, 18))
    verdict = check(claim(1, "weeks_at_number_one", date(2022, 5, 1)), LAUNCH,
                    [later, earlier], READY)  # fmt: skip
    assert (verdict.status, verdict.measured) == (CONFIRMED, 1)


def test_only_chart_ranks_count() -> None:
    followers = chart("f", *(week(date(2022, 4, 4) + timedelta(weeks=i), 1) for i in range(4)),
                      metric="followers", list="global")  # fmt: skip
    ranks = weekly("Show", [2, 1], date(2022, 4, 18))
    verdict = check(claim(1, "weeks_at_number_one", date(2022, 5, 1)), LAUNCH,
                    [followers, ranks], READY)  # fmt: skip
    assert (verdict.status, verdict.measured) == (CONFIRMED, 1)


def test_for_netflix_only_the_global_list_counts() -> None:
    # The unlabelled series is the global list; GB's longer run is a country's.
    global_list = chart("Global", week(date(2022, 4, 11), 1), week(date(2022, 4, 18), 1))
    gb = weekly("GB", [1, 1, 1, 1], date(2022, 4, 4), list="GB")
    verdict = check(claim(2, "weeks_at_number_one", date(2022, 5, 1)), LAUNCH,
                    [gb, global_list], READY)  # fmt: skip
    assert (verdict.status, verdict.measured) == (CONFIRMED, 2)


def test_for_netflix_without_a_global_list_the_countries_count() -> None:
    gb = weekly("GB", [2, 1, 1, 1], date(2022, 4, 4), list="GB")
    verdict = check(claim(3, "weeks_at_number_one", date(2022, 5, 1)), LAUNCH, [gb], READY)
    assert (verdict.status, verdict.measured) == (CONFIRMED, 3)


def test_a_global_list_beside_country_lists_is_the_chart_for_any_source() -> None:
    # No platform is special (issue 9): whichever source has a global list, it is the chart.
    global_list = weekly("Global", [2, 1], date(2022, 4, 18))
    gb = weekly("GB", [2, 1, 1, 1], date(2022, 4, 4), list="GB")
    verdict = check(claim(3, "weeks_at_number_one", date(2022, 5, 1), "variety"), LAUNCH,
                    [global_list, gb], READY)  # fmt: skip
    assert (verdict.status, verdict.measured) == (CONTRADICTED, 1)


def test_without_a_global_list_every_list_counts() -> None:
    # Best-seller lists: several named lists, none global; the longest run is the measure.
    hardcover = weekly("Hardcover", [2, 1], date(2022, 4, 18), list="young-adult-hardcover")
    paperback = weekly("Paperback", [2, 1, 1, 1], date(2022, 4, 4), list="young-adult-paperback")
    verdict = check(claim(3, "weeks_at_number_one", date(2022, 5, 1), "nyt"), LAUNCH,
                    [hardcover, paperback], READY)  # fmt: skip
    assert (verdict.status, verdict.measured) == (CONFIRMED, 3)


# -- a figure, at the precision it was written ------------------------------------------------
@pytest.mark.parametrize(
    ("written", "sig", "text", "measured", "expected"),
    [
        (54, 2, "", 54, True),  # 2 figures of a 2-digit number: exact
        (54, 2, "", 58, False),
        (54, None, "", 53, False),
        (54, None, "in over 54 countries", 54, False),
        (54, None, "in over 54 countries", 10_000, True),
        (3_400_000, 2, "", 3_346_000, False),
    ],
)
def test_agrees(written: int, sig: int | None, text: str, measured: int, expected: bool) -> None:
    figure = Claim("c", "s", "x", "m", written, sig, LAUNCH, text)
    assert agrees(figure, measured) is expected


def test_a_rounded_measurement_reaches_a_claim_by_its_rounding_both_ways() -> None:
    figure = Claim("c", "s", "x", "m", 3_400_000, 2, LAUNCH)  # [3.35M, 3.45M)
    assert agrees(figure, 3_346_000, 3)  # 3.346M at 3 figures may be 3.3455M .. 3.3465M
    assert not agrees(figure, 3_344_000, 3)
    assert agrees(figure, 3_454_000, 3) and not agrees(figure, 3_456_000, 3)


# -- the value nearest the claim date ---------------------------------------------------------
MAY_20 = date(2022, 5, 20)


def followers(*points: Point) -> Series:
    return Series("instagram", "followers", "k", "kit.connor", {}, points)


def nearest(*points: Point) -> Verdict:
    return check(claim(3_400_000, "followers", MAY_20, "instagram"), LAUNCH,
                 [followers(*points)], READY)  # fmt: skip


def test_on_the_claim_day_the_latest_value_wins() -> None:
    verdict = nearest(Point(ts(MAY_20, 6), 3_100_000), Point(ts(MAY_20, 20), 3_400_000))
    assert (verdict.status, verdict.measured) == (CONFIRMED, 3_400_000)
    assert verdict.summary == "3.4M (3,400,000) on 2022-05-20, nearest to 2022-05-20"
    assert verdict.evidence == (
        Evidence("followers of kit.connor", MAY_20, None, 3_400_000, False),
    )


def test_a_value_on_the_day_beats_one_a_second_after_it() -> None:
    verdict = nearest(Point(ts(MAY_20, 1), 3_400_000), Point(ts(date(2022, 5, 21)), 1))
    assert verdict.measured == 3_400_000


@pytest.mark.parametrize(
    ("moment", "measurable"),
    [
        (ts(date(2022, 5, 28)) - 1, True),  # 7 days after the claim day's last second
        (ts(date(2022, 5, 28)), False),
        (ts(date(2022, 5, 13)), True),  # 7 days before its start
        (ts(date(2022, 5, 13)) - 1, False),
        (ts(date(2022, 4, 20)), False),  # a month before
    ],
)
def test_near_is_within_seven_days_either_side(moment: int, measurable: bool) -> None:
    verdict = nearest(Point(moment, 3_400_000))
    assert (verdict.status != NOT_MEASURABLE) is measurable
