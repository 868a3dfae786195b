"""The `tracker` console script against the platform fakes: in this process through its entry
point (tests/entry.py), and as real `python -m tracker` child processes where commands run at
once (rounds side by side, bad options and environments)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests import entry
from tests.conftest import (
    NETFLIX_GLOBAL_COLUMNS,
    NETFLIX_GLOBAL_ROWS,
    PG_ENV,
    _pg_schema_url,
    closed_port,
    netflix_tsv,
    seed,
    tracker_env,
)
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.netflix import FakeNetflix
from tests.fakes.wikipedia import FakeWikimedia
from tracker import config as config_module
from tracker import daemon, migrate
from tracker.commands.formats import HISTORY_COLUMNS
from tracker.store import Database
from tracker.store.schema import revisions
from tracker.timeutil import day_start, to_epoch

if TYPE_CHECKING:
    from tests.conftest import Seeded

TIMEOUT = 120  # seconds (slack for a busy machine); a hung subprocess fails the test
MONDAY_18 = datetime(2022, 4, 18, tzinfo=UTC)
MONDAY_25 = datetime(2022, 4, 25, tzinfo=UTC)


@dataclass
class Cli:
    """Runs `tracker` with a clean environment pointed at one config and database: called, in
    this process; `start`, as a `python -m tracker` child process."""

    cwd: Path
    config: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "tracker", *args],
            env=tracker_env(self.config, self.database_url, **(self.env | env)),
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = tracker_env(self.config, self.database_url, **(self.env | env))
        return entry.run(*args, env=environ, cwd=self.cwd)


def finish(*procs: subprocess.Popen[str]) -> list[subprocess.CompletedProcess[str]]:
    """Wait for processes started together: independent commands run in parallel."""
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=TIMEOUT)
            results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return results


def make_cli(seeded: Seeded, tmp_path: Path, database_url: str) -> Cli:
    """The config names no real base URL: the environment points every source at its fake."""
    config = seeded.write_config(tmp_path / "tracker.toml", {})
    env = {f"TRACKER_SOURCES__{name.upper()}__BASE_URL": url for name, url in seeded.urls.items()}
    env["TRACKER_HTTP__MAX_ATTEMPTS"] = "1"  # a failure is final at once: no real sleeping
    return Cli(tmp_path, config, database_url, env)


@pytest.fixture
def cli(seeded: Seeded, tmp_path: Path) -> Cli:
    """On a SQLite file that does not exist yet (`db_file`)."""
    return make_cli(seeded, tmp_path, f"sqlite:///{tmp_path / 'cli.db'}")


@pytest.fixture
def bare_cli(tmp_path: Path) -> Cli:
    """No fakes and a config that tracks nothing: for what fails before any collection."""
    config = tmp_path / "tracker.toml"
    config.write_text('contact = "tests@example.org"\n', encoding="utf-8")
    return Cli(tmp_path, config, f"sqlite:///{tmp_path / 'cli.db'}")


@pytest.fixture
def db_cli(seeded: Seeded, tmp_path: Path, database_url: str) -> Cli:
    """On each database (SQLite, and PostgreSQL when configured)."""
    return make_cli(seeded, tmp_path, database_url)


def table_rows(text: str) -> list[list[str]]:
    """The body rows of a Rich table as lists of stripped cells."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]


def db_file(cli: Cli) -> Path:
    return Path(cli.database_url.removeprefix("sqlite:///"))


