"""Netflix Top 10 `parse`, edge by edge: TSV files in, ranks and hours out (mutation-tested)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracker.collectors.base import Observation, Parsed, Request, Target
from tracker.collectors.netflix import NetflixCollector, NetflixSettings, parse_tsv
from tracker.errors import BadPayload

AT = datetime(2022, 5, 25, tzinfo=UTC)
URL = "https://www.netflix.com/tudum/top10/data/all-weeks-global.tsv"
WEEK = timedelta(days=7)
MONDAY = datetime(2022, 4, 25, tzinfo=UTC)  # the week ending Sunday 2022-05-01
S1 = "Heartstopper: Season 1"
GLOBAL = ("week", "category", "weekly_rank", "show_title", "season_title", "weekly_hours_viewed")


def tsv(columns: tuple[str, ...], *rows: tuple[str, ...], newline: str = "\n") -> bytes:
    return newline.join("\t".join(line) for line in (columns, *rows)).encode() + newline.encode()


def parse(body: bytes, url: str = URL, titles: tuple[str, ...] = ("Heartstopper",)) -> Parsed:
    c = NetflixCollector(NetflixSettings())
    targets = tuple(Target("chart", t, f"subject {t}") for t in titles)
    return c.parse(Request(targets=targets, url=url), body, AT)


def global_row(
    rank: str = "5", hours: str = "23940000", title: str = "Heartstopper"
) -> tuple[str, ...]:
    return ("2022-05-01", "TV (English)", rank, title, S1, hours)


def test_a_global_row_is_a_rank_and_hours_on_the_monday() -> None:
    parsed = parse(tsv(GLOBAL, global_row()))
    assert parsed.failures == {}
    labels = {"list": "global", "category": "TV (English)", "season": S1}
    key = f"Heartstopper|{S1}|global|TV (English)"
    assert parsed.observations == [
        Observation("chart_rank", key, 5, MONDAY, "subject Heartstopper", "Heartstopper", labels,
                    WEEK),
        Observation("hours_viewed", key, 23_940_000, MONDAY, "subject Heartstopper",
                    "Heartstopper", labels, WEEK),
    ]  # fmt: skip


def test_columns_are_read_by_name_in_any_order_views_first_too() -> None:
    columns = ("weekly_views", "show_title", "weekly_hours_viewed", "season_title", "weekly_rank",
               "category", "week")  # fmt: skip
    row = ("4500000", "Heartstopper", "21300000", S1, "4", "TV (English)", "2022-05-01")
    parsed = parse(tsv(columns, row))
    assert [(o.metric, o.value) for o in parsed.observations] == [
        ("chart_rank", 4),
        ("hours_viewed", 21_300_000),
        ("views", 4_500_000),
    ]


def test_a_country_row_is_a_rank_under_its_country_code() -> None:
    columns = ("country_name", "country_iso2", "week", "category", "weekly_rank", "show_title",
               "season_title", "cumulative_weeks_in_top_10")  # fmt: skip
    row = ("United Kingdom", "GB", "2022-05-01", "TV", "1", "Heartstopper", S1, "2")
    (observation,) = parse(tsv(columns, row)).observations
    assert observation == Observation(
        "chart_rank", f"Heartstopper|{S1}|GB|TV", 1, MONDAY, "subject Heartstopper", "Heartstopper",
        {"list": "GB", "category": "TV", "season": S1, "country": "United Kingdom"}, WEEK,
    )  # fmt: skip


def test_windows_line_ends_and_a_blank_line_lose_no_row() -> None:
    # show_title last, so a left-over "\r" would hide the title; the "X" ending it must stay.
    columns = ("week", "category", "weekly_rank", "season_title", "weekly_hours_viewed",
               "show_title")  # fmt: skip
    rows = [("2022-05-01", "TV", "3", "N/A", "100", "Malcolm X"), (),
            ("2022-04-24", "TV", "4", "N/A", "90", "Malcolm X")]  # fmt: skip
    parsed = parse(tsv(columns, *rows, newline="\r\n"), titles=("Malcolm X",))
    assert parsed.failures == {}
    assert [(o.at.date().isoformat(), o.value) for o in parsed.observations if o.metric ==
            "chart_rank"] == [("2022-04-25", 3), ("2022-04-18", 4)]  # fmt: skip


def test_rows_of_other_shows_and_cut_rows_are_passed_over_silently() -> None:
    cut = ("2022-05-01", "TV (English)", "1")  # ends before show_title
    other = global_row(title="Senior Year")
    parsed = parse(tsv(GLOBAL, cut, other, global_row("6")))
    assert parsed.failures == {}
    assert [o.value for o in parsed.observations if o.metric == "chart_rank"] == [6]


@pytest.mark.parametrize(
    ("row", "cause"),
    [
        (global_row(rank="x"), "Heartstopper: weekly_rank 'x' is not a whole number"),
        (global_row(rank="0"), "Heartstopper: weekly_rank 0"),
        (global_row(hours="1.5M"),
         "Heartstopper: weekly_hours_viewed '1.5M' is not a whole number"),
        (global_row()[:5] + ("1", "extra"), "7 fields, header has 6"),
        (("2022-05-02",) + global_row()[1:], "Heartstopper: week '2022-05-02' is not a Sunday"),
        (("May 1",) + global_row()[1:], "Heartstopper: week 'May 1' is not a date"),
    ],
)  # fmt: skip
def test_a_malformed_row_is_reported_by_line_and_the_next_is_read(
    row: tuple[str, ...], cause: str
) -> None:
    parsed = parse(tsv(GLOBAL, row, global_row("6")))
    assert parsed.failures == {"row 2": cause}
    assert [o.value for o in parsed.observations if o.metric == "chart_rank"] == [6]


def test_views_that_are_not_a_count_are_reported() -> None:
    parsed = parse(tsv((*GLOBAL, "weekly_views"), (*global_row(), "many")))
    assert parsed.failures == {"row 2": "Heartstopper: weekly_views 'many' is not a whole number"}


@pytest.mark.parametrize("absent", ["", "N/A"])
def test_views_not_yet_published_are_no_value(absent: str) -> None:
    parsed = parse(tsv((*GLOBAL, "weekly_views"), (*global_row(), absent)))
    assert [o.metric for o in parsed.observations] == ["chart_rank", "hours_viewed"]


def test_a_byte_order_mark_is_not_part_of_the_first_column() -> None:
    parsed = parse(b"\xef\xbb\xbf" + tsv(GLOBAL, global_row()))
    assert parsed.failures == {} and len(parsed.observations) == 2


def test_every_show_of_a_file_when_no_titles_are_given() -> None:
    text = tsv(GLOBAL, global_row(), global_row(title="Senior Year")).decode()
    parsed = parse_tsv(text, None, "file.tsv")
    assert {(o.subject, o.label) for o in parsed.observations} == {
        ("Heartstopper", "Heartstopper"),
        ("Senior Year", "Senior Year"),
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "^all-weeks-global.tsv: empty body$"),
        (b"null", "^all-weeks-global.tsv: body is JSON null, not a TSV$"),
        (b"<html><body>Moved</body></html>",
         "^all-weeks-global.tsv: HTML where a TSV was expected: <html><body>Moved</body></html>$"),
        (b"week category weekly_rank " + b"x" * 100,
         "^all-weeks-global.tsv: first line is not a tab-separated header: 'week category "
         "weekly_rank x{54}'$"),
        (b"week\tweek\tcategory\n", r"^all-weeks-global.tsv: repeated column in header \['week', "
                                    r"'week', 'category'\]$"),
        (b"\xff\xfeweek\n", "^not UTF-8 text at byte 0$"),
    ],
)  # fmt: skip
def test_what_is_not_a_top10_file_is_refused_naming_the_file(body: bytes, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse(body)


def test_a_header_lacking_columns_names_them_and_what_it_has() -> None:
    header = b"week\tcategory\tweekly rank\tshow_title\tseason_title\tweekly_hours_viewed\n"
    expected = (
        "all-weeks-global.tsv: global header lacks column(s) weekly_rank (has week, category, "
        "weekly rank, show_title, season_title, weekly_hours_viewed)"
    )
    with pytest.raises(BadPayload) as caught:
        parse(header)
    assert caught.value.cause == expected


def test_a_country_code_column_alone_makes_a_countries_file() -> None:
    header = b"country_iso2\tweek\tcategory\tweekly_rank\tshow_title\tseason_title\n"
    with pytest.raises(
        BadPayload, match="^x.tsv: countries header lacks column\\(s\\) country_name "
    ):
        parse(header, url="https://example.org/data/x.tsv")
