from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from tests.fakes.netflix import MOVED_PAGE, PREFIX, FakeNetflix
from tracker.collectors.base import Observation, Request, Target
from tracker.collectors.netflix import NetflixCollector, NetflixSettings, parse_file, parse_tsv
from tracker.errors import BadPayload, RateLimited, TemporaryError

AT = datetime(2022, 5, 25, tzinfo=UTC)
HEARTSTOPPER = Target("chart", "Heartstopper", "Heartstopper")

# The column layouts Netflix has published (see shared/data/netflix-top10/README.md).
GLOBAL_2022 = [
    "week", "category", "weekly_rank", "show_title", "season_title",
    "weekly_hours_viewed", "cumulative_weeks_in_top_10",
]  # fmt: skip
GLOBAL_2026 = [
    "week", "category", "weekly_rank", "show_title", "season_title",
    "weekly_hours_viewed", "runtime", "weekly_views", "cumulative_weeks_in_top_10",
]  # fmt: skip
COUNTRIES = [
    "country_name", "country_iso2", "week", "category", "weekly_rank",
    "show_title", "season_title", "cumulative_weeks_in_top_10",
]  # fmt: skip


def tsv(columns: Sequence[str], rows: Sequence[Mapping[str, str]], newline: str = "\n") -> str:
    """A Top 10 file in Netflix's format; a row's missing columns are left blank."""
    lines = ["\t".join(columns)]
    lines += ["\t".join(row.get(c, "") for c in columns) for row in rows]
    return newline.join(lines) + newline


def show(week: str, rank: int, title: str, season: str, hours: int, **extra: str) -> dict[str, str]:
    row = {
        "week": week,
        "category": "TV (English)",
        "weekly_rank": str(rank),
        "show_title": title,
        "season_title": season,
        "weekly_hours_viewed": str(hours),
        "cumulative_weeks_in_top_10": "1",
    }
    return row | extra


S1 = "Heartstopper: Season 1"
ROWS_2022 = [
    show("2022-05-01", 5, "Heartstopper", S1, 23940000),
    show("2022-04-24", 7, "Heartstopper", S1, 14550000),
    show("2022-04-24", 1, "Senior Year", "N/A", 62420000, category="Films (English)"),
]
ROWS_2026 = [
    show("2024-10-06", 4, "Heartstopper", "Heartstopper: Season 3", 21300000,
         runtime="4.7167", weekly_views="4500000"),
    show("2022-04-24", 7, "Heartstopper", S1, 14550000),  # before views were published
]  # fmt: skip
ROWS_COUNTRIES = [
    {"country_name": "Brazil", "country_iso2": "BR", "week": "2022-05-01", "category": "TV",
     "weekly_rank": "3", "show_title": "Heartstopper", "season_title": S1},
    {"country_name": "United Kingdom", "country_iso2": "GB", "week": "2022-05-01",
     "category": "TV", "weekly_rank": "1", "show_title": "Heartstopper", "season_title": S1},
    {"country_name": "Spain", "country_iso2": "ES", "week": "2022-10-30", "category": "Films",
     "weekly_rank": "9", "show_title": 'Yo, "El Vaquilla"', "season_title": "N/A"},
]  # fmt: skip
TITLES = {"Heartstopper": "Heartstopper"}


def values(observations: list[Observation], metric: str) -> list[tuple[str, int]]:
    return [(f"{o.at:%Y-%m-%d}", o.value) for o in observations if o.metric == metric]


# -- parse_tsv -------------------------------------------------------------------------
def test_global_2022_layout() -> None:
    parsed = parse_tsv(tsv(GLOBAL_2022, ROWS_2022), TITLES, "all-weeks-global.tsv")
    assert parsed.failures == {}
    # at is the Monday starting the week whose Sunday the file names
    assert values(parsed.observations, "chart_rank") == [("2022-04-25", 5), ("2022-04-18", 7)]
    assert values(parsed.observations, "hours_viewed") == [
        ("2022-04-25", 23940000),
        ("2022-04-18", 14550000),
    ]
    assert values(parsed.observations, "views") == []
    rank = parsed.observations[0]
    assert rank.key == "Heartstopper|Heartstopper: Season 1|global|TV (English)"
    assert rank.labels == {"list": "global", "category": "TV (English)", "season": S1}
    assert rank.at == datetime(2022, 4, 25, tzinfo=UTC) and rank.period == timedelta(days=7)
    assert (rank.subject, rank.label) == ("Heartstopper", "Heartstopper")