# -- run --once -------------------------------------------------------------------------
def test_run_once_exits_0_and_prints_one_line_per_source(db_cli: Cli, seeded: Seeded) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    result = db_cli("run", "--once")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "bluesky: ok — 2 target(s), 2 value(s), 2 new",
        "mastodon: ok — 2 target(s), 7 value(s), 7 new",
        "netflix: ok — 1 target(s), 6 value(s), 6 new",
        "wikipedia: ok — 2 target(s), 12 value(s), 12 new",
    ]
    assert "INFO" in result.stderr and "bluesky: ok" in result.stderr  # the log, on stderr

    store = Database.open(db_cli.database_url)
    try:
        assert store.count() == 27
        (kit,) = store.find_series("Kit Connor", "bluesky", "followers")
        ((ts, value),) = store.history(kit.id)
        assert value == 1800 and to_epoch(before) <= ts <= to_epoch(datetime.now(UTC))
        assert sorted((a.source, a.outcome, a.stored) for a in store.attempts()) == [
            ("bluesky", "ok", 2),
            ("mastodon", "ok", 7),
            ("netflix", "ok", 6),
            ("wikipedia", "ok", 12),
        ]
        assert [b.name for b in store.baselines("Test campaign")] == [
            "kit-bluesky-prelaunch",
            "kit-bluesky-claim",
        ]
    finally:
        store.close()
    # Every request named who runs the tracker, as Wikimedia asks.
    assert seeded.wikipedia.requests[0].headers["user-agent"].endswith("tests@example.org")


def test_run_once_exits_1_when_a_source_fails(cli: Cli, seeded: Seeded) -> None:
    down = f"http://127.0.0.1:{closed_port()}"
    result = cli("run", "--once", TRACKER_SOURCES__NETFLIX__BASE_URL=down)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert lines[2].startswith(
        "netflix: failed — 1 target(s), 0 value(s), 0 new; 1 failed: "
        "Heartstopper: 127.0.0.1: ConnectError"
    )
    assert [line.split(":")[0] for line in lines if ": ok — " in line] == [
        "bluesky",
        "mastodon",
        "wikipedia",
    ]
    assert seeded.netflix.requests == []

    store = Database.open(cli.database_url)
    try:
        assert store.count() == 2 + 7 + 12
        assert store.find_series(source="netflix") == []
        (attempt,) = store.attempts("netflix")
        assert (attempt.outcome, attempt.kind, attempt.failed) == ("failed", "temporary", 1)
        assert "ConnectError" in attempt.cause
    finally:
        store.close()

    status = cli("status")
    assert status.returncode == 0, status.stderr
    by_source = {row[0]: row for row in table_rows(status.stdout)}
    assert by_source["netflix"][1:2] + by_source["netflix"][4:5] == ["failed", "1"]
    assert by_source["bluesky"][1:2] + by_source["bluesky"][3:5] == ["ok", "—", "0"]
    assert "netflix last failure: Heartstopper: 127.0.0.1: ConnectError" in status.stdout


# -- read commands: every query of one collected round runs at once, per database --------
READS: dict[str, tuple[str, ...]] = {
    "csv": ("history", "Kit Connor", "--platform", "bluesky", "--metric", "followers",
            "--since", "30d", "--format", "csv"),
    "table": ("history", "kit connor", "--platform", "bluesky"),
    "views-since": ("history", "Heartstopper", "--platform", "wikipedia", "--since", "{d3}",
                    "--format", "json"),
    "views-until": ("history", "Heartstopper", "--platform", "wikipedia", "--since", "{d3}",
                    "--until", "{d1}", "--format", "json"),
    "weekly": ("history", "Heartstopper", "--platform", "wikipedia", "--every", "1w",
               "--format", "json"),
    "hashtag": ("history", "#HeartStopper", "--metric", "hashtag_uses", "--format", "csv"),
    "label": ("history", "Heartstopper", "--platform", "netflix", "--metric", "chart_rank",
              "--label", "list=GB", "--format", "json"),
    "unknown": ("history", "Nobody", "--platform", "bluesky"),
    "typo": ("history", "kit conor"),
    "platform-typo": ("history", "Heartstopper", "--platform", "netflx"),
    "series": ("series", "--format", "json"),
    "series-by-handle": ("series", "KIT.BSKY.SOCIAL", "--format", "csv"),
    "series-table": ("series", "heartstopper", "--platform", "wikipedia"),
    "compare": ("compare", "Kit Connor"),
    "compare-json": ("compare", "Kit Connor", "--format", "json"),
    "compare-typo": ("compare", "Kit Conor"),
    "status": ("status",),
}  # fmt: skip


