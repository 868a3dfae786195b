"""The sudden-change flag on every path that writes values, and what its check costs.

Rounds, spool replays, backfills and imports all write through `Store.write` with the
config's rule; the daemon's store (holding the daemon lock) remembers each series' newest
value, so a round after the first asks the database nothing for the check — and never flags
differently for it:
a long-lived store's flags equal a model's that reads everything from scratch, over random
writes into the present and the past, duplicates included, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import NETFLIX_GLOBAL_COLUMNS, netflix_tsv
from tests.test_backfill import config, fakes, fill  # noqa: F401  (fixtures)
from tracker.config import Config
from tracker.core import Observation, Sudden
from tracker.importers import registry as importers
from tracker.importers.base import import_file
from tracker.store import BACKFILLED, Database, Store
from tracker.store.models import SUDDEN
from tracker.store.timeseries import TimeSeries

RULE = Sudden(5.0, 100)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _obs(key: str, value: int, hour: int) -> Observation:
    return Observation("followers", key, value, T0 + timedelta(hours=hour), f"S {key}", key)


def _asks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many series each look-up of the check asks the database about."""
    asked: list[int] = []
    newest, before = TimeSeries._newest, TimeSeries._values_before

    def counting_newest(self: TimeSeries, sids: list[int]) -> object:
        asked.append(len(sids))
        return newest(self, sids)

    def counting_before(self: TimeSeries, first: dict[int, int]) -> object:
        asked.append(len(first))
        return before(self, first)

    monkeypatch.setattr(TimeSeries, "_newest", counting_newest)
    monkeypatch.setattr(TimeSeries, "_values_before", counting_before)
    return asked


