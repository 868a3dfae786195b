"""`tracker backfill` against the platform fakes: chunked requests, flags, resuming, the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests import entry
from tests.conftest import (
    NETFLIX_COUNTRY_COLUMNS,
    NETFLIX_COUNTRY_ROWS,
    NETFLIX_GLOBAL_COLUMNS,
    NETFLIX_GLOBAL_ROWS,
    netflix_tsv,
    tracker_env,
)
from tests.fakes.netflix import PREFIX as NETFLIX_PREFIX
from tests.fakes.netflix import FakeNetflix
from tests.fakes.nyt import FakeNYT
from tests.fakes.server import Reply
from tests.fakes.wikipedia import FakeWikimedia
from tracker import backfill, read
from tracker import config as config_module
from tracker.commands.formats import BACKFILL_NOTE
from tracker.config import Config
from tracker.errors import UsageError
from tracker.http import make_client
from tracker.read import NOT_IN_CHART
from tracker.store import Store
from tracker.store.models import BACKFILLED

NYT_LIST = "young-adult-paperback-monthly"
NYT_TITLE = "HEARTSTOPPER VOL. 1"
PER_ARTICLE = "/metrics/pageviews/per-article/en.wikipedia/all-access/user/Kit_Connor/daily/"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeWikimedia, FakeNetflix, FakeNYT]]:
    wiki, netflix, nyt = FakeWikimedia().start(), FakeNetflix().start(), FakeNYT(per_minute=999)
    nyt.start()
    netflix.files["all-weeks-global.tsv"] = netflix_tsv(
        NETFLIX_GLOBAL_COLUMNS, NETFLIX_GLOBAL_ROWS
    ).encode()
    netflix.files["all-weeks-countries.tsv"] = netflix_tsv(
        NETFLIX_COUNTRY_COLUMNS, NETFLIX_COUNTRY_ROWS
    ).encode()
    yield wiki, netflix, nyt  # type: ignore[misc]
    for fake in (wiki, netflix, nyt):
        fake.stop()


def config_text(wiki: str, netflix: str, nyt: str) -> str:
    return f"""\
contact = "tests@example.org"

[http]
timeout = 2.0
connect_timeout = 1.0
max_attempts = 1
max_wait = 1.0

[sources.wikipedia]
base_url = "{wiki}"
concurrency = 1

[sources.netflix]
base_url = "{netflix}"

[sources.nyt]
base_url = "{nyt}"
request_gap = 0

[[pages]]
article = "Kit_Connor"
subject = "Kit Connor"

[[charts]]
source = "netflix"
title = "Heartstopper"

[[charts]]
source = "nyt"
title = "{NYT_TITLE}"
subject = "Heartstopper"
list = "{NYT_LIST}"