def test_global_2026_layout_adds_views_where_published() -> None:
    parsed = parse_tsv(tsv(GLOBAL_2026, ROWS_2026), TITLES, "all-weeks-global.tsv")
    assert parsed.failures == {}
    assert values(parsed.observations, "views") == [("2024-09-30", 4500000)]
    assert values(parsed.observations, "chart_rank") == [("2024-09-30", 4), ("2022-04-18", 7)]


def test_columns_are_read_by_name() -> None:
    shuffled = list(reversed(GLOBAL_2026))
    straight = parse_tsv(tsv(GLOBAL_2026, ROWS_2026), TITLES, "g")
    reordered = parse_tsv(tsv(shuffled, ROWS_2026), TITLES, "g")
    assert reordered == straight


def test_countries_file() -> None:
    parsed = parse_tsv(tsv(COUNTRIES, ROWS_COUNTRIES), {"Heartstopper": "HS"}, "c")
    assert [o.metric for o in parsed.observations] == ["chart_rank", "chart_rank"]
    brazil = parsed.observations[0]
    assert brazil.key == "Heartstopper|Heartstopper: Season 1|BR|TV"
    assert brazil.labels == {"list": "BR", "country": "Brazil", "category": "TV", "season": S1}
    assert (brazil.subject, brazil.value) == ("HS", 3)


def test_every_title_when_titles_is_none_and_crlf_lines() -> None:
    parsed = parse_tsv(tsv(COUNTRIES, ROWS_COUNTRIES, newline="\r\n"), None, "c")
    assert {o.subject for o in parsed.observations} == {"Heartstopper", 'Yo, "El Vaquilla"'}
    assert parsed.observations[-1].labels["list"] == "ES"


def test_title_that_never_charted_yields_nothing() -> None:
    parsed = parse_tsv(tsv(GLOBAL_2022, ROWS_2022), {"Heartstoper": "Heartstopper"}, "g.tsv")
    assert parsed.observations == []
    # Absent is not a failure: most charted titles are absent from most weeks' lists.
    assert parsed.failures == {}


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        ({"weekly_rank": "five"}, "weekly_rank"),
        ({"weekly_rank": "0"}, "weekly_rank 0"),
        ({"weekly_rank": "-5"}, "weekly_rank"),
        ({"weekly_hours_viewed": "23.9M"}, "weekly_hours_viewed"),
        ({"weekly_hours_viewed": ""}, "weekly_hours_viewed"),
        ({"weekly_views": "lots"}, "weekly_views"),
        ({"week": "2022-05-02"}, "not a Sunday"),
        ({"week": "May 1"}, "not a date"),
    ],
)
def test_malformed_row_is_skipped_and_reported(change: dict[str, str], cause: str) -> None:
    rows = [ROWS_2026[0] | change, ROWS_2026[1]]
    parsed = parse_tsv(tsv(GLOBAL_2026, rows), TITLES, "g")
    assert list(parsed.failures) == ["row 2"] and cause in parsed.failures["row 2"]
    assert values(parsed.observations, "chart_rank") == [("2022-04-18", 7)]


def test_row_with_wrong_field_count_is_reported() -> None:
    text = tsv(GLOBAL_2022, ROWS_2022) + "2022-05-08\tTV (English)\t6\tHeartstopper\n"
    parsed = parse_tsv(text, TITLES, "g")
    assert parsed.failures == {"row 5": "4 fields, header has 7"}
    assert len(values(parsed.observations, "chart_rank")) == 2


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("", "empty body"),
        ("\n\n", "empty body"),
        ("null", "JSON null"),
        (MOVED_PAGE.decode(), "HTML.*Moved Permanently"),
        ("week,category,weekly_rank,show_title\n", "not a tab-separated header"),
        (tsv([c for c in GLOBAL_2022 if c != "weekly_rank"], []), "lacks column.*weekly_rank"),
        (tsv(GLOBAL_2022[:5], []), "global header lacks column.*weekly_hours_viewed"),
        (tsv([c for c in COUNTRIES if c != "country_iso2"], []), "countries.*country_iso2"),
        (tsv(GLOBAL_2022 + ["week"], []), "repeated column"),
    ],
)
def test_not_a_top10_file(text: str, cause: str) -> None:
    with pytest.raises(BadPayload, match=cause):
        parse_tsv(text, TITLES, "all-weeks-global.tsv")


def test_parse_file_tells_global_from_countries(tmp_path: Path) -> None:
    (tmp_path / "g.tsv").write_text(tsv(GLOBAL_2026, ROWS_2026), encoding="utf-8")
    (tmp_path / "c.tsv").write_text(tsv(COUNTRIES, ROWS_COUNTRIES), encoding="utf-8")
    lists = {o.labels["list"] for o in parse_file(tmp_path / "g.tsv").observations}
    assert lists == {"global"}
    countries = parse_file(tmp_path / "c.tsv").observations
    assert {o.labels["list"] for o in countries} == {"BR", "GB", "ES"}