@dataclass
class Answers:
    results: dict[str, subprocess.CompletedProcess[str]]
    at: datetime  # when the round started, to the second
    done: datetime  # when it had finished
    today: date

    def csv(self, name: str) -> list[dict[str, str]]:
        result = self.results[name]
        assert result.returncode == 0, result.stderr
        return list(csv.DictReader(io.StringIO(result.stdout)))

    def json(self, name: str) -> dict[str, Any]:
        result = self.results[name]
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert isinstance(data, dict) and data["schema"] == "tracker.read/1"
        return data

    def points(self, name: str) -> list[tuple[str, int]]:
        return [(p["start"], p["value"]) for s in self.json(name)["series"] for p in s["points"]]

    def day(self, k: int) -> str:
        return day_start(self.today - timedelta(days=k)).isoformat()


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'tracker.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL store tests skipped")
    yield from _pg_schema_url(base)


@pytest.fixture(scope="class", params=["sqlite", "postgresql"])
def answers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Answers]:
    """One round collected in-process (the code `run --once` runs), then READS, in parallel."""
    folder = tmp_path_factory.mktemp("reads")
    fakes = {
        "bluesky": FakeBluesky().start(),
        "mastodon": FakeMastodon().start(),
        "wikipedia": FakeWikimedia().start(),
        "netflix": FakeNetflix().start(),
    }
    try:
        seeded = seed(fakes)
        with fresh_database(request.param, folder) as url:
            store = Database.open(url)
            try:
                store.upgrade()
                config = config_module.load(seeded.write_config(folder / "direct.toml"))
                at = datetime.now(UTC).replace(microsecond=0)
                reports = asyncio.run(daemon.run_once(config, store))
                assert [r.outcome for r in reports] == ["ok"] * 4
                done = datetime.now(UTC)
            finally:
                store.close()
            cli = make_cli(seeded, folder, url)
            days = {
                "{d3}": f"{seeded.today - timedelta(days=3)}",
                "{d1}": f"{seeded.today - timedelta(days=1)}",
            }
            results = {name: cli(*(days.get(a, a) for a in args)) for name, args in READS.items()}
            yield Answers(results, at, done, seeded.today)
    finally:
        for fake in fakes.values():
            fake.stop()