[campaign]
name = "Backfill"
launch = 2022-04-22
"""


@pytest.fixture
def config(
    fakes: tuple[FakeWikimedia, FakeNetflix, FakeNYT],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Config:
    wiki, netflix, nyt = fakes
    monkeypatch.setenv("NYT_API_KEY", "test-nyt-key")
    path = tmp_path / "tracker.toml"
    path.write_text(config_text(wiki.url, netflix.url + NETFLIX_PREFIX, nyt.url), "utf-8")
    return config_module.load(path)


def fill(
    config: Config, store: Store, source: str, since: date | None, today: date
) -> tuple[backfill.BackfillReport, list[tuple[int, int, str]]]:
    """A backfill on a fixed clock; also returns what it told the progress callback."""
    told: list[tuple[int, int, str]] = []

    async def go() -> backfill.BackfillReport:
        async with make_client(config.http, config.contact) as client:
            return await backfill.backfill(
                config, store, source, since, client,
                clock=lambda: datetime(today.year, today.month, today.day, 12, tzinfo=UTC),
                progress=lambda done, total, what: told.append((done, total, what)),
            )  # fmt: skip

    return asyncio.run(go()), told


def daily(first: date, last: date) -> dict[date, int]:
    days = (last - first).days + 1
    return {first + timedelta(days=i): 100 + i for i in range(days)}


def flags(store: Store, subject: str, source: str, metric: str) -> set[int | None]:
    return {
        row[4]
        for series in store.find_series(subject, source, metric)
        for row in store.points(series.id)
    }


def test_wikipedia_in_year_chunks_flagged_and_resumed(
    fakes: tuple[FakeWikimedia, FakeNetflix, FakeNYT], config: Config, store: Store
) -> None:
    wiki = fakes[0]
    wiki.views[("en.wikipedia", "Kit_Connor")] = daily(date(2021, 6, 1), date(2023, 2, 28))
    wiki.fail_next(Reply(503, {}, b"upstream down"))  # the first chunk fails: interrupted

    first, told = fill(config, store, "wikipedia", date(2022, 1, 1), date(2023, 3, 1))
    assert [s.path for s in wiki.requests] == [
        PER_ARTICLE + "20220101/20221231",
        PER_ARTICLE + "20230101/20230228",
    ]
    assert (first.chunks, first.values, first.stored) == (2, 59, 59)
    assert list(first.failures) == ["Kit_Connor 2022-01-01..2022-12-31"]
    assert [(done, total) for done, total, _ in told] == [(1, 2), (2, 2)]

    again, _ = fill(config, store, "wikipedia", date(2022, 1, 1), date(2023, 3, 1))
    # The complete 2023 chunk is skipped without a request; the failed one is fetched.
    assert len(wiki.requests) == 3 and wiki.requests[2].path.endswith("20220101/20221231")
    assert (again.skipped, again.values, again.stored, again.failures) == (1, 365, 365, {})
    (series,) = store.find_series("Kit Connor", "wikipedia", "pageviews")
    assert len(store.history(series.id)) == 365 + 59
    assert flags(store, "Kit Connor", "wikipedia", "pageviews") == {BACKFILLED}

    third, _ = fill(config, store, "wikipedia", date(2022, 1, 1), date(2023, 3, 1))
    assert (third.skipped, third.stored, len(wiki.requests)) == (2, 0, 3)


def test_wikipedia_ranges_without_data_are_not_failures(
    fakes: tuple[FakeWikimedia, FakeNetflix, FakeNYT], config: Config, store: Store
) -> None:
    fakes[0].views[("en.wikipedia", "Kit_Connor")] = daily(date(2022, 1, 1), date(2022, 12, 31))
    report, _ = fill(config, store, "wikipedia", date(2021, 1, 1), date(2023, 1, 10))
    assert (report.chunks, report.empty, report.stored, report.failures) == (3, 2, 365, {})
    assert "2 without data; 365 value(s), 365 new (flagged backfilled)" in report.line()


def test_netflix_is_one_round_flagged_backfilled(config: Config, store: Store) -> None:
    since, _ = fill(config, store, "netflix", date(2022, 4, 25), date(2023, 1, 1))
    # The week of 2022-04-18 ends before --since: left out.
    assert (since.chunks, since.values, since.stored) == (2, 4, 4)
    everything, _ = fill(config, store, "netflix", None, date(2023, 1, 1))
    assert (everything.values, everything.stored) == (6, 2)
    assert flags(store, "Heartstopper", "netflix", "chart_rank") == {BACKFILLED}

    shown = read.history(store, read.HistoryQuery("Heartstopper", "netflix", "chart_rank"))
    values = [p for s in shown.series for p in s.points if p.value is not None]
    assert len(values) == 4 and all(p.backfilled for p in values)


def test_nyt_lists_by_date_spend_the_daily_budget(
    fakes: tuple[FakeWikimedia, FakeNetflix, FakeNYT], config: Config, store: Store
) -> None:
    nyt = fakes[2]
    book = FakeNYT.book(1, NYT_TITLE, "9781338617443", weeks=0)
    nyt.add_list(NYT_LIST, [book], updated="MONTHLY", bestsellers_date="2022-04-30")
    report, _ = fill(config, store, "nyt", date(2022, 5, 1), date(2022, 5, 23))
    assert sorted(s.path for s in nyt.requests) == [
        f"/svc/books/v3/lists/2022-05-{day:02d}/{NYT_LIST}.json" for day in (1, 8, 15, 22)
    ]
    assert (report.values, report.stored, report.failures) == (4, 1, {})
    (budget,) = store.quotas()
    assert budget.used == 4
    assert flags(store, "Heartstopper", "nyt", "chart_rank") == {BACKFILLED}


def test_each_source_says_where_its_backfill_starts(config: Config) -> None:
    assert backfill.default_since(config, "wikipedia") == date(2015, 7, 1)
    assert backfill.default_since(config, "netflix") is None  # everything the files hold
    assert backfill.default_since(config, "nyt") == date(2022, 4, 22) - timedelta(weeks=4)
    config.campaign = None
    with pytest.raises(
        UsageError,
        match=r"^--since: a backfill of nyt needs a start date \(no \[campaign\]\)",
    ):
        backfill.default_since(config, "nyt")


def test_backfill_refuses_what_it_cannot_do(config: Config, store: Store) -> None:
    with pytest.raises(UsageError, match="SOURCE: 'bluesky' keeps no history"):
        fill(config, store, "bluesky", None, date(2023, 1, 1))
    with pytest.raises(UsageError, match="--since: 2023-01-01 is not before today"):
        fill(config, store, "wikipedia", date(2023, 1, 1), date(2023, 1, 1))


def test_backfill_command_and_history_shows_the_flag(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        env = tracker_env(config.path, url, NYT_API_KEY="test-nyt-key")
        return entry.run(*args, env=env, cwd=tmp_path)

    def done(result: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
        return result.returncode, result.stdout, result.stderr

    bad = [cli("backfill", "netflix", "--since", "notadate"), cli("backfill", "bluesky")]
    code, out, err = done(cli("backfill", "netflix"))
    assert code == 0, err
    assert out == (
        "netflix: 2 request(s), 0 skipped (already stored), 0 without data; "
        "6 value(s), 6 new (flagged backfilled)\n"
    )
    table, as_csv = (
        cli("history", "Heartstopper", "--metric", "chart_rank"),
        cli("history", "Heartstopper", "--metric", "chart_rank", "--format", "csv"),
    )
    code, out, err = done(as_csv)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 4 and {r["backfilled"] for r in rows} == {"true"}, err
    code, out, err = done(table)
    assert out.splitlines()[-1] == BACKFILL_NOTE
    points = [line for line in out.splitlines() if re.match(r"^  \d{4}-", line)]
    measured = [line for line in points if NOT_IN_CHART not in line]
    assert len(measured) == 4 and all(line.endswith("*") for line in measured), out

    (code, out, err), (code2, out2, err2) = done(bad[0]), done(bad[1])
    assert (code, out) == (2, "") and err.startswith("error: --since: 'notadate' is neither")
    assert (code2, out2) == (2, "") and err2.startswith("error: SOURCE: 'bluesky' keeps no")
