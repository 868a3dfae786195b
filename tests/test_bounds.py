"""Every round is bounded: a source's round ends at its deadline with the cause recorded, and
the next round of that source runs as usual. Over real sockets, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fakes.server import Fault
from tests.test_round import load, noon, run_round
from tracker.config import HttpSettings
from tracker.core import SourceSettings
from tracker.errors import ConfigError
from tracker.store import Store

if TYPE_CHECKING:
    from tests.conftest import Seeded


def test_a_round_past_its_deadline_is_cut_and_recorded(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    config = load(seeded, tmp_path)
    bluesky = config.source_settings["bluesky"]
    config.source_settings["bluesky"] = bluesky.model_copy(
        update={"round_deadline": timedelta(seconds=1)}
    )
    config.http = config.http.model_copy(update={"deadline": 600.0, "timeout": 5.0})
    seeded.bluesky.trickle_seconds = 0.05  # each byte inside the read timeout, for minutes
    seeded.bluesky.fail_next(Fault.TRICKLE)

    started = time.monotonic()
    reports = run_round(config, store, noon(seeded.today), ["bluesky", "wikipedia"])
    assert time.monotonic() - started < 15

    cut = reports["bluesky"]
    assert cut.outcome == "failed" and cut.kind == "deadline"
    assert set(cut.failures) == {"kit.bsky.social", "joe.bsky.social"}
    assert all("round deadline" in why for why in cut.failures.values())
    attempt = store.attempts("bluesky", limit=1)[0]
    assert attempt.outcome == "failed" and "round deadline: no answer within 1s" in attempt.cause
    assert reports["wikipedia"].outcome == "ok"  # another source's round is not touched

    again = run_round(config, store, noon(seeded.today, 1), ["bluesky"])["bluesky"]
    assert (again.outcome, again.stored) == ("ok", 2)


def test_a_round_deadline_defaults_to_the_interval() -> None:
    settings = SourceSettings(base_url="http://127.0.0.1:1", interval=timedelta(minutes=20))
    assert settings.deadline == timedelta(minutes=20)
    assert settings.model_copy(update={"round_deadline": timedelta(minutes=5)}).deadline == (
        timedelta(minutes=5)
    )


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('round_deadline = "-5m"', "round_deadline"),
        ("round_deadline = -5", "round_deadline"),
        ('round_deadline = "30d"', "round_deadline"),
        ("max_body = 10", "max_body"),
        ("max_body = 99999999999999", "max_body"),
    ],
)
def test_bounds_of_a_source_are_validated(
    seeded: Seeded, tmp_path: Path, extra: str, key: str
) -> None:
    text = seeded.config_text().replace(
        "[sources.wikipedia]\n", f"[sources.wikipedia]\n{extra}\n", 1
    )
    path = tmp_path / "tracker.toml"
    path.write_text(text, encoding="utf-8")
    from tracker import config as config_module

    with pytest.raises(ConfigError, match=f"sources.wikipedia.{key}"):
        config_module.load(path)


@pytest.mark.parametrize(
    "bad", [{"deadline": 0}, {"deadline": -1}, {"deadline": float("inf")}, {"max_body": 100}]
)
def test_http_bounds_are_validated(bad: dict[str, float]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        HttpSettings(**bad)  # type: ignore[arg-type]
    assert HttpSettings().deadline == 60.0 and HttpSettings().max_body == 32 * 1024 * 1024