class TestReadCommands:
    def test_history_csv_shows_the_stored_values(self, answers: Answers) -> None:
        (row,) = answers.csv("csv")
        assert list(row) == list(HISTORY_COLUMNS)  # fixed: no label keys on this series
        assert {k: v for k, v in row.items() if k != "start"} == {
            "subject": "Kit Connor", "platform": "bluesky", "metric": "followers",
            "key": row["key"], "label": "kit.bsky.social", "end": "", "day": "", "day_end": "",
            "phase": "", "value": "1800", "status": "value", "backfilled": "false",
            "sudden": "false",
        }  # fmt: skip
        assert row["key"].startswith("did:")
        assert answers.at <= datetime.fromisoformat(row["start"]) <= datetime.now(UTC)

    def test_history_table(self, answers: Answers) -> None:
        result = answers.results["table"]
        assert result.returncode == 0, result.stderr
        lines = [re.split(r"\s{2,}", line.strip()) for line in result.stdout.splitlines()]
        heading, header, *rows = lines
        assert heading == ["Kit Connor · bluesky followers · kit.bsky.social"]
        assert header == ["when (UTC)", "value"]
        ((when, value),) = rows
        assert value == "1,800"
        assert answers.at.replace(second=0, tzinfo=None) <= datetime.fromisoformat(when)

    def test_history_json_with_since_and_until(self, answers: Answers) -> None:
        document = answers.json("views-since")
        assert document["kind"] == "history"
        assert [
            (s["platform"], s["metric"], s["subject"], s["label"], s["labels"])
            for s in document["series"]
        ] == [
            ("wikipedia", "pageviews", "Heartstopper", "Heartstopper_(TV_series)",
             {"project": "en.wikipedia"}),
        ]  # fmt: skip
        day = answers.day
        assert answers.points("views-since") == [(day(3), 307), (day(2), 207), (day(1), 107)]
        assert answers.points("views-until") == [(day(3), 307), (day(2), 207)]  # exclusive
        # A day's pageviews are a period: it ends where the next day starts.
        ends = [p["end"] for p in document["series"][0]["points"]]
        assert ends == [day(2), day(1), day(0)]

    def test_history_every_1w_keeps_the_last_value_of_each_monday_week(
        self, answers: Answers
    ) -> None:
        expected: dict[date, int] = {}
        for k in range(10, 0, -1):  # oldest first: the last value of each week wins
            day = answers.today - timedelta(days=k)
            expected[day - timedelta(days=day.weekday())] = 100 * k + 7
        assert answers.points("weekly") == [
            (day_start(monday).isoformat(), value) for monday, value in expected.items()
        ]
        assert len(expected) in (2, 3)
        # Each bucket says its end as well as its start.
        (series,) = answers.json("weekly")["series"]
        assert [p["end"] for p in series["points"]] == [
            day_start(monday + timedelta(days=7)).isoformat() for monday in expected
        ]

    def test_history_of_a_hashtag_as_typed_and_by_label(self, answers: Answers) -> None:
        rows = answers.csv("hashtag")
        assert [(r["label"], r["label.instance"], r["value"]) for r in rows] == [
            ("#heartstopper", "mastodon.social", "5"),
            ("#heartstopper", "mastodon.social", "12"),
            ("#heartstopper", "mastodon.social", "30"),
        ]
        assert answers.points("label") == [(MONDAY_25.isoformat(), 1)]

    def test_unknown_names_exit_1_saying_what_is_close(self, answers: Answers) -> None:
        unknown = answers.results["unknown"]
        assert (unknown.returncode, unknown.stdout) == (1, "")
        assert unknown.stderr.startswith(
            "error: no recorded series for 'Nobody' (platform bluesky)"
        )
        typo = answers.results["typo"]
        assert (typo.returncode, typo.stdout) == (1, "")
        assert "did you mean 'Kit Connor'" in typo.stderr
        platform = answers.results["platform-typo"]
        assert (platform.returncode, platform.stdout) == (1, "")
        assert platform.stderr.startswith(
            "error: --platform: no platform named 'netflx'; did you mean 'netflix'?"
        )
        compared = answers.results["compare-typo"]
        assert (compared.returncode, compared.stdout) == (1, "")
        assert "did you mean 'Kit Connor'?" in compared.stderr

    def test_series_lists_what_is_stored(self, answers: Answers) -> None:
        listed = answers.json("series")["series"]
        assert {(s["subject"], s["platform"], s["metric"]) for s in listed} >= {
            ("Kit Connor", "bluesky", "followers"),
            ("Heartstopper", "wikipedia", "pageviews"),
            ("Heartstopper", "netflix", "chart_rank"),
        }
        assert all(s["points"] >= 1 and s["first"] <= s["last"] for s in listed)
        (kit,) = answers.csv("series-by-handle")  # a subject named by its handle, any case
        assert (kit["subject"], kit["label"], kit["points"]) == (
            "Kit Connor",
            "kit.bsky.social",
            "1",
        )
        table = answers.results["series-table"]
        assert table.returncode == 0, table.stderr
        assert table.stdout.splitlines()[0] == "Heartstopper · wikipedia pageviews"
        assert "Heartstopper_(TV_series) [project=en.wikipedia]" in table.stdout

    def test_compare_shows_the_verdict_and_the_latest_value(self, answers: Answers) -> None:
        result = answers.results["compare"]
        assert result.returncode == 0, result.stderr
        latest = f"1.8K on {answers.at:%Y-%m-%d}"
        assert result.stdout.splitlines() == [
            "baseline: Kit Connor · bluesky followers · 1,200 on 2024-01-01 [1]",
            f"  not measurable yet; latest: {latest} (+600 (+50.0%) against the baseline)",
            "claim: Kit Connor · bluesky followers · 3.6K on 2024-06-01 [2]",
            f"  not measurable yet; latest: {latest} (-1,800 (-50.0%) against the claim)",
            "[1] Test fixture baseline",
            "[2] Test fixture claim",
        ]
        refs = answers.json("compare-json")["references"]
        assert [(r["role"], r["verdict"], r["latest"]["value"]) for r in refs] == [
            ("baseline", "not measurable yet", 1800), ("claim", "not measurable yet", 1800),
        ]  # fmt: skip

    def test_status_after_a_good_round(self, answers: Answers) -> None:
        result = answers.results["status"]
        assert result.returncode == 0, result.stderr
        rows = table_rows(result.stdout)
        assert [(r[0], r[1], r[3], r[4], r[5]) for r in rows] == [
            (name, "ok", "—", "0", "daemon not running")
            for name in ("bluesky", "mastodon", "netflix", "wikipedia")
        ]
        minutes = {f"{moment:%Y-%m-%d %H:%M} UTC" for moment in (answers.at, answers.done)}
        assert {r[2] for r in rows} <= minutes  # last success: when the round finished


