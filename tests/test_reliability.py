"""Never lose a snapshot: the database going away, kill -9, SIGTERM, config reloads, the spool.

The PostgreSQL outage is real: a private, throwaway server (initdb + pg_ctl as the `postgres`
user, on its own port) is stopped mid-run and started again. The outage lasts a few seconds
here; the mechanism does not depend on its length (a failed write is spooled, every round
replays the spool first), so 60 seconds behaves the same, only slower. The shared server on
5432 is never touched. Every wait polls against a deadline; nothing sleeps blindly.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session

from tests.conftest import (
    Seeded,
    Sleeps,
    _pg_schema_url,
    free_port,
    stored_rows,
    tracker_env,
)
from tests.fakes.server import Fault
from tracker import config as config_module
from tracker import daemon
from tracker.collectors.base import Observation
from tracker.config import Config
from tracker.core import Sudden
from tracker.errors import StoreError
from tracker.http import make_client, retry_policy
from tracker.round import Runner, SourceReport
from tracker.spool import Spool, database_identity, spool_directory
from tracker.store import Database, Store
from tracker.store.models import Attempt, DaemonLock

DEADLINE = 30.0
OUTAGE_SECONDS = 3.0  # stands for 60: see the module docstring
SOURCES = ["bluesky", "mastodon", "netflix", "wikipedia"]
T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], deadline: float = DEADLINE) -> T:
    end = time.monotonic() + deadline
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > end:
            pytest.fail(f"timed out after {deadline}s waiting for {what}")
        time.sleep(0.05)


def noon(seeded: Seeded, hours: int = 0) -> datetime:
    t = seeded.today
    return datetime(t.year, t.month, t.day, 12, tzinfo=UTC) + timedelta(hours=hours)


def load(seeded: Seeded, tmp_path: Path, **options: str) -> Config:
    config = config_module.load(seeded.write_config(tmp_path / "tracker.toml", **options))
    config.spool_dir = str(tmp_path / "spool")
    return config


def rounds(
    config: Config, store: Store, moments: list[datetime], between: Callable[[int], None]
) -> list[dict[str, SourceReport]]:
    """One Runner round per moment, on one client; `between(i)` runs before round i."""

    async def go() -> list[dict[str, SourceReport]]:
        out = []
        async with make_client(config.http, config.contact) as client:
            for i, at in enumerate(moments):
                between(i)
                policy = retry_policy(config.http, sleep=Sleeps())
                runner = Runner(config, store, client, clock=lambda at=at: at, policy=policy)
                reports = await asyncio.wait_for(runner.run_round(), DEADLINE)
                out.append({r.source: r for r in reports})
        return out

    return asyncio.run(go())


# -- a private PostgreSQL --------------------------------------------------------------
class PrivatePostgres:
    """A throwaway server in a temporary directory, run as `postgres` on a free port."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin, self.root, self.port = bin_dir, root, free_port()
        self.data = root / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--no-sync", "-E", "UTF8")  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "server.log"), "-w", "-t", "30", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30",
                  "stop")  # fmt: skip

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb)")
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("a private PostgreSQL runs as the postgres user: needs root and runuser")
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user to run a private PostgreSQL")
    root = Path(tempfile.mkdtemp(prefix="tracker-pg-", dir="/tmp"))
    os.chown(root, owner.pw_uid, owner.pw_gid)
    server = PrivatePostgres(Path(found[-1]).parent, root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running():
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(private_pg: PrivatePostgres) -> Iterator[str]:
    if not private_pg.running():
        private_pg.start()
    yield from _pg_schema_url(private_pg.url)
    # _pg_schema_url drops its schema afterwards: the server must be up for that.


def test_postgres_outage_spools_and_every_collected_value_is_stored(
    private_pg: PrivatePostgres, pg_url: str, seeded: Seeded, tmp_path: Path
) -> None:
    config = load(seeded, tmp_path)
    moments = [noon(seeded, h) for h in range(4)]
    store = Database.open(pg_url)
    reference = Database.open(f"sqlite:///{tmp_path / 'reference.db'}")
    try:
        store.upgrade()
        reference.upgrade()
        spool = Spool.for_store(config.spool_dir, store)
        waiting: list[int] = []

        def outage(i: int) -> None:
            if i == 1:
                private_pg.stop()  # down for rounds 1 and 2
            if i == 2:
                waiting.append(spool.pending())
                time.sleep(OUTAGE_SECONDS)  # the server stays down meanwhile
            if i == 3:
                waiting.append(spool.pending())
                private_pg.start()

        got = rounds(config, store, moments, outage)
        want = rounds(config, reference, moments, lambda i: None)

        for i in (1, 2):
            assert {s: r.outcome for s, r in got[i].items()} == dict.fromkeys(got[i], "spooled")
            assert all("spooled to" in r.cause for r in got[i].values())
        assert {r.outcome for i in (0, 3) for r in got[i].values()} == {"ok"}
        # Everything the outage rounds collected waited in the spool, then was written.
        collected = [sum(r.collected for r in got[i].values()) for i in (1, 2)]
        assert waiting == [collected[0], collected[0] + collected[1]]
        assert spool.files() == [] and spool.pending() == 0
        assert stored_rows(store) == stored_rows(reference)
        assert store.count() == reference.count() == 27 + 3 * 3
        # The attempts say what happened, and account for every stored value exactly once.
        by_round = sorted(store.attempts(limit=100), key=lambda a: (a.started, a.source))
        outcomes = [a.outcome for a in by_round]
        assert outcomes == ["ok"] * 4 + ["spooled"] * 8 + ["ok"] * 4
        assert sum(a.stored for a in by_round) == store.count()
        assert {a.kind for a in by_round if a.outcome == "spooled"} == {"store"}
        assert [a.stored for a in by_round if a.source == "bluesky"] == [2, 2, 2, 2]
        assert sum(a.stored for a in want[0].values()) == 27
    finally:
        if not private_pg.running():
            private_pg.start()
        store.close()
        reference.close()


def test_the_daemon_rides_out_a_postgres_outage(
    private_pg: PrivatePostgres, pg_url: str, seeded: Seeded, tmp_path: Path
) -> None:
    config = seeded.write_config(tmp_path / "tracker.toml", interval="1s")
    spool_dir = tmp_path / "spool"
    env = tracker_env(config, pg_url, TRACKER_SPOOL_DIR=str(spool_dir))
    store = Database.open(pg_url)
    running = Daemon(env, tmp_path / "daemon.log")
    try:
        wait_for("a first round", lambda: _count(store) >= 27)
        private_pg.stop()
        down = time.monotonic()
        wait_for("four spooled rounds", lambda: len(list(spool_dir.glob("*.jsonl"))) >= 4)
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down)))
        assert running.proc.poll() is None, running.text()
        spool = Spool.for_store(str(spool_dir), store)
        batches = [spool.read(path) for path in spool.files()]
        private_pg.start()
        wait_for("an empty spool", lambda: not list(spool_dir.glob("*.jsonl")))
        wait_for("a bluesky round after the outage", lambda: _recovered(store))
        assert running.terminate() == 0
        # Every value spooled during the outage is in the database now.
        rows = stored_rows(store)
        spooled = {
            (b.source, o.metric, o.key, int(o.at.timestamp()), o.value)
            for b in batches
            for o in b.observations
        }
        assert spooled and spooled <= rows
        attempts = store.attempts(limit=1000)
        assert "spooled" in {a.outcome for a in attempts}
        seen = [(a.id, a.source, a.started, a.outcome, a.stored) for a in attempts]
        # No value is counted twice. (An attempt that reached the database while its write did
        # not records 0 stored, and the replay that later writes those values records none:
        # the sum can fall short, never exceed. The values themselves are asserted above.)
        assert sum(a.stored for a in attempts) <= store.count(), (seen, running.text())
        assert list(spool_dir.glob("*.bad")) == []
        log = running.text()
        assert "spooled to" in log and "spool: wrote" in log and "Traceback" not in log
    finally:
        running.close()
        if not private_pg.running():
            private_pg.start()
        store.close()


