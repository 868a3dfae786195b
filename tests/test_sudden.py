"""Sudden changes are flagged, not hidden: a 99 % drop between two rounds is stored, flagged
SUDDEN, and shown by `history` and `status`. On SQLite and PostgreSQL, over real sockets."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests import entry
from tests.conftest import tracker_env
from tests.test_round import load, noon, run_round
from tracker import config as config_module
from tracker.config import Config
from tracker.core import Sudden
from tracker.errors import ConfigError
from tracker.store import Store
from tracker.store.models import SUDDEN

if TYPE_CHECKING:
    from tests.conftest import Seeded


def _flags(store: Store, subject: str) -> list[tuple[int, int | None]]:
    (series,) = store.find_series(subject, "bluesky", "followers")
    return [(int(value), flags) for _, value, _, _, flags in store.points(series.id)]


def test_a_99_percent_drop_is_stored_and_flagged(
    seeded: Seeded, store: Store, tmp_path: Path, database_url: str
) -> None:
    config = load(seeded, tmp_path)
    run_round(config, store, noon(seeded.today), ["bluesky"])
    seeded.bluesky.set_followers("kit.bsky.social", 18)  # 1,800 -> 18
    seeded.bluesky.set_followers("joe.bsky.social", 990)  # 950 -> 990: ordinary
    report = run_round(config, store, noon(seeded.today, 1), ["bluesky"])["bluesky"]
    seeded.bluesky.set_followers("kit.bsky.social", 1810)  # and back: a jump
    run_round(config, store, noon(seeded.today, 2), ["bluesky"])

    assert (report.outcome, report.stored) == ("ok", 2)
    assert _flags(store, "Kit Connor") == [(1800, None), (18, SUDDEN), (1810, SUDDEN)]
    assert _flags(store, "Joe Locke") == [(950, None), (990, None), (990, None)]

    config_file = seeded.write_config(tmp_path / "t.toml")
    env = tracker_env(config_file, database_url)

    def tracker(*args: str) -> subprocess.CompletedProcess[str]:
        return entry.run(*args, env=env)

    shown = tracker("history", "Kit Connor", "--platform", "bluesky", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    (series,) = json.loads(shown.stdout)["series"]
    assert [(p["value"], p["sudden"]) for p in series["points"]] == [
        (1800, False),
        (18, True),
        (1810, True),
    ]
    table = tracker("history", "Kit Connor", "--platform", "bluesky")
    assert "18!" in table.stdout and "! sudden change" in table.stdout
    status = tracker("status")
    assert status.returncode == 0, status.stderr
    assert "sudden changes in the last 7 days" in status.stdout
    assert "bluesky followers Kit Connor (kit.bsky.social): 1,800 -> 18" in status.stdout
    assert "Joe Locke" not in status.stdout.split("sudden changes")[1]


def _top(seeded: Seeded, tmp_path: Path, line: str) -> Config:
    path = tmp_path / "tracker.toml"
    path.write_text(f"{line}\n" + seeded.config_text(), encoding="utf-8")
    return config_module.load(path)


def test_the_flag_can_be_turned_off(seeded: Seeded, store: Store, tmp_path: Path) -> None:
    config = _top(seeded, tmp_path, "change_factor = 0")
    run_round(config, store, noon(seeded.today), ["bluesky"])
    seeded.bluesky.set_followers("kit.bsky.social", 18)
    run_round(config, store, noon(seeded.today, 1), ["bluesky"])
    assert _flags(store, "Kit Connor") == [(1800, None), (18, None)]


@pytest.mark.parametrize("bad", ["change_factor = 1.0", "change_factor = -2", "change_floor = -1"])
def test_the_factor_is_validated(seeded: Seeded, tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError, match=f"tracker.toml: {bad.split(' ')[0]}: "):
        _top(seeded, tmp_path, bad)


@pytest.mark.parametrize(
    ("before", "after", "flagged"),
    [
        (1000, 10, True),  # 99 % drop
        (1000, 0, True),
        (1000, 201, False),  # within 5x
        (1000, 199, True),
        (200, 1001, True),
        (10, 90, False),  # under the floor: small counts swing
        (0, 5000, False),  # no ratio from zero
    ],
)
def test_sudden_rule(before: int, after: int, flagged: bool) -> None:
    assert Sudden(5.0, 100).between(before, after) is flagged