BAD_OPTIONS = [
    ("--since", "nonsense"),
    ("--every", "fortnight"),
    ("--format", "xml"),
]


def test_history_bad_options_exit_2_naming_the_option(bare_cli: Cli) -> None:
    (option, value), *rest = BAD_OPTIONS  # one child process, the rest in this process
    results = [*finish(bare_cli.start("history", "Kit Connor", option, value))]
    results += [bare_cli("history", "Kit Connor", option, value) for option, value in rest]
    for (option, value), result in zip(BAD_OPTIONS, results, strict=True):
        assert result.returncode == 2, (option, result.stderr)
        assert result.stderr.startswith(f"error: {option}: "), result.stderr
        assert value in result.stderr
        assert result.stdout == ""
    assert not db_file(bare_cli).exists()


def test_compare_before_any_value_says_not_measured(cli: Cli) -> None:
    store = Database.open(cli.database_url)
    try:
        store.upgrade()
    finally:
        store.close()
    result = cli("compare")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("not measurable yet; latest: not measured yet") == 2


# -- bad configuration -----------------------------------------------------------------
def _edit(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)

    return edit


BAD_FILES: dict[str, tuple[Callable[[str], str], str]] = {
    "unknown-key": (
        _edit("max_wait = 5.0", "max_wait = 5.0\nmax_wiat = 5.0"),
        "http.max_wiat: Extra inputs are not permitted",
    ),
    "unknown-source-key": (
        _edit("days = 10", "days = 10\ndayz = 3"),
        "sources.wikipedia.dayz: Extra inputs are not permitted",
    ),
    "bad-value": (
        _edit("timeout = 2.0", "timeout = -1.0"),
        "http.timeout: Input should be greater than 0",
    ),
    "bad-toml": (
        _edit("[http]", "[http"),
        "not valid TOML: Expected ']' at the end of a table declaration (at line 3",
    ),
    "missing-file": (lambda text: "", "no such file (use --config or TRACKER_CONFIG)"),
}


def test_a_bad_config_file_exits_2_naming_file_and_key_and_writes_nothing(
    cli: Cli, seeded: Seeded
) -> None:
    text = cli.config.read_text(encoding="utf-8")
    runs: list[tuple[str, Cli]] = []
    for case, (edit, _) in BAD_FILES.items():
        folder = cli.cwd / case
        folder.mkdir()
        config = folder / "tracker.toml"
        if case != "missing-file":
            config.write_text(edit(text), encoding="utf-8")
        runs.append((case, replace(cli, config=config, database_url=f"sqlite:///{folder}/t.db")))

    # One case as a real child process (the console script's own exit path), the rest in
    # this process: the same `main()`, without an interpreter start each.
    (first, *rest) = [each for _, each in runs]
    results = [*finish(first.start("run", "--once")), *(each("run", "--once") for each in rest)]

    for (case, each), result in zip(runs, results, strict=True):
        expected = BAD_FILES[case][1]
        assert result.returncode == 2, (case, result.stderr)
        assert result.stderr.startswith(f"error: {each.config}: {expected}"), result.stderr
        assert result.stdout == ""
        assert not db_file(each).exists(), case
    assert seeded.bluesky.requests == [] and seeded.netflix.requests == []


