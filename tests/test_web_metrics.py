"""/metrics exports a value of a period (a weekly chart rank, a day's page views) as current
only while its period is current: its chart's newest, ended less than two periods ago."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tracker.core import Observation
from tracker.store import Database
from tracker.web.metrics import StoreCollector, label_name
from tracker.web.records import Records

WEEK, DAY = timedelta(days=7), timedelta(days=1)
W0 = datetime(2026, 11, 9, tzinfo=UTC)  # a Monday
W1 = W0 + WEEK  # the newest week stored: it ended on 2026-11-23
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)  # the Wednesday after it
GLOBAL = {"list": "global", "category": "TV"}
GB = {"list": "GB", "category": "TV", "country": "United Kingdom"}


def rank(key: str, value: int, week: datetime, labels: dict[str, str]) -> Observation:
    return Observation("chart_rank", key, value, week, key, key, labels, WEEK)


def scrape(store: Database, now: datetime) -> dict[str, dict[tuple[str, ...], float]]:
    """Family name -> {(subject, metric) or (platform, metric): value} of one scrape."""
    collector = StoreCollector(Records(store, None, "sqlite://"), clock=now.timestamp)
    found: dict[str, dict[tuple[str, ...], float]] = {}
    for family in collector.collect():
        for sample in family.samples:
            labels = sample.labels
            key = (labels.get("subject") or labels.get("platform", ""), labels.get("metric", ""))
            found.setdefault(sample.name, {})[key] = sample.value
            if family.name == "tracker_series_value" and labels["subject"] == "kept":
                assert labels[label_name("list")] == "global"
    return found


def fill(store: Database) -> None:
    store.write("netflix", [
        rank("kept", 3, W0, GLOBAL), rank("kept", 1, W1, GLOBAL),  # on the newest chart
        rank("dropped", 2, W0, GLOBAL),  # not on the newest week's chart: fell off
        rank("gb", 4, W0, GB),  # its own chart (the countries file) is a week behind
        Observation("views", "old", 9, datetime(2022, 5, 2, tzinfo=UTC), "old", "old",
                    GLOBAL, WEEK),  # a 2022 chart, imported from a file
    ])  # fmt: skip
    yesterday = datetime(2026, 11, 24, tzinfo=UTC)
    store.write("wikipedia", [
        Observation("pageviews", "today", 50, yesterday, "today", period=DAY),
        Observation("pageviews", "stale", 40, yesterday - 2 * DAY, "stale", period=DAY),
    ])  # fmt: skip
    store.write("bluesky", [
        Observation("followers", "count", 1800, datetime(2020, 1, 1, tzinfo=UTC), "count"),
    ])  # fmt: skip


def test_only_current_periods_are_exported_as_current_values(store: Database) -> None:
    fill(store)
    found = scrape(store, NOW)
    assert found["tracker_series_value"] == {
        ("kept", "chart_rank"): 1.0,  # this week's rank, not the week before's
        ("gb", "chart_rank"): 4.0,
        ("today", "pageviews"): 50.0,
        ("count", "followers"): 1800.0,  # no period: the newest value, however old
    }
    assert found["tracker_series_observed_timestamp_seconds"][("kept", "chart_rank")] == (
        W1.timestamp()
    )
    assert found["tracker_series_ended"] == {
        ("netflix", "chart_rank"): 1.0,
        ("netflix", "views"): 1.0,
        ("wikipedia", "pageviews"): 1.0,
    }
    assert found["tracker_series"][("", "")] == 7  # 4 exported + 3 ended: none dropped unsaid


def test_a_chart_ends_two_periods_after_its_period(store: Database) -> None:
    fill(store)
    # The countries chart's week W0 ended on 2026-11-16: current until 11-30 (its next chart
    # may come out days into the week after the next), then over.
    assert ("gb", "chart_rank") in scrape(store, W0 + 3 * WEEK - DAY)["tracker_series_value"]
    later = scrape(store, W0 + 3 * WEEK)
    assert ("gb", "chart_rank") not in later["tracker_series_value"]
    assert ("kept", "chart_rank") in later["tracker_series_value"]  # W1's chart: a week more
    assert ("count", "followers") in later["tracker_series_value"]
    assert later["tracker_series_ended"][("netflix", "chart_rank")] == 2.0


def test_the_daily_table_greens_a_rank_that_rises_and_a_count_that_grows(store: Database) -> None:
    """A rank falling from 2 to 7 is bad news (red), from 7 to 2 good (green); for a count
    the other way round."""
    from tracker.web.pages import _daily_tables

    day = datetime(2026, 11, 20, tzinfo=UTC)
    store.write("netflix", [
        Observation("chart_rank", "show", value, day + n * DAY, "Show", "show", GLOBAL, DAY)
        for n, value in enumerate((2, 7, 3))
    ])  # fmt: skip
    store.write("bluesky", [
        Observation("followers", "show", value, day + n * DAY, "Show")
        for n, value in enumerate((10, 20, 15))
    ])  # fmt: skip
    records = Records(store, None, "sqlite://")
    tables = _daily_tables(records, records.series("Show", limit=10).items)
    trends = {t["series"].metric: [(r["change"], r["trend"]) for r in t["rows"]] for t in tables}
    assert trends["chart_rank"] == [(-4, "up"), (5, "down"), (None, "")]
    assert trends["followers"] == [(-5, "down"), (10, "up"), (None, "")]