def test_the_daemons_store_asks_nothing_for_the_check_after_its_first_round(
    store: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = _asks(monkeypatch)
    keys = [f"k{i}" for i in range(600)]  # over one look-up chunk (500)
    store.acquire_lock()  # as the daemon does: the one process collecting
    try:
        for hour in range(3):
            store.write("bench", [_obs(k, 1000 + hour, hour) for k in keys], sudden=RULE)
        assert asked == [600]  # the first round only
        store.write("bench", [_obs("k1", 10, 3)], sudden=RULE)  # a 99 % drop, from memory
        assert asked == [600]
    finally:
        store.release_lock()
    # Any other store (`run --once`, a worker, the daemon's own once it let go) asks each time.
    other = Database.open(database_url)
    try:
        other.write("bench", [_obs(k, 1003, 3) for k in keys[2:]], sudden=RULE)
        other.write("bench", [_obs(k, 1004, 4) for k in keys[2:]], sudden=RULE)
        store.write("bench", [_obs(k, 1005, 5) for k in keys[2:]], sudden=RULE)
        assert asked == [600, 598, 598, 598]
    finally:
        other.close()
    (k1,) = store.find_series(source="bench", subject="S k1")
    assert [(v, f) for _, v, _, _, f in store.points(k1.id)][-2:] == [(1002, None), (10, SUDDEN)]


def test_a_write_into_the_past_is_checked_against_the_value_before_it(store: Database) -> None:
    store.acquire_lock()
    store.write("bench", [_obs("a", 1000, 0), _obs("a", 1000, 10)], sudden=RULE)
    store.write("bench", [_obs("a", 50_000, 5)], sudden=RULE)  # a backfilled spike, in between
    store.write("bench", [_obs("a", 1010, 11)], sudden=RULE)  # the present again: 1000 before it
    store.release_lock()
    (a,) = store.find_series(source="bench", subject="S a")
    assert [(v, f) for _, v, _, _, f in store.points(a.id)] == [
        (1000, None),
        (50_000, SUDDEN),
        (1000, None),  # written before the spike was known: its flag is not revisited
        (1010, None),
    ]


def _model(
    stored: dict[int, dict[int, tuple[int, int | None]]], batch: list[tuple[int, int, int]]
) -> None:
    """The check as a model reading everything from scratch: `stored[key][hour]` -> (value,
    flags); a batch of (key, hour, value) rows, the first write of a (key, hour) kept."""
    previous: dict[int, int | None] = {}
    for key in {k for k, _, _ in batch}:
        first = min(h for k, h, _ in batch if k == key)
        earlier = [h for h in stored.get(key, {}) if h < first]
        previous[key] = stored[key][max(earlier)][0] if earlier else None
    for key, hour, value in sorted(batch):
        last = previous[key]
        flag = SUDDEN if last is not None and RULE.between(last, value) else None
        stored.setdefault(key, {}).setdefault(hour, (value, flag))
        previous[key] = value


@pytest.mark.parametrize("seed", [1, 2])
def test_remembered_values_never_change_a_flag(store: Database, seed: int) -> None:
    rng = random.Random(seed)
    store.acquire_lock()  # the store remembers: its flags must be the model's all the same
    values = [0, 10, 150, 1000, 1200, 8000, 60_000]
    model: dict[int, dict[int, tuple[int, int | None]]] = {}
    horizon = 0
    for _ in range(120):
        horizon += rng.choice([0, 1, 1, 2])
        batch: dict[tuple[int, int], int] = {}
        for _ in range(rng.randint(1, 5)):
            hour = horizon if rng.random() < 0.7 else rng.randint(0, horizon)  # now, or past
            batch[(rng.randint(0, 3), hour)] = rng.choice(values)
        rows = [(k, h, v) for (k, h), v in batch.items()]
        store.write("rand", [_obs(f"r{k}", v, h) for k, h, v in rows], sudden=RULE)
        _model(model, rows)
    store.release_lock()
    for key, points in model.items():
        (series,) = store.find_series(source="rand", subject=f"S r{key}")
        got = {
            int((ts - T0.timestamp()) // 3600): (v, f) for ts, v, _, _, f in store.points(series.id)
        }
        assert got == points, key


def test_backfilled_values_are_flagged_like_collected_ones(
    fakes: tuple[object, ...],  # noqa: F811
    config: Config,  # noqa: F811
    store: Store,
) -> None:
    views = {date(2022, 5, 1) + timedelta(days=i): 1000 for i in range(10)}
    views[date(2022, 5, 5)] = 40_000  # the launch-week spike: 40x
    fakes[0].views[("en.wikipedia", "Kit_Connor")] = views  # type: ignore[attr-defined]
    report, _ = fill(config, store, "wikipedia", date(2022, 5, 1), date(2022, 6, 1))
    assert (report.stored, report.failures) == (10, {})
    (series,) = store.find_series("Kit Connor", "wikipedia", "pageviews")
    flagged = [(v, f) for _, v, _, _, f in store.points(series.id) if f != BACKFILLED]
    assert flagged == [(40_000, BACKFILLED | SUDDEN), (1000, BACKFILLED | SUDDEN)]


def test_imported_values_are_flagged_like_collected_ones(
    config: Config,  # noqa: F811
    store: Store,
    tmp_path: Path,
) -> None:
    season = "Heartstopper: Season 1"
    rows = (
        ("2022-05-08", "TV (English)", "3", "Heartstopper", season, "24000000", "3"),
        ("2022-05-01", "TV (English)", "5", "Heartstopper", season, "23940000", "2"),
        ("2022-04-24", "TV (English)", "7", "Heartstopper", season, "140000", "1"),
    )
    path = tmp_path / "all-weeks-global.tsv"
    path.write_text(netflix_tsv(NETFLIX_GLOBAL_COLUMNS, rows), encoding="utf-8")
    tally = import_file(config, store, importers.get("netflix-top10"), path, everything=False)
    assert (tally.read, tally.stored) == (6, 6)
    found = {
        s.metric: [(v, f) for _, v, _, _, f in store.points(s.id)]
        for s in store.find_series(source="netflix")
    }
    hours = next(points for metric, points in found.items() if "hours" in metric)
    assert hours == [(140_000, None), (23_940_000, SUDDEN), (24_000_000, None)]
