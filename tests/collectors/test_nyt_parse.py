"""NYT Books `parse`, edge by edge: a list in, ranks and weeks out (mutation-tested)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tracker.collectors.base import Observation, Parsed, Request, Target
from tracker.collectors.nyt import NYTBooksCollector, NYTSettings
from tracker.errors import BadPayload

AT = datetime(2022, 5, 20, 12, 0, tzinfo=UTC)
VOL4 = "9781338617535"
VOL1 = "9781338617443"


def book(title: str, isbn: Any, rank: Any = 1, weeks: Any = 3, **more: Any) -> dict[str, Any]:
    return {"title": title, "primary_isbn13": isbn, "rank": rank, "weeks_on_list": weeks,
            "rank_last_week": 2, "author": "Alice Oseman"} | more  # fmt: skip


def answer(*books: Any, updated: str = "WEEKLY", sold: str = "2022-05-14",
           published: str = "2022-05-29") -> dict[str, Any]:  # fmt: skip
    results = {"list_name": "Young Adult Hardcover", "updated": updated, "bestsellers_date": sold,
               "published_date": published, "books": list(books)}  # fmt: skip
    return {"status": "OK", "results": results}


def chart(name: str, subject: str = "Heartstopper", list_: str = "young-adult-hardcover") -> Target:
    return Target("chart", name, subject, (("list", list_),))


def parse(body: Any, *targets: Target) -> Parsed:
    c = NYTBooksCollector(NYTSettings())
    request = Request(targets=targets, url="https://api.nytimes.com/svc/books/v3/lists/x.json")
    return c.parse(request, json.dumps(body).encode(), AT)


def test_a_book_on_a_weekly_list_is_its_rank_and_weeks_on_the_sales_week() -> None:
    body = answer(book("HEARTSTOPPER, VOL. 4", VOL4, 3, 12))
    parsed = parse(body, chart("Heartstopper, Vol. 4"))
    assert parsed.failures == {}
    monday = datetime(2022, 5, 8, tzinfo=UTC)  # the sales week Sunday 2022-05-14 began on
    labels = {"list": "young-adult-hardcover", "published_date": "2022-05-29"}
    key = f"young-adult-hardcover:{VOL4}"
    assert parsed.observations == [
        Observation("chart_rank", key, 3, monday, "Heartstopper", "HEARTSTOPPER, VOL. 4", labels,
                    timedelta(days=7)),
        Observation("weeks_on_list", key, 12, monday, "Heartstopper", "HEARTSTOPPER, VOL. 4",
                    labels, timedelta(days=7)),
    ]  # fmt: skip


def test_a_monthly_list_counts_no_weeks_and_covers_its_month() -> None:
    body = answer(book("HEARTSTOPPER, VOL. 1", VOL1, 2, 0), updated="MONTHLY", sold="2022-04-30")
    parsed = parse(body, chart(VOL1, list_="young-adult-paperback-monthly"))
    (observation,) = parsed.observations
    assert (observation.metric, observation.value) == ("chart_rank", 2)
    assert observation.period == timedelta(days=28)
    assert observation.at + observation.period == datetime(2022, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "name", ["heartstopper,   vol. 4", "Heartstopper, Vol. 4", VOL4, "978-1-338-61753-5"]
)
def test_a_book_is_found_by_title_in_any_case_and_spacing_or_by_isbn(name: str) -> None:
    body = answer(book("HEARTSTOPPER, VOL. 1", VOL1), book("HEARTSTOPPER, VOL. 4", VOL4, 5))
    parsed = parse(body, chart(name))
    assert {(o.key, o.value) for o in parsed.observations if o.metric == "chart_rank"} == {
        (f"young-adult-hardcover:{VOL4}", 5)
    }


def test_an_isbn_target_does_not_match_by_title() -> None:
    body = answer(book("9781338617535", VOL1))
    assert parse(body, chart(VOL4)).observations == []


def test_a_book_off_the_list_is_neither_a_value_nor_a_failure() -> None:
    parsed = parse(answer(book("OTHER", VOL1)), chart("Heartstopper, Vol. 4"))
    assert parsed.observations == [] and parsed.failures == {}


def test_each_target_reads_the_list_and_drift_in_one_book_spares_the_others() -> None:
    body = answer(book("BROKEN", VOL1, rank="first"), book("HEARTSTOPPER, VOL. 4", VOL4, 4))
    parsed = parse(body, chart("broken", "B"), chart("Heartstopper, Vol. 4", "H"))
    assert parsed.failures == {"broken": "results.books[0].rank: expected a count, got 'first'"}
    assert [(o.subject, o.metric) for o in parsed.observations] == [
        ("H", "chart_rank"),
        ("H", "weeks_on_list"),
    ]


@pytest.mark.parametrize(
    ("drifted", "cause"),
    [
        (book("X", "123"), "results.books[0].primary_isbn13: expected 13 digits, got '123'"),
        (book("X", 9781338617535),
         "results.books[0].primary_isbn13: expected 13 digits, got 9781338617535"),
        (book("X", VOL4, rank=0), "results.books[0].rank is 0"),
        (book("X", VOL4, weeks="n/a"),
         "results.books[0].weeks_on_list: expected a count, got 'n/a'"),
        ({"title": "X", "primary_isbn13": VOL4, "weeks_on_list": 1}, "missing field rank"),
    ],
)  # fmt: skip
def test_drift_in_a_book_is_a_failure_naming_the_field(drifted: dict[str, Any], cause: str) -> None:
    parsed = parse(answer(drifted), chart("X"))
    assert parsed.observations == [] and parsed.failures == {"X": cause}


def test_a_book_without_a_title_but_named_by_isbn_fails_naming_the_field() -> None:
    parsed = parse(answer({"primary_isbn13": VOL4, "rank": 1, "weeks_on_list": 1}), chart(VOL4))
    assert parsed.failures == {VOL4: "missing field title"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (answer(updated="DAILY"), "^results.updated: expected WEEKLY or MONTHLY, got 'DAILY'$"),
        (answer(sold="14/05/2022"),
         "^results.bestsellers_date: expected YYYY-MM-DD, got '14/05/2022'$"),
        (answer(published="soon"), "^results.published_date: expected YYYY-MM-DD, got 'soon'$"),
        (answer("junk"), r"^results.books\[0\]: expected an object, got 'junk'$"),
        ({"status": "OK", "results": {"books": []}}, "^missing field updated$"),
        ({"status": "OK"}, "^missing field results$"),
    ],
)  # fmt: skip
def test_a_list_that_is_not_the_format_is_bad_payload(body: Any, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse(body, chart("X"))