BAD_ENV = [
    ("TRACKER_HTTP__TIMEOUT", "abc", "http.timeout"),
    ("TRACKER_SOURCES__BLUESKY__INTERVAL", "soon", "sources.bluesky.interval"),
]


def test_a_bad_environment_override_exits_2_naming_the_key(cli: Cli, seeded: Seeded) -> None:
    (name, value, _), *rest = BAD_ENV  # one child process, the rest in this process
    results = [*finish(cli.start("run", "--once", **{name: value}))]
    results += [cli("run", "--once", **{name: value}) for name, value, _ in rest]
    for (name, _, key), result in zip(BAD_ENV, results, strict=True):
        assert result.returncode == 2, (name, result.stderr)
        assert result.stderr.startswith("error: "), result.stderr
        assert f": {key}: " in result.stderr
    assert not db_file(cli).exists()
    assert seeded.bluesky.requests == []


def test_an_environment_override_takes_effect(cli: Cli, seeded: Seeded) -> None:
    """TRACKER_SOURCES__NETFLIX__ENABLED=false wins over the file (where it is not even set)."""
    result = cli("run", "--once", TRACKER_SOURCES__NETFLIX__ENABLED="false")
    assert result.returncode == 0, result.stderr
    assert "netflix: skipped — disabled in config (sources.netflix.enabled = false)" in (
        result.stdout.splitlines()
    )
    assert seeded.netflix.requests == []


# -- import / db ------------------------------------------------------------------------
def test_import_netflix_top10_twice_adds_nothing_the_second_time(db_cli: Cli) -> None:
    global_file = db_cli.cwd / "all-weeks-global.tsv"
    global_file.write_text(netflix_tsv(NETFLIX_GLOBAL_COLUMNS, NETFLIX_GLOBAL_ROWS))

    first = db_cli("import", "netflix-top10", str(global_file))
    assert (first.returncode, first.stdout) == (
        0,
        "all-weeks-global.tsv: 4 row(s) read: 4 stored, 0 already present, 0 refused\n",
    ), first.stderr
    again = db_cli("import", "netflix-top10", str(global_file))
    assert (again.returncode, again.stdout) == (
        0,
        "all-weeks-global.tsv: 4 row(s) read: 0 stored, 4 already present, 0 refused\n",
    ), again.stderr

    store = Database.open(db_cli.database_url)
    try:
        assert store.count() == 4
        (rank,) = store.find_series("Heartstopper", "netflix", "chart_rank", {"list": "global"})
        assert store.history(rank.id) == [(to_epoch(MONDAY_18), 7), (to_epoch(MONDAY_25), 5)]
        assert store.find_series("Senior Year") == []  # not a configured chart
        assert store.attempts() == []  # an import is not a collection attempt
    finally:
        store.close()


