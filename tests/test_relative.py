"""Launch-relative views: "day N" of an event, `history --relative-to`, `compare --at`."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests import entry
from tests.conftest import tracker_env
from tracker.baselines import Between, days_since, end_of_day, value_at
from tracker.collectors.base import Observation
from tracker.commands.reading import parse_day
from tracker.errors import UsageError
from tracker.store import Database
from tracker.timeutil import to_epoch

LAUNCH = date(2024, 1, 15)
CONFIG = """\
[[accounts]]
platform = "bluesky"
handle = "kit.bsky.social"
subject = "Kit Connor"

[[accounts]]
platform = "bluesky"
handle = "joe.bsky.social"
subject = "Joe Locke"

[campaign]
name = "Relative"
launch = 2024-01-15
events = [{name = "renewal", date = 2024-02-12}]
"""
# (subject, handle, [(time, followers)]): Kit at day -30, 0, +28 and +40 of the launch;
# Joe only before it (and after day +28); Alice only from day +10.
MEASURED = [
    ("Kit Connor", "kit.bsky.social", [
        (datetime(2023, 12, 16, 10, tzinfo=UTC), 1000),
        (datetime(2024, 1, 15, 9, tzinfo=UTC), 1200),
        (datetime(2024, 2, 12, 20, tzinfo=UTC), 3000),
        (datetime(2024, 2, 24, 8, tzinfo=UTC), 3500),
    ]),
    ("Joe Locke", "joe.bsky.social", [
        (datetime(2023, 12, 16, 10, tzinfo=UTC), 500),
        (datetime(2024, 2, 13, 0, tzinfo=UTC), 900),
    ]),
    ("Alice Oseman", "alice.bsky.social", [(datetime(2024, 1, 25, 6, tzinfo=UTC), 700)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "day"), [("day+28", 28), ("day-30", -30), ("day0", 0), ("DAY 7", 7), ("day−3", -3)]
)
def test_parse_day(text: str, day: int) -> None:
    assert parse_day("--at", text) == day


@pytest.mark.parametrize("text", ["day+x", "28", "day+", "week+1", ""])
def test_parse_day_refuses_naming_the_option(text: str) -> None:
    with pytest.raises(UsageError, match=r"^--at: .* is not a day like day-30, day0 or day\+28"):
        parse_day("--at", text)


def test_days_count_from_the_start_of_the_event_day() -> None:
    assert days_since(to_epoch(datetime(2024, 1, 15, 23, 59, tzinfo=UTC)), LAUNCH) == 0
    assert days_since(to_epoch(datetime(2024, 1, 14, 23, 59, tzinfo=UTC)), LAUNCH) == -1
    assert days_since(to_epoch(datetime(2024, 2, 12, tzinfo=UTC)), LAUNCH) == 28
    assert end_of_day(LAUNCH, 28) == to_epoch(datetime(2024, 2, 12, 23, 59, 59, tzinfo=UTC))


def test_comparisons_between_two_points_and_gaps() -> None:
    points = [(0, 100), (86400 * 4, 300)]
    assert value_at(points, 86400) == (0, 100) and value_at(points, -1) is None
    between = Between(points[0], points[1])
    change = between.change
    assert change is not None
    assert (change.delta, change.percent, change.multiple) == (200, 200.0, 3.0)
    assert between.per_day == 50.0 and between.significant
    assert Between(None, points[1]).change is None and Between(points[0], None).per_day is None
    # 3.4M and 3.42M, both at 2 significant figures: within rounding.
    assert not Between((0, 3_400_000), (1, 3_420_000), 2, 2).significant


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "tracker.toml"
    config.write_text(CONFIG, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'relative.db'}"
    store = Database.open(url)
    try:
        store.upgrade()
        for subject, handle, points in MEASURED:
            store.write(
                "bluesky",
                [
                    Observation("followers", f"did:{handle}", v, t, subject, handle)
                    for t, v in points
                ],
            )
    finally:
        store.close()
    return tracker_env(config, url)


def run_all(env: dict[str, str], *commands: tuple[str, ...]) -> list[tuple[int, str, str]]:
    """(exit code, stdout, stderr) of each command: `-m tracker ...` in this process
    (entry.run), anything else (`-c` code that must start from a fresh interpreter) in a child."""
    results = []
    for command in commands:
        if command[:2] == ("-m", "tracker"):
            done = entry.run(*command[2:], env=env)
        else:
            done = subprocess.run(
                [sys.executable, *command], env=env, capture_output=True, text=True, timeout=60
            )
        results.append((done.returncode, done.stdout, done.stderr))
    return results


def cells(text: str) -> list[list[str]]:
    """The value rows of `compare --at`: the lines under a series' name, split into cells."""
    lines = text.splitlines()
    return [
        re.split(r"\s{2,}", line.strip())
        for before, line in zip(lines, lines[1:], strict=False)
        if before.startswith("  ") and not before.startswith("    ") and line.startswith("    ")
    ]