# -- collector -------------------------------------------------------------------------
def collector(base_url: str = "https://www.netflix.com/tudum/top10/data") -> NetflixCollector:
    return NetflixCollector(NetflixSettings(base_url=base_url))


def test_settings() -> None:
    settings = NetflixSettings()  # type: ignore[call-arg]
    assert settings.files == ["global", "countries"]
    assert settings.interval == timedelta(days=1)
    with pytest.raises(ValidationError, match="unknown file"):
        NetflixSettings(files=["global", "kids"])  # type: ignore[call-arg]


def test_plan_one_request_per_file_for_all_charts() -> None:
    other = Target("chart", "Squid Game", "Squid Game")
    requests = collector().plan([HEARTSTOPPER, Target("page", "X", "X"), other])
    assert [r.url for r in requests] == [
        "https://www.netflix.com/tudum/top10/data/all-weeks-global.tsv",
        "https://www.netflix.com/tudum/top10/data/all-weeks-countries.tsv",
    ]
    assert all(r.targets == (HEARTSTOPPER, other) for r in requests)
    assert collector().plan([]) == []


def test_error_classifies_answers() -> None:
    netflix = collector()
    assert netflix.error(200, {}, b"week\t...") is None
    moved = netflix.error(301, {"location": "https://x/y.tsv"}, MOVED_PAGE)
    assert isinstance(moved, BadPayload) and "https://x/y.tsv" in moved.cause
    assert isinstance(netflix.error(429, {}, b""), RateLimited)
    assert type(netflix.error(503, {}, b"")) is TemporaryError


# -- over real sockets -----------------------------------------------------------------
async def exchange(
    netflix: NetflixCollector, request: Request, follow: bool = True
) -> tuple[int, Mapping[str, str], bytes]:
    async with httpx.AsyncClient(timeout=1.0, follow_redirects=follow) as client:
        response = await netflix.fetch(client, request)
        return response.status_code, response.headers, response.content


def fake() -> FakeNetflix:
    return FakeNetflix(tsv(GLOBAL_2026, ROWS_2026), tsv(COUNTRIES, ROWS_COUNTRIES))


def test_fetch_and_parse_both_files() -> None:
    with fake() as server:
        netflix = collector(server.url + PREFIX)
        found = []
        for request in netflix.plan([HEARTSTOPPER]):
            status, headers, body = asyncio.run(exchange(netflix, request))
            assert netflix.error(status, headers, body) is None
            found += netflix.parse(request, body, AT).observations
    assert {o.labels["list"] for o in found} == {"global", "BR", "GB"}
    assert len(values(found, "views")) == 1


def test_redirect_is_followed() -> None:
    with fake() as server:
        server.moved["/data"] = PREFIX
        netflix = collector(server.url + "/data")
        request = netflix.plan([HEARTSTOPPER])[0]
        status, headers, body = asyncio.run(exchange(netflix, request))
        parsed = netflix.parse(request, body, AT)
        paths = [seen.path for seen in server.requests]
    assert paths == ["/data/all-weeks-global.tsv", f"{PREFIX}/all-weeks-global.tsv"]
    assert status == 200 and len(values(parsed.observations, "chart_rank")) == 2


def test_redirect_that_reaches_the_collector_is_bad_payload() -> None:
    with fake() as server:
        server.moved["/data"] = PREFIX
        netflix = collector(server.url + "/data")
        request = netflix.plan([HEARTSTOPPER])[0]
        status, headers, body = asyncio.run(exchange(netflix, request, follow=False))
    error = netflix.error(status, headers, body)
    assert status == 301 and isinstance(error, BadPayload)
    assert f"{PREFIX}/all-weeks-global.tsv" in error.cause


@pytest.mark.parametrize(
    ("arrange", "cause"),
    [
        (FakeNetflix.moved_page_next, "HTML"),
        (FakeNetflix.null_next, "null"),
        (FakeNetflix.empty_next, "empty body"),
    ],
)
def test_bodies_that_are_not_a_tsv(arrange: object, cause: str) -> None:
    with fake() as server:
        arrange(server)  # type: ignore[operator]
        netflix = collector(server.url + PREFIX)
        request = netflix.plan([HEARTSTOPPER])[0]
        status, headers, body = asyncio.run(exchange(netflix, request))
    assert status == 200 and netflix.error(status, headers, body) is None
    with pytest.raises(BadPayload, match=cause):
        netflix.parse(request, body, AT)
