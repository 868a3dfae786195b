"""The read model (`tracker.read`): periods, charts' absences, names, natural order, and the
one verdict `compare`, `claims` and the report share — on SQLite and PostgreSQL, and on the
real Netflix Top 10 files."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests import entry
from tests.conftest import SHARED, tracker_env
from tracker import config as config_module
from tracker import read
from tracker.collectors.base import Observation
from tracker.errors import UnknownName
from tracker.read import NO_VALUE, NOT_IN_CHART, VALUE, HistoryQuery
from tracker.store import Store
from tracker.timeutil import to_epoch

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config" / "tracker.toml"
DATA = SHARED / "data" / "netflix-top10"
COUNTRIES = DATA / "all-weeks-countries.to-2022-11-13.tsv"
GLOBAL_2022 = DATA / "all-weeks-global.2022-05-25.tsv"
real_data = pytest.mark.skipif(
    not COUNTRIES.is_file(), reason=f"real Netflix Top 10 files not found at {DATA}"
)
WEEK = timedelta(days=7)
LAUNCH = date(2022, 4, 22)  # a Friday: its week runs Monday 04-18 .. Sunday 04-24


def monday(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC) - timedelta(days=d.weekday())


def chart(
    title: str, country: str, weeks: dict[date, int], season: str = "Season 1"
) -> list[Observation]:
    labels = {"list": country, "category": "TV", "season": season, "country": country}
    key = f"{title}|{season}|{country}|TV"
    return [
        Observation("chart_rank", key, rank, monday(week), title, title, labels, WEEK)
        for week, rank in weeks.items()
    ]


def seed_charts(store: Store) -> None:
    """Show in GB for the launch week and the next; in FR for four weeks; Other in GB later."""
    store.write("netflix", chart("Show", "GB", {date(2022, 4, 18): 8, date(2022, 4, 25): 4}))
    store.write("netflix", chart("Show", "FR", {date(2022, 4, 18) + k * WEEK: 3 for k in range(4)}))
    store.write("netflix", chart("Show", "GB", {date(2022, 5, 16): 9}, season="Season 10"))
    store.write("netflix", chart("Show", "GB", {date(2022, 5, 16): 2}, season="Season 2"))


def test_a_period_holds_only_within_itself_and_absence_is_not_in_chart(store: Store) -> None:
    seed_charts(store)
    day28 = read.values_at(store, ["show"], [0, 7, 14, 35], ("launch", LAUNCH))
    by_list = {
        (r.series.labels["list"], r.series.labels["season"]): [c.status for c in r.cells]
        for r in day28.rows
    }
    # GB season 1: the launch week's rank 8 at day 0, rank 4 the next week; then GB's listing
    # (known from FR's weeks and GB's season 2) lacks it: not in chart, never a stale 4.
    assert by_list[("GB", "Season 1")] == [VALUE, VALUE, NOT_IN_CHART, NO_VALUE]
    gb = next(r for r in day28.rows if r.series.labels["season"] == "Season 1" and
              r.series.labels["list"] == "GB")  # fmt: skip
    assert [c.point.value if c.point else None for c in gb.cells] == [8, 4, None, None]
    absent = gb.cells[2].point
    assert absent is not None and (absent.start, absent.end) == (
        to_epoch(monday(date(2022, 5, 2))), to_epoch(monday(date(2022, 5, 9))),
    )  # fmt: skip
    # Day 35 (2022-05-27) lies after every stored week: nothing is known, nothing carried.
    assert by_list[("FR", "Season 1")] == [VALUE, VALUE, VALUE, NO_VALUE]


def test_the_period_containing_the_event_is_the_events(store: Store) -> None:
    seed_charts(store)
    query = HistoryQuery("Show", labels={"list": "GB", "season": "Season 1"},
                         event=("launch", LAUNCH))  # fmt: skip
    (gb,) = read.history(store, query).series
    first, second, *rest = gb.points
    assert (first.value, first.phase, first.day, first.day_end) == (8, "event", -4, 2)
    assert (second.value, second.phase, second.day, second.day_end) == (4, "after", 3, 9)
    # The weeks of the same listing without the series are in the history too, marked.
    assert [(p.status, p.value) for p in rest] == [(NOT_IN_CHART, None)] * len(rest)
    assert gb.to_dict()["points"][0]["end"] == "2022-04-25T00:00:00+00:00"


def test_resampled_buckets_say_their_start_and_end(store: Store) -> None:
    start = datetime(2024, 1, 1, 6, tzinfo=UTC)  # a Monday
    store.write("bluesky", [
        Observation("followers", "did:plc:kit", 100 + k, start + timedelta(days=k), "Kit Connor",
                    "kit.bsky.social")
        for k in range(20)
    ])  # fmt: skip
    result = read.history(store, HistoryQuery("kit connor", every=14 * 86400))
    (kit,) = result.series
    spans = [(p.start, p.end, p.value) for p in kit.points]
    fortnight = 14 * 86400
    # Fortnights counted in whole weeks from a Monday: 2023-12-25 .. 01-07, 01-08 .. 01-21;
    # each bucket holds its last value and says where it ends.
    at = [to_epoch(datetime(2023, 12, 25, tzinfo=UTC)) + k * fortnight for k in range(3)]
    assert spans == [(at[0], at[1], 106), (at[1], at[2], 119)]
    assert result.to_dict()["query"]["every_seconds"] == fortnight


def test_a_subject_by_name_handle_tag_or_platform_id(store: Store) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    store.write("bluesky", [Observation("followers", "did:plc:kit", 5, start, "Kit Connor",
                                        "kit.bsky.social")])  # fmt: skip
    store.write("mastodon", [Observation("hashtag_uses", "heartstopper", 7, start,
                                         "#heartstopper", "#heartstopper")])  # fmt: skip
    for name in ("KIT CONNOR", "Kit.Bsky.Social", "did:plc:KIT"):
        (found,) = read.series(store, name)
        assert (found.subject, found.points) == ("Kit Connor", 1), name
    (tag,) = read.series(store, "#HeartStopper")
    assert tag.subject == "#heartstopper"
    with pytest.raises(UnknownName, match=r"did you mean 'Kit Connor'"):
        read.series(store, "Kit Conor")
    with pytest.raises(UnknownName, match=r"^no platform named 'blusky'; did you mean"):
        read.series(store, "Kit Connor", platform="blusky")
    with pytest.raises(UnknownName, match=r"^no 'folowers' series on bluesky; did you"):
        read.series(store, "Kit Connor", platform="bluesky", metric="folowers")


def test_series_counts_points_in_grouped_statements_beyond_one_chunk(store: Store) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(3):
        store.write("bluesky", [
            Observation("followers", f"did:plc:{i}", 10 * i + d, start + timedelta(days=d),
                        f"Subject {i}", f"s{i}.bsky.social")
            for d in range(i + 1)
        ])  # fmt: skip
    ids = {s.key: s.id for s in store.find_series(source="bluesky")}
    # 1,200 ids: three statements; ids with no points (or no series) are simply absent.
    asked = [*range(10_000, 11_197), *ids.values()]
    t0 = to_epoch(start)
    assert store.extents(asked) == {
        ids[f"did:plc:{i}"]: (i + 1, t0, t0 + i * 86_400) for i in range(3)
    }
    listed = {r.key: (r.points, r.first, r.last) for r in read.series(store, platform="bluesky")}
    assert listed["did:plc:2"] == (3, t0, t0 + 2 * 86_400)


def test_series_in_natural_order(store: Store) -> None:
    seed_charts(store)
    listed = read.series(store, "show", metric="chart_rank")
    order = [(s.labels["country"], s.labels["season"]) for s in listed]
    assert order == [("FR", "Season 1"), ("GB", "Season 1"), ("GB", "Season 2"),
                     ("GB", "Season 10")]  # fmt: skip
    assert [s.points for s in listed] == [4, 2, 1, 1]
    record = listed[0].to_dict()
    assert record["first"] == "2022-04-18T00:00:00+00:00" and record["labels"]["list"] == "FR"


# -- the real Netflix files -----------------------------------------------------------------
def tracker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return entry.run(*args, env=env)


@real_data
def test_compare_and_claims_agree_on_every_claim_on_the_real_files(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    env = tracker_env(SHIPPED, database_url)
    for path in (COUNTRIES, GLOBAL_2022):
        done = tracker(env, "import", "netflix-top10", str(path))
        assert done.returncode == 0, done.stderr
    config = config_module.load(SHIPPED)
    claims = {v.name: v for v in read.claims(config, store)}
    compared = {v.name: v for v in read.compare(config, store) if v.role == "claim"}
    assert config.campaign is not None
    assert set(claims) == set(compared) == {c.name for c in config.campaign.claims}
    for name, verdict in claims.items():
        other = compared[name]
        assert (other.verdict, other.measured, other.summary, other.evidence) == (
            verdict.verdict, verdict.measured, verdict.summary, verdict.evidence,
        ), name  # fmt: skip
    top10 = compared["netflix-top10-countries"]
    assert (top10.verdict, top10.measured) == ("confirmed", 54)

    # The same through the commands' JSON.
    by_command = json.loads(tracker(env, "compare", "--format", "json").stdout)["references"]
    claimed = json.loads(tracker(env, "claims", "--format", "json").stdout)["claims"]
    pairs = {r["name"]: (r["verdict"], r["measured"]) for r in by_command if r["role"] == "claim"}
    assert pairs == {c["name"]: (c["verdict"], c["measured"]) for c in claimed}


@real_data
def test_day_28_after_the_renewal_carries_no_rank_on_the_real_files(
    store: Store, database_url: str
) -> None:
    env = tracker_env(SHIPPED, database_url)
    done = tracker(env, "import", "netflix-top10", str(COUNTRIES))
    assert done.returncode == 0, done.stderr
    renewal = date(2022, 5, 20)
    table = read.values_at(store, ["Heartstopper"], [0, 28], ("renewal", renewal), "netflix")
    assert len(table.rows) == 54  # one series per country list
    moments = [to_epoch(datetime(2022, 5, 20, 23, 59, 59, tzinfo=UTC)),
               to_epoch(datetime(2022, 6, 17, 23, 59, 59, tzinfo=UTC))]  # fmt: skip
    for row in table.rows:
        for cell, moment in zip(row.cells, moments, strict=True):
            p = cell.point
            # A rank shown holds at that moment: its week contains it. Never a stale rank.
            assert p is None or (p.end is not None and p.start <= moment < p.end)
    day0 = {r.series.labels["list"]: r.cells[0] for r in table.rows}
    # The week of 2022-05-16: in the Top 10 of 2 countries, "not in chart" in the other 52.
    assert sum(c.status == VALUE for c in day0.values()) == 2
    assert sum(c.status == NOT_IN_CHART for c in day0.values()) == 52
    assert {r.cells[1].status for r in table.rows} == {NO_VALUE}  # no listing stored then
    gb = read.history(store, HistoryQuery("heartstopper", "netflix", labels={"list": "GB"},
                                          event=("launch", LAUNCH)))  # fmt: skip
    (series,) = gb.series
    assert series.points[0].phase == "event"  # the launch week is the launch's, not "before"
    assert series.series.labels["country"] == "United Kingdom"


def test_an_import_line_accounts_for_every_row() -> None:
    from dataclasses import dataclass, field

    from tracker.commands.importing import counts_line

    @dataclass
    class Done:
        read: int
        stored: int
        present: int
        refused: dict[str, int] = field(default_factory=dict)

    assert counts_line("c.tsv", Done(10, 7, 3)) == (
        "c.tsv: 10 row(s) read: 7 stored, 3 already present, 0 refused"
    )
    line = counts_line("c.tsv", Done(12, 7, 2, {"same title twice in one list and week": 3}))
    assert line.endswith("3 refused (same title twice in one list and week: 3)")
    assert "unaccounted" in counts_line("c.tsv", Done(5, 1, 1))


@real_data
def test_the_commands_contracts_on_the_real_files(store: Store, database_url: str) -> None:
    env = tracker_env(SHIPPED, database_url, COLUMNS="80")
    done = tracker(env, "import", "netflix-top10", str(COUNTRIES))
    assert done.returncode == 0, done.stderr
    at = ("compare", "Heartstopper", "--at", "day0", "--at", "day+28", "--relative-to", "renewal")
    as_csv = tracker(env, *at, "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    header = as_csv.stdout.splitlines()[0].split(",")
    assert header == [
        "subject", "platform", "metric", "key", "label", "day", "status", "start", "end",
        "value", "backfilled", "label.category", "label.country", "label.list", "label.season",
    ]  # fmt: skip
    # Each label its own column; country names whole; sorted by country name.
    countries = [r["label.country"] for r in rows if r["day"] == "day0"]
    assert countries == sorted(countries, key=str.casefold) and "Slovakia" in countries
    gb = [r for r in rows if r["label.list"] == "GB"]
    assert [(r["day"], r["status"], r["value"]) for r in gb] == [
        ("day0", "value", "7"), ("day+28", NO_VALUE, ""),
    ]  # fmt: skip
    table = tracker(env, *at)
    assert table.returncode == 0, table.stderr
    assert all(len(line) <= 80 for line in table.stdout.splitlines()), table.stdout
    assert "country=Slovakia" in table.stdout and "not in chart (2022-05-16..05-22)" in table.stdout
    history = tracker(env, "history", "heartstopper", "--label", "list=SK", "--format", "csv")
    assert history.returncode == 0, history.stderr
    (first, second, *_) = list(csv.DictReader(io.StringIO(history.stdout)))
    # The launch week: Slovakia's list (the per-country lists of that week, in the store for
    # other countries) was published without it: not in chart. Then its first week in it.
    assert (first["label.country"], first["status"], first["value"], first["end"]) == (
        "Slovakia", NOT_IN_CHART, "", "2022-04-25T00:00:00+00:00",
    )  # fmt: skip
    assert (second["label.country"], second["backfilled"], second["end"]) == (
        "Slovakia", "false", "2022-05-02T00:00:00+00:00",
    )  # fmt: skip
    assert second["status"] == "value" and int(second["value"]) > 0


def test_lists_of_another_period_are_another_listing(store: Store) -> None:
    seed_charts(store)
    monthly = {"list": "paperback-monthly"}
    store.write("nyt", [
        Observation("chart_rank", "show|monthly", 3, datetime(2022, 4, 1, tzinfo=UTC), "Show",
                    "SHOW", monthly, timedelta(days=30)),
        Observation("chart_rank", "show|monthly", 5, datetime(2022, 6, 1, tzinfo=UTC), "Show",
                    "SHOW", monthly, timedelta(days=30)),
    ])  # fmt: skip
    result = read.history(store, HistoryQuery("Show", metric="chart_rank"))
    statuses = {s.series.labels["list"]: [p.status for p in s.points] for s in result.series}
    # The weekly lists' weeks say nothing about the monthly list (nor about another source).
    assert statuses["paperback-monthly"] == [VALUE, VALUE]
    assert NOT_IN_CHART in statuses["GB"]


@real_data
def test_the_report_puts_the_launch_week_with_the_launch(store: Store, database_url: str) -> None:
    from tracker import report

    env = tracker_env(SHIPPED, database_url)
    done = tracker(env, "import", "netflix-top10", str(GLOBAL_2022))
    assert done.returncode == 0, done.stderr
    config = config_module.load(SHIPPED)
    assert config.campaign is not None
    lo, hi = report._window(config.campaign)
    charts, _ = report._charts(config, store, config.campaign, lo, hi)
    hours = next(c for c in charts if c.metric == "hours_viewed")
    # 14.55M hours in the week of 04-18 .. 04-24, which holds the launch (04-22): no line
    # calls it the last measurement before the launch.
    assert [(p.value, p.end - p.start) for p in hours.points][:1] == [(14_550_000, 7 * 86400)]
    assert [line.kind for line in hours.lines] == []
