"""Web pages `parse`, edge by edge: pages in, figures and failures out (mutation-tested)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tracker.collectors.base import Observation, Parsed, Request, Target
from tracker.collectors.web import WebPageCollector, WebSettings, read_number
from tracker.errors import BadPayload

AT = datetime(2022, 5, 17, 8, 0, tzinfo=UTC)
URL = "https://example.org/chart"
ROW = r"(?P<title>{title}) is No\. (?P<rank>\d+) with (?P<value>[\d.]+) (?:million )?views"


def collector(**fields: Any) -> WebPageCollector:
    rule = {"name": "chart", "url": URL, "pattern": ROW, "extra_metrics": {"views": "value"}}
    return WebPageCollector(WebSettings(pages=[rule | fields]))


def parse(body: str, *titles: str, **fields: Any) -> Parsed:
    targets = tuple(Target("chart", t, f"subject {t}", (("page", "chart"),)) for t in titles)
    return collector(**fields).parse(Request(targets=targets, url=URL), body.encode(), AT)


PAGE = """<html><body><script>var x = "Alpha is No. 9 with 9 views";</script>
<p>Alpha is No. 1 with 2.5 million views.</p><p>Beta is No. 2 with 900 views</p>
<p>Gamma is No. 3 with 1.5 views</p></body></html>"""


def test_each_title_reads_its_own_figures() -> None:
    parsed = parse(PAGE, "alpha", "Beta")
    assert parsed.failures == {}
    assert parsed.observations == [
        Observation("chart_rank", "chart:alpha", 1, AT, "subject alpha", "Alpha",
                    {"page": "chart"}),
        Observation("views", "chart:alpha", 2_500_000, AT, "subject alpha", "Alpha",
                    {"page": "chart"}, sig=2),
        Observation("chart_rank", "chart:beta", 2, AT, "subject Beta", "Beta", {"page": "chart"}),
        Observation("views", "chart:beta", 900, AT, "subject Beta", "Beta", {"page": "chart"}),
    ]  # fmt: skip


def test_a_title_not_on_the_page_fails_and_the_next_is_read() -> None:
    parsed = parse(PAGE, "Delta", "Beta")
    assert parsed.failures == {"Delta": f"nothing matched {ROW}"}
    assert {o.label for o in parsed.observations} == {"Beta"}


def test_a_figure_that_is_not_whole_is_a_failure_beside_the_figures_read() -> None:
    parsed = parse(PAGE, "Gamma", "Beta")
    assert parsed.failures == {"Gamma": "views: page changed? '1.5' is not a whole number"}
    assert [(o.label, o.metric) for o in parsed.observations] == [
        ("Gamma", "chart_rank"),
        ("Beta", "chart_rank"),
        ("Beta", "views"),
    ]


def test_every_figure_that_fails_is_named() -> None:
    page = "<p>Gamma is No. 3 with 1.5 views</p>"
    fields = {"extra_metrics": {"views": "value", "again": "value"}}
    parsed = parse(page, "Gamma", **fields)
    assert parsed.failures == {
        "Gamma": "views: page changed? '1.5' is not a whole number; "
        "again: page changed? '1.5' is not a whole number"
    }


def test_a_selector_that_finds_nothing_fails_naming_it_and_the_next_is_read() -> None:
    page = '<ul><li data-title="Beta">No. 2</li></ul>'
    fields = {"pattern": "", "extra_metrics": {}, "selector": "li[data-title={title}]"}
    parsed = parse(page, "Alpha", "Beta", **fields)
    assert parsed.failures == {"Alpha": 'nothing matched li[data-title="Alpha"]'}
    assert [(o.label, o.value) for o in parsed.observations] == [("Beta", 2)]


def test_a_page_with_text_but_no_elements_is_refused() -> None:
    with pytest.raises(BadPayload, match="^no HTML elements in the page$"):
        parse("<!-- nothing here -->", "Alpha")


def test_a_page_with_leading_blank_lines_is_html() -> None:
    assert parse("\n\n   " + PAGE, "Beta").failures == {}


def test_a_pattern_reads_inside_a_block_and_never_out_of_it() -> None:
    split = "<div><p>Alpha is No. 1 with 2</p><p>views</p></div>"
    assert parse(split, "Alpha").failures == {"Alpha": f"nothing matched {ROW}"}
    inline = "<p>Alpha is No. 1 with 2 <b>views</b></p>"
    assert [o.value for o in parse(inline, "Alpha").observations] == [1, 2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nothing here at all, not even a figure, just words and words and words", "^no number in "
         "'nothing here at all, not even a figure, just words and words'$"),
        ("2.5", r"^'2\.5' is not a whole number$"),
        ("1.2345678 million", r"^'1\.2345678 million' is not a whole number$"),
    ],
)  # fmt: skip
def test_read_number_says_what_it_could_not_read(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_number(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2 million", (2_000_000, 1)), ("0.5 million", (500_000, 1)),
     ("1.50 million", (1_500_000, 3))],
)  # fmt: skip
def test_read_number_counts_the_figures_written(text: str, expected: tuple[int, int]) -> None:
    assert read_number(text) == expected