def _count(store: Store) -> int:
    try:
        return store.count()
    except StoreError:
        return 0


def _recovered(store: Store) -> bool:
    """A bluesky round stored after one that was spooled."""
    seen = [a.outcome for a in store.attempts("bluesky", limit=1000)]  # newest first
    return bool(seen) and seen[0] == "ok" and "spooled" in seen


# -- the daemon as a subprocess ------------------------------------------------------------
class Daemon:
    """`python -m tracker run`, its stderr in a file the test reads while it runs."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._stderr = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "run"],
            env=env,
            cwd=log.parent,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=daemon.STOP_GRACE_SECONDS + 15)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._stderr.close()


def lock_holder(store: Database) -> int | None:
    with Session(store.engine) as session:
        held = session.get(DaemonLock, "daemon")
        return held.pid if held else None


def outcomes(store: Store) -> dict[str, list[str]]:
    try:
        attempts = store.attempts(limit=1000)
    except Exception:  # the daemon has not made the tables yet
        return {}
    found: dict[str, list[str]] = {}
    for a in reversed(attempts):
        found.setdefault(a.source, []).append(a.outcome)
    return found


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        (result,) = conn.execute("PRAGMA integrity_check").fetchone()
    conn.close()
    return str(result)


def test_kill_9_mid_round_then_restart(seeded: Seeded, tmp_path: Path) -> None:
    db = tmp_path / "daemon.db"
    env = tracker_env(seeded.write_config(tmp_path / "tracker.toml"), f"sqlite:///{db}")
    seeded.wikipedia.delay = seeded.netflix.delay = 5.0  # in flight when the kill comes
    first = Daemon(env, tmp_path / "first.log")
    store = Database.open(f"sqlite:///{db}")
    try:
        wait_for(
            "bluesky and mastodon stored, wikipedia and netflix in flight",
            lambda: (
                outcomes(store) == {"bluesky": ["ok"], "mastodon": ["ok"]}
                and seeded.wikipedia.requests
                and seeded.netflix.requests
            ),
        )
        first.proc.send_signal(signal.SIGKILL)
        assert first.proc.wait(timeout=10) == -signal.SIGKILL
        assert integrity(db) == "ok"
        assert lock_holder(store) == first.proc.pid  # a stale lock, left behind
        assert store.count() == 2 + 7
        seeded.wikipedia.delay = seeded.netflix.delay = 0.0
        # Restart in a later second than the first round, so its followers are new points.
        time.sleep(1.0 - time.time() % 1.0 + 0.05)

        second = Daemon(env, tmp_path / "second.log")
        try:
            wait_for("the catch-up round", lambda: _caught_up(store))
            assert lock_holder(store) == second.proc.pid  # taken over: the holder is dead
            time.sleep(0.5)  # no burst of missed runs follows the one catch-up run
            assert outcomes(store) == {
                "bluesky": ["ok", "ok"],
                "mastodon": ["ok", "ok"],
                "netflix": ["ok"],
                "wikipedia": ["ok"],
            }
            assert second.terminate() == 0
        finally:
            second.close()
        assert integrity(db) == "ok"
        # No duplicate: each series' times strictly increase, periods are stored once.
        for series in store.find_series():
            times = [ts for ts, _ in store.history(series.id)]
            assert times == sorted(set(times))
        assert store.count() == 27 + 3  # the second round's followers; periods once
        (kit,) = store.find_series("Kit Connor", "bluesky")
        assert [v for _, v in store.history(kit.id)] == [1800, 1800]
    finally:
        first.close()
        store.close()


def _caught_up(store: Store) -> bool:
    seen = outcomes(store)
    return len(seen) == 4 and len(seen["bluesky"]) == len(seen["mastodon"]) == 2


def test_sigterm_lets_the_round_in_flight_write(seeded: Seeded, tmp_path: Path) -> None:
    db = tmp_path / "daemon.db"
    env = tracker_env(seeded.write_config(tmp_path / "tracker.toml"), f"sqlite:///{db}")
    seeded.wikipedia.delay = 1.5
    running = Daemon(env, tmp_path / "daemon.log")
    store = Database.open(f"sqlite:///{db}")
    try:
        wait_for(
            "three sources stored and wikipedia in flight",
            lambda: len(outcomes(store)) == 3 and seeded.wikipedia.requests,
        )
        sent = time.monotonic()
        assert running.terminate() == 0
        # It stopped as the round ended, without waiting out the grace (a loaded machine may
        # take seconds to get there, so the grace is the bound, not a stopwatch).
        assert time.monotonic() - sent < daemon.STOP_GRACE_SECONDS
        assert "still in flight" not in running.text()
        assert outcomes(store) == dict.fromkeys(SOURCES, ["ok"])
        assert store.count() == 27
        assert "stopping: 1 round(s) in flight" in running.text()
        assert lock_holder(store) is None
    finally:
        running.close()
        store.close()


def test_a_stop_past_the_grace_spools_the_round_in_flight(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    config = load(seeded, tmp_path)
    seeded.netflix.slow_seconds = 3.0
    seeded.netflix.fail_next(Fault.TIMEOUT)  # one of the two files hangs

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run_forever(config, store, stop=stop, grace=0.2))
        end = time.monotonic() + DEADLINE
        while len(await asyncio.to_thread(outcomes, store)) < 3 or len(seeded.netflix.requests) < 2:  # noqa: E501
            assert not task.done() and time.monotonic() < end
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())

    spool = Spool.for_store(config.spool_dir, store)
    (path,) = spool.files()
    batch = spool.read(path)
    assert batch.source == "netflix" and batch.observations  # the file that did answer
    assert (batch.attempt.outcome, batch.attempt.kind) == ("spooled", "stopped")
    assert "stopped mid-round" in batch.attempt.cause
    assert store.find_series(source="netflix") == []
    assert "netflix" not in outcomes(store)

    rounds(config, store, [noon(seeded)], lambda i: None)  # the next round replays first

    assert spool.files() == []
    spooled = {
        ("netflix", o.metric, o.key, int(o.at.timestamp()), o.value) for o in batch.observations
    }
    assert spooled <= stored_rows(store, "netflix")
    assert [a.outcome for a in store.attempts("netflix")] == ["ok", "spooled"]


# -- config reload -----------------------------------------------------------------------
def _tag(tag: str, subject: str) -> str:
    return f'\n[[hashtags]]\ntag = "{tag}"\nplatforms = ["mastodon"]\nsubject = "{subject}"\n'


SEASON2 = _tag("#HeartstopperSeason2", "Heartstopper S2")
NICK = _tag("nickandcharlie", "Nick and Charlie")
BAD = _tag("two words", "Bad")


async def _until(what: str, check: Callable[[], object], task: asyncio.Task[None]) -> None:
    end = time.monotonic() + DEADLINE
    while not await asyncio.to_thread(check):
        if task.done():
            task.result()
            pytest.fail(f"the daemon stopped while waiting for {what}")
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _daemon_session(
    config: Config, store: Store, poll: float, steps: Callable[[asyncio.Task[None]], object]
) -> None:
    before = sum(len(v) for v in outcomes(store).values())

    async def main() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()

        async def on_ready() -> None:
            ready.set()

        task = asyncio.create_task(
            daemon.run_forever(config, store, stop=stop, poll=poll, ready=on_ready)
        )
        try:
            await asyncio.wait_for(ready.wait(), DEADLINE)  # the signal handlers are in place
            await _until(
                "the first round",
                lambda: sum(len(v) for v in outcomes(store).values()) >= before + 4,
                task,
            )
            await steps(task)  # type: ignore[misc]
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)

    asyncio.run(main())


def test_config_reload_when_the_file_changes_and_on_sighup(
    seeded: Seeded,
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="tracker")
    monkeypatch.setenv("TRACKER_SPOOL_DIR", str(tmp_path / "spool"))
    for name in ("heartstopperseason2", "nickandcharlie"):
        seeded.mastodon.add_tag(name, [1, 2, 3], [4, 5, 6], today=seeded.today)
    path = seeded.write_config(tmp_path / "tracker.toml")
    config = config_module.load(path)

    def tag_rows(tag: str) -> set[tuple[str, int]]:
        return {(r[1], r[4]) for r in stored_rows(store, "mastodon") if r[2].endswith(f":{tag}")}

    async def on_file_change(task: asyncio.Task[None]) -> None:
        seeded.write_config(path, extra=SEASON2)  # polled: no signal, no restart
        await _until("the new hashtag", lambda: tag_rows("heartstopperseason2"), task)
        seeded.write_config(path, extra=SEASON2 + BAD)
        await _until("the refusal", lambda: "hashtags[2].tag" in caplog.text, task)

    _daemon_session(config, store, 0.1, on_file_change)

    # The new hashtag was collected at once; the other sources did not run again.
    want = {
        ("hashtag_uses", 2),
        ("hashtag_uses", 3),
        ("hashtag_accounts", 5),
        ("hashtag_accounts", 6),
    }
    assert tag_rows("heartstopperseason2") == want
    assert outcomes(store) == {
        "bluesky": ["ok"],
        "mastodon": ["ok", "ok"],
        "netflix": ["ok"],
        "wikipedia": ["ok"],
    }
    (refusal,) = [r for r in caplog.records if "refused" in r.getMessage()]
    assert refusal.levelname == "ERROR"
    message = refusal.getMessage()
    assert f"{path}: hashtags[2].tag: 'two words' is not a hashtag" in message  # file, key, why
    assert "the previous config keeps running" in message
    assert "config reloaded" in caplog.text and "mastodon changed, runs now" in caplog.text

    caplog.clear()
    seeded.write_config(path, extra=SEASON2 + NICK)

    async def on_sighup(task: asyncio.Task[None]) -> None:
        os.kill(os.getpid(), signal.SIGHUP)  # polling is off (an hour): only the signal
        await _until("the SIGHUP hashtag", lambda: tag_rows("nickandcharlie"), task)

    _daemon_session(config, store, 3600.0, on_sighup)
    assert "config reloaded (SIGHUP): mastodon changed, runs now" in caplog.text
    assert len(tag_rows("nickandcharlie")) == 4


def test_a_reload_during_the_sources_round_runs_it_again_when_the_round_ends(
    seeded: Seeded, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scheduler cannot start a job that is still running (max_instances = 1): the changed
    # targets must not wait a whole interval because the reload came mid-round.
    monkeypatch.setenv("TRACKER_SPOOL_DIR", str(tmp_path / "spool"))
    seeded.mastodon.add_tag("nickandcharlie", [1, 2, 3], [4, 5, 6], today=seeded.today)
    path = seeded.write_config(tmp_path / "tracker.toml")
    config = config_module.load(path)
    seeded.mastodon.delay = 0.5  # every answer: the first round is still in flight below

    def tag_rows() -> set[tuple[str, int]]:
        return {
            (r[1], r[4]) for r in stored_rows(store, "mastodon") if r[2].endswith(":nickandcharlie")
        }

    async def main() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()

        async def on_ready() -> None:
            ready.set()

        task = asyncio.create_task(
            daemon.run_forever(config, store, stop=stop, poll=3600.0, ready=on_ready)
        )
        try:
            await asyncio.wait_for(ready.wait(), DEADLINE)
            assert "mastodon" not in outcomes(store)  # its first round has not ended yet
            seeded.write_config(path, extra=NICK)
            os.kill(os.getpid(), signal.SIGHUP)
            await _until("the hashtag added mid-round", tag_rows, task)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)

    asyncio.run(main())
    assert len(tag_rows()) == 4
    assert outcomes(store)["mastodon"] == ["ok", "ok"]


# -- the spool itself -------------------------------------------------------------------
def _observations(at: datetime) -> list[Observation]:
    day = datetime(at.year, at.month, at.day, tzinfo=UTC) - timedelta(days=1)
    return [
        Observation("followers", "did:plc:kit", 1800, at, "Kit Connor", label="kit.bsky.social"),
        Observation("subscribers", "UCkit", 45_600, at, "Kit Connor", sig=3),
        Observation(
            "pageviews", "en.wikipedia:Kit", 50, day, "Kit Connor",
            labels={"project": "en.wikipedia"}, period=timedelta(days=1),
        ),
    ]  # fmt: skip


def _attempt(at: datetime, source: str = "bluesky") -> Attempt:
    stamp = int(at.timestamp())
    return Attempt(
        source=source, started=stamp, finished=stamp, outcome="spooled", targets=3,
        stored=0, failed=0, kind="store", cause="database unavailable (test)",
    )  # fmt: skip


def test_replaying_twice_stores_nothing_twice(store: Store, tmp_path: Path) -> None:
    at = datetime(2024, 5, 1, 12, tzinfo=UTC)
    spool = Spool.for_store(str(tmp_path / "spool"), store)
    path = spool.put("bluesky", _observations(at), _attempt(at))
    assert oct(path.stat().st_mode & 0o777) == "0o600" and path.parent == tmp_path / "spool"
    copy = path.read_bytes()

    first = spool.replay(store)
    path.write_bytes(copy)  # as if the process died between the commit and the delete
    second = spool.replay(store)

    assert (first.files, first.values, first.stored) == (1, 3, 3)
    assert (second.files, second.values, second.stored) == (1, 3, 0)
    assert spool.files() == []
    assert store.count() == 3
    (pageviews,) = store.find_series(metric="pageviews")
    assert pageviews.labels == {"project": "en.wikipedia"}
    day = int(datetime(2024, 4, 30, tzinfo=UTC).timestamp())
    assert [tuple(p) for p in store.points(pageviews.id)] == [(day, 50, 86400, None, None)]
    (subscribers,) = store.find_series(metric="subscribers")
    assert [tuple(p)[2:4] for p in store.points(subscribers.id)] == [(None, 3)]
    (attempt,) = store.attempts("bluesky")
    assert (attempt.outcome, attempt.stored, attempt.kind) == ("spooled", 3, "store")


def test_bad_foreign_and_unfinished_spool_files_are_never_stored_nor_deleted(
    store: Store, tmp_path: Path
) -> None:
    at = datetime(2024, 5, 1, 12, tzinfo=UTC)
    spool = Spool.for_store(str(tmp_path / "spool"), store)
    truncated = spool.put("bluesky", _observations(at), _attempt(at))
    truncated.write_text("\n".join(truncated.read_text().splitlines()[:-1]) + "\n")
    foreign = Spool(spool.directory, "sqlite:////elsewhere/other.db")
    theirs = foreign.put("bluesky", _observations(at), _attempt(at))
    unfinished = spool.directory / (truncated.name.replace("bluesky", "mastodon") + ".tmp")
    unfinished.write_text("{")
    good = spool.put("mastodon", _observations(at)[:1], _attempt(at, "mastodon"))

    done = spool.replay(store)

    assert (done.files, done.stored, done.error) == (1, 1, "")
    assert done.bad == [truncated.with_name(truncated.name + ".bad")]
    assert done.bad[0].exists() and not truncated.exists()
    assert theirs.exists() and unfinished.exists() and not good.exists()
    assert [s.source for s in store.find_series()] == ["mastodon"]
    assert [a.source for a in store.attempts()] == ["mastodon"]


def test_the_spool_sits_beside_a_sqlite_file_else_in_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert spool_directory("spool", make_url(f"sqlite:///{tmp_path}/db/t.db")) == (
        tmp_path / "db" / "spool"
    )
    assert spool_directory("spool", make_url("postgresql://u:pw@db/t")) == (
        tmp_path / "data" / "tracker" / "spool"
    )
    assert spool_directory("/var/spool/t", make_url("sqlite:///t.db")) == Path("/var/spool/t")
    assert database_identity(make_url("postgresql://u:pw@db/t")) == "postgresql://u:***@db/t"


class _Down(Database):
    """A store whose database is away: writes and attempt records fail, reads work."""

    def __init__(self, inner: Database, *, attempts: bool = True) -> None:
        super().__init__(inner.engine)
        self.down = True
        self.attempts_down = attempts

    def write(
        self,
        source: str,
        observations: Iterable[Observation],
        flags: int | None = None,
        *,
        sudden: Sudden | None = None,
    ) -> int:
        if self.down:
            raise StoreError("database error: the server closed the connection")
        return super().write(source, observations, flags, sudden=sudden)

    def record_attempt(self, attempt: Attempt) -> None:
        if self.down and self.attempts_down:
            raise StoreError("database: the server closed the connection")
        super().record_attempt(attempt)


def test_a_refused_write_and_attempt_are_spooled_then_replayed(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    config = load(seeded, tmp_path)
    flaky = _Down(store)
    moments = [noon(seeded), noon(seeded, 1)]

    def recover(i: int) -> None:
        flaky.down = i == 0

    (down, up) = rounds(config, flaky, moments, recover)

    assert {r.outcome for r in down.values()} == {"spooled"}
    assert {r.outcome for r in up.values()} == {"ok"}
    assert store.count() == 27 + 3
    assert Spool.for_store(config.spool_dir, store).files() == []
    by_source: dict[str, list[tuple[str, int]]] = {}
    for a in sorted(store.attempts(), key=lambda a: a.started):
        by_source.setdefault(a.source, []).append((a.outcome, a.stored))
    assert by_source == {
        "bluesky": [("spooled", 2), ("ok", 2)],
        "mastodon": [("spooled", 7), ("ok", 1)],
        "netflix": [("spooled", 6), ("ok", 0)],
        "wikipedia": [("spooled", 12), ("ok", 0)],
    }
    assert {(s.source, s.last_outcome) for s in store.status()} == {(n, "ok") for n in SOURCES}


def test_a_spool_that_cannot_be_written_says_the_values_are_lost(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    config = load(seeded, tmp_path)
    (tmp_path / "not-a-directory").write_text("")
    config.spool_dir = str(tmp_path / "not-a-directory" / "spool")
    flaky = _Down(store, attempts=False)

    (reports,) = rounds(config, flaky, [noon(seeded)], lambda i: None)

    report = reports["bluesky"]
    assert (report.outcome, report.kind) == ("failed", "store")
    assert "2 value(s) lost: cannot spool to" in report.cause
    assert store.count() == 0
    assert {a.outcome for a in store.attempts()} == {"failed"}
