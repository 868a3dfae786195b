"""The collector against Netflix's real published files, and the article's Heartstopper claim.

The files live outside the repository (../shared/data/netflix-top10/, read-only); these tests
skip where that folder is absent.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from tracker.collectors.base import Observation
from tracker.collectors.netflix import parse_file, parse_tsv

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "netflix-top10"
COUNTRIES = DATA / "all-weeks-countries.to-2022-11-13.tsv"
GLOBAL_2022 = DATA / "all-weeks-global.2022-05-25.tsv"
GLOBAL_2026 = DATA / "all-weeks-global.2026-07-22.tsv"

pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"real Netflix Top 10 files not found at {DATA}"
)
TITLES = {"Heartstopper": "Heartstopper"}


def week_ending(observation: Observation) -> date:
    """Observations sit on the Monday; the files and the article name the Sunday."""
    return (observation.at + timedelta(days=6)).date()


def ranks(path: Path) -> list[Observation]:
    parsed = parse_tsv(path.read_text(encoding="utf-8"), TITLES, path.name)
    assert parsed.failures == {}
    return [o for o in parsed.observations if o.metric == "chart_rank"]


def test_heartstopper_charted_in_54_countries() -> None:
    launch = [
        o for o in ranks(COUNTRIES) if date(2022, 4, 24) <= week_ending(o) <= date(2022, 5, 22)
    ]
    assert len({o.labels["list"] for o in launch}) == 54
    per_week = Counter(week_ending(o) for o in launch)
    assert [per_week[date(2022, 4, 24) + timedelta(weeks=i)] for i in range(5)] == [
        12,
        54,
        22,
        3,
        2,
    ]
    assert {o.labels["category"] for o in launch} == {"TV"}


def test_heartstopper_global_tv_english_ranks() -> None:
    found = {
        week_ending(o): o.value
        for o in ranks(GLOBAL_2022)
        if o.labels["category"] == "TV (English)"
    }
    assert found == {date(2022, 4, 24): 7, date(2022, 5, 1): 5, date(2022, 5, 8): 6}


def test_2026_layout_parses_with_views() -> None:
    parsed = parse_tsv(GLOBAL_2026.read_text(encoding="utf-8"), TITLES, GLOBAL_2026.name)
    assert parsed.failures == {}
    seasons = {o.labels["season"] for o in parsed.observations}
    assert "Heartstopper: Season 3" in seasons and "Heartstopper: Season 1" in seasons
    views = {week_ending(o): o.value for o in parsed.observations if o.metric == "views"}
    assert views[date(2024, 10, 6)] == 4_500_000
    # Netflix published no views for 2022; those weeks must stay without a value.
    assert all(week.year >= 2023 for week in views)


def test_whole_files_parse_without_failures() -> None:
    countries = parse_file(COUNTRIES)
    assert countries.failures == {}
    assert len(countries.observations) == 134_620
    latest = parse_file(GLOBAL_2026)
    assert latest.failures == {}
    assert {o.metric for o in latest.observations} == {"chart_rank", "hours_viewed", "views"}
