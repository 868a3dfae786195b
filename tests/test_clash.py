"""One series at one time twice with different values in one write: refused, counted, said.

Against SQLite and the real PostgreSQL (TRACKER_TEST_DATABASE_URL). Neither COPY (with its
set-based fallback) nor INSERT OR IGNORE may keep one of the two values in place of the
other; the write's other values are stored, and the daemon's round says what it refused.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.test_round import load, noon, run_round
from tracker.collectors.bluesky import BlueskyCollector
from tracker.core import Observation, Parsed, Request
from tracker.errors import Clashed, StoreRefused
from tracker.spool import Spool
from tracker.store import Store

if TYPE_CHECKING:
    from tests.conftest import Seeded

AT = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _obs(key: str, value: int) -> Observation:
    return Observation("followers", key, value, AT, key.upper())


def _values(store: Store, key: str) -> list[int]:
    found = [s for s in store.find_series(source="bluesky") if s.key == key]
    return [value for s in found for _, value in store.history(s.id)]


@pytest.mark.parametrize("size", [3, 300], ids=["few", "copy-sized"])
def test_a_clash_in_one_write_is_refused_and_the_rest_stored(store: Store, size: int) -> None:
    """`copy-sized`: enough rows for PostgreSQL's COPY path, whose unique-violation fallback
    used to keep one row of each (series, ts) with DISTINCT ON."""
    batch = [_obs(f"k{i}", i) for i in range(size)]
    batch.insert(1, _obs("k0", 999))  # k0 twice at one time: 0 and 999
    batch.append(_obs("k2", 2))  # k2 twice with the same value: a repeat, stored once

    with pytest.raises(Clashed) as caught:
        store.write("bluesky", batch)

    assert isinstance(caught.value, StoreRefused)
    assert (caught.value.stored, caught.value.refused) == (size - 1, 2)
    assert "2 value(s) refused" in str(caught.value) and "0 vs 999" in str(caught.value)
    assert _values(store, "k0") == []
    assert _values(store, "k1") == [1] and _values(store, "k2") == [2]
    assert store.count() == size - 1
    # k0 was new, and every value of it refused: no series made to sit there with no points.
    assert "k0" not in {s.key for s in store.find_series(source="bluesky")}
    # The same batch again: nothing new, the clash said again, still neither value kept.
    with pytest.raises(Clashed) as again:
        store.write("bluesky", batch)
    assert again.value.stored == 0 and _values(store, "k0") == []


def test_the_round_says_what_it_refused_and_stores_the_rest(
    seeded: Seeded, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A payload naming one account twice with two counts (a handle moved mid-answer)."""
    parse = BlueskyCollector.parse

    def twice(self: BlueskyCollector, request: Request, body: bytes, at: datetime) -> Parsed:
        parsed = parse(self, request, body, at)
        first = parsed.observations[0]
        parsed.observations.append(dataclasses.replace(first, value=first.value + 1))
        return parsed

    monkeypatch.setattr(BlueskyCollector, "parse", twice)
    config = load(seeded, tmp_path)

    report = run_round(config, store, noon(seeded.today), ["bluesky"])["bluesky"]

    assert report.outcome == "partial"
    assert report.stored == report.collected - 2
    assert "2 value(s) refused: one series and time twice with different values" in report.cause
    attempt = store.attempts("bluesky", limit=1)[0]
    assert (attempt.outcome, attempt.stored) == ("partial", report.stored)
    assert "refused" in attempt.cause
    assert store.count() == report.stored
    assert Spool.for_store(config.spool_dir, store).files() == []