def test_import_refuses_a_file_that_is_not_a_top10_file(cli: Cli) -> None:
    page = cli.cwd / "page.tsv"
    page.write_text("<html><body>Moved</body></html>\n")
    result = cli("import", "netflix-top10", str(page))
    assert result.returncode == 2
    assert f"{page}: not a Netflix Top 10 file" in result.stderr
    missing = cli("import", "netflix-top10", str(cli.cwd / "missing.tsv"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    store = Database.open(cli.database_url)
    try:
        assert store.count() == 0
    finally:
        store.close()


def test_db_upgrade_says_which_schema_it_found(db_cli: Cli) -> None:
    store = Database.open(db_cli.database_url)
    try:
        migrate.upgrade(store.engine, "0007")
    finally:
        store.close()
    result = db_cli("db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(f" upgraded from schema 0007 to {revisions()[1]}\n")


def test_db_upgrade_creates_the_schema_and_is_idempotent(db_cli: Cli) -> None:
    result = db_cli("db", "upgrade")
    assert result.returncode == 0, result.stderr
    newest = revisions()[1]
    assert result.stdout.startswith("database ")
    assert result.stdout.endswith(f" created (schema {newest})\n")
    again = db_cli("db", "upgrade")
    assert again.stdout.endswith(f" is up to date (schema {newest})\n"), again.stdout
    store = Database.open(db_cli.database_url)
    try:
        assert migrate.current(store.engine) == _head()
        store.upgrade()  # again: nothing to do
        assert migrate.current(store.engine) == _head()
        assert store.count() == 0 and store.status() == []
    finally:
        store.close()


def _head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(migrate.SCRIPTS)).get_current_head()
    assert head is not None
    return head


def test_status_of_a_database_without_schema_exits_3(bare_cli: Cli) -> None:
    db_file(bare_cli).touch()  # an empty SQLite file: there, without tables
    result = bare_cli("status")
    assert result.returncode == 3
    assert result.stderr == ("error: database: no such table: attempt (try `tracker db upgrade`)\n")


def test_an_unreachable_database_exits_3(bare_cli: Cli) -> None:
    url = f"postgresql://nobody@127.0.0.1:{closed_port()}/tracker"
    result = bare_cli("--database", url, "db", "upgrade")
    assert result.returncode == 3
    assert result.stderr.startswith("error: database unreachable")


# -- help -------------------------------------------------------------------------------
COMMANDS = [
    "run",
    "status",
    "history",
    "compare",
    "hashtags list",
    "hashtags add",
    "hashtags remove",
    "accounts list",
    "accounts add",
    "accounts remove",
    "import netflix-top10",
    "db upgrade",
]


def test_every_command_help_shows_an_example(tmp_path: Path) -> None:
    # No config file and no database: help must need neither, nor create them.
    bare = Cli(tmp_path, tmp_path / "absent.toml", f"sqlite:///{tmp_path / 'absent.db'}")
    results = [bare(*command.split(), "--help") for command in COMMANDS]
    for command, result in zip(COMMANDS, results, strict=True):
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout.startswith("Usage: "), command
        assert "Example" in result.stdout, command
        assert f"tracker {command}" in result.stdout, command
    top = bare("--help")
    assert top.returncode == 0 and all(c.split()[0] in top.stdout for c in COMMANDS)
    assert list(tmp_path.iterdir()) == []


def test_a_usage_error_exits_2_with_click_usage(bare_cli: Cli) -> None:
    missing, unknown = bare_cli("history"), bare_cli("history", "X", "--bogus")
    assert missing.returncode == 2 and "Missing argument" in missing.stderr
    assert unknown.returncode == 2 and "No such option: --bogus" in unknown.stderr
    assert "Traceback" not in missing.stderr + unknown.stderr


def test_status_shows_what_each_quota_budget_has_left(bare_cli: Cli) -> None:
    from tracker.quota import Quota

    store = Database.open(bare_cli.database_url)
    store.upgrade()
    day = Quota(10_000, zone="America/Los_Angeles")
    now = datetime.now(UTC)
    assert store.quota_take("youtube:units:abc123", day, 7, now) is not None
    store.quota_park("x:users:def456", Quota(300, every=timedelta(minutes=15)), None, now)
    store.close()
    result = bare_cli("status")
    assert result.returncode == 0, result.stderr
    assert re.search(r"youtube:units:abc123\s+│?\s*9993\s+│?\s*10000", result.stdout), result.stdout
    assert re.search(r"x:users:def456\s+│?\s*0 \(parked by the platform\)", result.stdout)
