"""Poison values: one value the store cannot hold fails its own target, never the round.

Against SQLite and the real PostgreSQL (TRACKER_TEST_DATABASE_URL): a follower count past 64
bits, a DID longer than the key column, a subject longer than the subject column, counts in
non-ASCII digits. The good targets of the same request are stored; nothing is spooled.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests import entry
from tests.conftest import tracker_env
from tests.test_round import load, noon, run_round
from tracker.collectors.base import as_count
from tracker.core import MAX_KEY, MAX_SUBJECT, Observation, Sudden, parse_amount
from tracker.errors import BadPayload, ConfigError, StoreError, StoreRefused
from tracker.spool import Spool
from tracker.store import Database, Store
from tracker.store.models import Attempt

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


# -- the spool holds only what waits for an unreachable database ---------------------------


def _obs(value: int, key: str = "did:plc:a", hour: int = 12) -> Observation:
    return Observation("followers", key, value, datetime(2026, 1, 1, hour, tzinfo=UTC), "A")


def _attempt(hour: int = 12, source: str = "bluesky") -> Attempt:
    stamp = int(datetime(2026, 1, 1, hour, tzinfo=UTC).timestamp())
    return Attempt(
        source=source, started=stamp, finished=stamp, outcome="spooled", targets=1,
        stored=0, failed=0, kind="store", cause="database unavailable (test)",
    )  # fmt: skip


def test_a_spool_file_the_database_refuses_is_set_aside_and_the_rest_replayed(
    store: Store, tmp_path: Path, database_url: str
) -> None:
    spool = Spool.for_store(str(tmp_path / "spool"), store)
    poison = spool.put("bluesky", [_obs(10**20, hour=10)], _attempt(10))
    good = spool.put("bluesky", [_obs(7, hour=11)], _attempt(11))

    done = spool.replay(store)

    assert (done.files, done.stored, done.error) == (1, 1, "")
    assert done.bad == [poison.with_name(poison.name + ".bad")]
    assert not good.exists() and spool.files() == []
    (aside,) = spool.aside()
    assert aside.path == done.bad[0] and "refused" in aside.reason
    assert [int(v) for _, v in store.history(store.find_series("A")[0].id)] == [7]
    # Replayed again, nothing changes: the set-aside file is not retried, nothing waits.
    assert spool.replay(store).files == 0

    config = tmp_path / "tracker.toml"
    config.write_text(f'spool_dir = "{spool.directory}"\n', encoding="utf-8")
    shown = entry.run("status", env=tracker_env(config, database_url))
    assert shown.returncode == 0, shown.stderr
    assert f"spool: {done.bad[0]} set aside, cannot be replayed: database refused" in (shown.stdout)


def test_status_shows_the_values_waiting_in_the_spool(
    store: Store, tmp_path: Path, database_url: str
) -> None:
    spool = Spool.for_store(str(tmp_path / "spool"), store)
    spool.put("bluesky", [_obs(1, hour=10), _obs(2, hour=11)], _attempt(10))
    spool.put("bluesky", [_obs(3, hour=12)], _attempt(12))
    config = tmp_path / "tracker.toml"
    config.write_text(f'spool_dir = "{spool.directory}"\n', encoding="utf-8")
    shown = entry.run("status", env=tracker_env(config, database_url))
    assert shown.returncode == 0, shown.stderr
    assert f"spool: 3 value(s) in 2 file(s) wait for the database in {spool.directory}" in (
        shown.stdout
    )


class _Refusing(Database):
    """A database that answers, and refuses the values (or a store with a bug)."""

    def __init__(self, inner: Database, error: Exception) -> None:
        super().__init__(inner.engine)
        self.error = error

    def write(
        self,
        source: str,
        observations: Iterable[Observation],
        flags: int | None = None,
        *,
        sudden: Sudden | None = None,
    ) -> int:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        StoreRefused("database refused the values: numeric value out of range"),
        ValueError("a bug in the store"),
    ],
    ids=["refused", "bug"],
)
def test_a_write_failing_for_another_reason_than_an_outage_is_not_spooled(
    seeded: Seeded, store: Database, tmp_path: Path, error: Exception
) -> None:
    config = load(seeded, tmp_path)
    refusing = _Refusing(store, error)

    report = run_round(config, refusing, noon(seeded.today), ["bluesky"])["bluesky"]

    assert (report.outcome, report.kind) == ("failed", "store")
    assert "2 value(s) not stored" in report.cause
    assert Spool.for_store(config.spool_dir, store).files() == []
    attempt = store.attempts("bluesky", limit=1)[0]
    assert attempt.outcome == "failed" and "not stored" in attempt.cause


_REPLAY = """
import sys
from tracker.spool import Spool
from tracker.store import Database
store = Database.open(sys.argv[1])
done = Spool.for_store(sys.argv[2], store).replay(store)
print(done.files)
"""


def test_two_processes_replaying_one_spool_record_each_attempt_once(
    store: Store, tmp_path: Path, database_url: str
) -> None:
    spool = Spool.for_store(str(tmp_path / "spool"), store)
    files = 60
    for i in range(files):
        spool.put("bluesky", [_obs(i, key=f"did:plc:{i}")], _attempt(i % 24))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _REPLAY, database_url, str(spool.directory)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    replayed = [int(racer.communicate(timeout=120)[0]) for racer in racers]

    assert all(racer.returncode == 0 for racer in racers)
    assert sum(replayed) == files and spool.files() == []
    assert len(store.attempts("bluesky", limit=1000)) == 24  # one per distinct attempt
    assert store.count() == files


def test_the_daemon_refuses_a_spool_dir_it_cannot_write(seeded: Seeded, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    config = seeded.write_config(tmp_path / "tracker.toml")
    shown = subprocess.run(
        [sys.executable, "-m", "tracker", "run"],
        env=tracker_env(
            config,
            f"sqlite:///{tmp_path / 't.db'}",
            TRACKER_SPOOL_DIR=str(tmp_path / "a-file" / "spool"),
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 2
    assert "spool_dir" in shown.stderr and "cannot hold spooled values" in shown.stderr
    assert "Traceback" not in shown.stderr


def test_values_lost_to_an_unwritable_spool_show_in_status_once_the_database_is_back(
    seeded: Seeded, store: Database, tmp_path: Path
) -> None:
    """The database away and the spool unwritable: the values are lost, and the attempt that
    says so is recorded when the database returns (the daemon's runner keeps it meanwhile)."""
    import asyncio

    from tests.test_reliability import _Down
    from tracker.http import make_client, retry_policy
    from tracker.round import Runner

    config = load(seeded, tmp_path)
    (tmp_path / "a-file").write_text("")
    config.spool_dir = str(tmp_path / "a-file" / "spool")
    flaky = _Down(store)

    async def go() -> None:
        async with make_client(config.http, config.contact) as client:
            at = noon(seeded.today)
            runner = Runner(
                config, flaky, client, clock=lambda: at, policy=retry_policy(config.http)
            )
            lost = await runner.run_source("bluesky")
            assert lost.outcome == "failed" and "2 value(s) lost" in lost.cause
            flaky.down = False
            at = noon(seeded.today, 1)
            back = await runner.run_source("bluesky")
            assert back.outcome == "ok"

    asyncio.run(go())
    outcomes = [(a.outcome, "lost" in a.cause) for a in store.attempts("bluesky")]
    assert sorted(outcomes) == [("failed", True), ("ok", False)]
    (row,) = [s for s in store.status() if s.source == "bluesky"]
    assert "2 value(s) lost" in (row.last_cause or "")