LAZY = """
import sys
from tracker import cli
sys.argv = ["tracker", "history", "Kit Connor", "--relative-to", "launch", "--format", "csv"]
try:
    cli.main()
except SystemExit as exc:
    assert exc.code == 0, exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"httpx", "apscheduler", "matplotlib"})
print("heavy:", heavy, file=sys.stderr)
"""


def test_relative_history_and_compare_at(cli_env: dict[str, str]) -> None:
    tracker = ("-m", "tracker")
    at = ("--at", "day-30", "--at", "day0", "--at", "day+28")
    results = run_all(
        cli_env,
        (*tracker, "history", "Kit Connor", "--relative-to", "launch", "--format", "json"),
        (*tracker, "history", "Kit Connor", "--relative-to", "Renewal", "--format", "csv"),
        (*tracker, "history", "Kit Connor", "--relative-to", "launch"),
        (*tracker, "compare", "Kit Connor", "Joe Locke", "Alice Oseman", *at),
        (*tracker, "compare", "Kit Connor", "--at", "day+28", "--relative-to", "renewal"),
        ("-c", LAZY),
        (*tracker, "compare", "--at", "day+x"),
        (*tracker, "history", "Kit Connor", "--relative-to", "nosuchevent"),
        (*tracker, "compare", "--at", "day0", "--relative-to", "nosuchevent"),
    )
    for code, _, err in results[:6]:
        assert code == 0, err
    (_, launch, _), (_, renewal, _), (_, table, _) = results[:3]
    document = json.loads(launch)
    assert (document["schema"], document["kind"]) == ("tracker.read/1", "history")
    (kit,) = document["series"]
    assert [(p["day"], p["phase"], p["value"]) for p in kit["points"]] == [
        (-30, "before", 1000), (0, "event", 1200), (28, "after", 3000), (40, "after", 3500),
    ]  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(renewal)))
    assert [(r["day"], r["phase"]) for r in rows] == [
        ("-58", "before"), ("-28", "before"), ("0", "event"), ("12", "after"),
    ]  # fmt: skip
    heading, header, *lines = [re.split(r"\s{2,}", line.strip()) for line in table.splitlines()]
    assert heading == ["Kit Connor · bluesky followers · kit.bsky.social"]
    assert header == ["when (UTC)", "day", "phase", "value"]
    assert [line[1:] for line in lines] == [
        ["-30", "before", "1,000"], ["0", "event", "1,200"], ["+28", "after", "3,000"],
        ["+40", "after", "3,500"],
    ]  # fmt: skip

    compared = results[3][1]
    assert cells(compared) == [
        ["1,000 (2023-12-16)", "1,200 (2024-01-15)", "3,000 (2024-02-12)",
         "+2,000 (+200.0%, 3.00×, +34.2/day)"],
        ["500 (2023-12-16)", "500 (2023-12-16)", "500 (2023-12-16)", "same measurement"],
        ["no value", "no value", "700 (2024-01-25)", "—"],
    ]  # fmt: skip
    assert "launch = 2024-01-15" in compared and "never interpolated" in compared
    assert cells(results[4][1]) == [["3,500 (2024-02-24)"]]
    assert results[5][2].strip() == "heavy: []"

    for (code, out, err), option in zip(
        results[6:], ("--at", "--relative-to", "--relative-to"), strict=True
    ):
        assert (code, out) == (2, ""), err
        assert err.startswith(f"error: {option}: "), err
    assert "'day+x' is not a day like" in results[6][2]
    assert "no event named 'nosuchevent' (the campaign has: launch, renewal)" in results[7][2]
