"""Poison values: one value the store cannot hold fails its own target, never the round.

Against SQLite and the real PostgreSQL (TRACKER_TEST_DATABASE_URL): a follower count past 64
bits, a DID longer than the key column, a subject longer than the subject column, counts in
non-ASCII digits. The good targets of the same request are stored; nothing is spooled.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.test_round import load, noon, run_round
from tracker.collectors.base import as_count
from tracker.core import MAX_KEY, MAX_SUBJECT, parse_amount
from tracker.errors import BadPayload, ConfigError, StoreError, StoreRefused
from tracker.spool import Spool
from tracker.store import Store

if TYPE_CHECKING:
    from tests.conftest import Seeded


def _account(handle: str, subject: str = "Nick Nelson") -> str:
    return f'\n[[accounts]]\nplatform = "bluesky"\nhandle = "{handle}"\nsubject = "{subject}"\n'


def _stored_followers(store: Store, subject: str) -> list[int]:
    found = store.find_series(subject, "bluesky", "followers")
    return [int(value) for s in found for _, value in store.history(s.id)]


@pytest.mark.parametrize(
    ("followers", "did"),
    [
        (10**20, None),  # past 64 bits: PostgreSQL refuses it, sqlite3 raises OverflowError
        (2**63, None),  # the first integer SQLite cannot hold
        (5, "did:plc:" + "x" * (MAX_KEY + 1)),  # an id longer than the key column
    ],
    ids=["1e20", "2**63", "long-did"],
)
def test_a_poison_value_fails_its_target_and_the_rest_is_stored(
    seeded: Seeded, store: Store, tmp_path: Path, followers: int, did: str | None
) -> None:
    seeded.bluesky.add("nick.bsky.social", followers, did=did)
    config = load(seeded, tmp_path, _account("nick.bsky.social"))

    report = run_round(config, store, noon(seeded.today), ["bluesky"])["bluesky"]

    assert report.outcome == "partial"
    assert set(report.failures) == {"nick.bsky.social"}
    assert report.failures["nick.bsky.social"].startswith("value not stored: ")
    assert report.stored == 2
    assert _stored_followers(store, "Kit Connor") == [1800]
    assert _stored_followers(store, "Joe Locke") == [950]
    assert _stored_followers(store, "Nick Nelson") == []
    attempt = store.attempts("bluesky", limit=1)[0]
    assert (attempt.outcome, attempt.failed) == ("partial", 1)
    assert "value not stored" in attempt.cause
    assert Spool.for_store(config.spool_dir, store).files() == []


def test_an_overlong_subject_is_refused_by_the_config(seeded: Seeded, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(seeded, tmp_path, _account("nick.bsky.social", "S" * (MAX_SUBJECT + 1)))
    assert "accounts" in str(caught.value) and "subject" in str(caught.value)


def test_the_database_refusing_values_is_not_an_outage(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    """Past the round's own check (a plugin writing directly): the refusal is StoreRefused,
    which the round records as a failure, and the connection stays usable."""
    from datetime import UTC, datetime

    from tracker.core import Observation

    poison = Observation("followers", "did:plc:p", 10**20, datetime(2026, 1, 1, tzinfo=UTC), "P")
    with pytest.raises(StoreRefused):
        store.write("bluesky", [poison])
    assert not isinstance(StoreRefused("x"), type(None)) and issubclass(StoreRefused, StoreError)
    good = Observation("followers", "did:plc:g", 7, datetime(2026, 1, 1, tzinfo=UTC), "G")
    assert store.write("bluesky", [good]) == 1


def test_a_count_in_other_digits_fails_one_target(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    seeded.bluesky.add("nick.bsky.social", 1)
    seeded.bluesky.set_followers("nick.bsky.social", "²")  # type: ignore[arg-type]
    config = load(seeded, tmp_path, _account("nick.bsky.social"))

    report = run_round(config, store, noon(seeded.today), ["bluesky"])["bluesky"]

    assert report.outcome == "partial"
    assert set(report.failures) == {"nick.bsky.social"}
    assert "expected a count" in report.failures["nick.bsky.social"]
    assert _stored_followers(store, "Kit Connor") == [1800]


@pytest.mark.parametrize("text", ["١٢٣", "１２", "²", "1_000", "+5", " "])
def test_only_ascii_digits_are_a_count(text: str) -> None:
    with pytest.raises(BadPayload):
        as_count(text, "followersCount")
    assert as_count(" 123 ", "followersCount") == 123


@pytest.mark.parametrize("text", ["١٢٣", "１２K", "3.٤M"])
def test_only_ascii_digits_are_an_amount(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text)
    assert parse_amount("3.4M") == (3_400_000, 2)
