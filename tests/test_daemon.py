"""The daemon: `tracker run` in a subprocess on SQLite, and `run_forever` in-process on both DBs.

Every wait polls against a deadline; no test sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import httpx
import pytest
from sqlmodel import Session

from tests.conftest import closed_port, tracker_env
from tracker import __version__, daemon
from tracker import config as config_module
from tracker.errors import StoreError
from tracker.round import Runner
from tracker.store import Database, SourceStatus, Store
from tracker.store.models import DaemonLock

if TYPE_CHECKING:
    from tests.conftest import Seeded

DEADLINE = 20.0  # seconds any one wait may take before the test fails
SOURCES = ["bluesky", "mastodon", "netflix", "wikipedia"]
T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], deadline: float = DEADLINE) -> T:
    """Poll `check` until it returns something truthy; fail after `deadline` seconds."""
    end = time.monotonic() + deadline
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > end:
            pytest.fail(f"timed out after {deadline}s waiting for {what}")
        time.sleep(0.05)


class Daemon:
    """`python -m tracker run` with stderr in a file the test can read while it runs."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        self._stderr = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "run", *args],
            env=env,
            cwd=log.parent,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for_log(self, fragment: str, count: int = 1) -> str:
        def seen() -> str | None:
            if self.proc.poll() is not None:
                pytest.fail(f"daemon exited with {self.proc.returncode}:\n{self.text()}")
            text = self.text()
            return text if text.count(fragment) >= count else None

        return wait_for(f"{fragment!r} in the daemon log", seen)

    def terminate(self) -> int:
        """SIGTERM, then the exit code; an idle daemon stops without waiting out the grace
        (the grace, not a stopwatch, is the bound: a loaded machine may take seconds)."""
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=daemon.STOP_GRACE_SECONDS + 15)
        assert time.monotonic() - sent < daemon.STOP_GRACE_SECONDS, "waited out the grace"
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._stderr.close()


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Every daemon a test starts is killed (if still running) when it ends."""
    started: list[Daemon] = []
    yield started
    for each in started:
        each.close()


def lock_holder(store: Database) -> int | None:
    with Session(store.engine) as session:
        held = session.get(DaemonLock, "daemon")
        return held.pid if held else None


def count_or_zero(store: Store) -> int:
    try:
        return store.count()
    except StoreError:  # the daemon has not created the tables yet
        return 0


def test_the_daemon_collects_holds_the_lock_and_stops_on_sigterm(
    seeded: Seeded, tmp_path: Path, daemons: list[Daemon]
) -> None:
    config = seeded.write_config(tmp_path / "tracker.toml")
    url = f"sqlite:///{tmp_path / 'daemon.db'}"
    env = tracker_env(config, url)
    first = Daemon(env, tmp_path / "first.log")
    daemons.append(first)

    log = first.wait_for_log(" started (daemon, ")
    # The daemon introduces itself first: one line, before any round says anything.
    start = log.splitlines()[0]
    assert start.endswith(
        f"INFO    tracker {__version__} started (daemon, pid {first.pid}): "
        f"config {config.resolve()}, database {url}; "
        "on: bluesky every 1h (2 targets), mastodon every 1h (2 targets), "
        "netflix every 1h (1 target), wikipedia every 1h (2 targets); "
        "skipped: instagram every 1h (no targets in the config), "
        "nyt every 1d (no targets in the config), reddit every 1h (no targets in the config), "
        "tiktok every 1h (no targets in the config), web every 1d (no targets in the config), "
        "wikitop every 1d (no targets in the config), x every 1h (no targets in the config), "
        "youtube every 1h (no targets in the config)"
    ), start
    store = Database.open(url)
    try:
        wait_for("27 stored values", lambda: count_or_zero(store) == 27)

        def planned() -> list[SourceStatus] | None:
            rows = store.status()
            return rows if len(rows) == 4 and all(r.next_run for r in rows) else None

        statuses = wait_for("a next run for every source", planned)
        assert [(s.source, s.last_outcome) for s in statuses] == [(n, "ok") for n in SOURCES]
        (kit,) = store.find_series("Kit Connor", "bluesky", "followers")
        assert [v for _, v in store.history(kit.id)] == [1800]
        assert lock_holder(store) == first.pid

        second = subprocess.run(
            [sys.executable, "-m", "tracker", "run"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert second.returncode == 3, second.stderr
        assert f"another tracker daemon (pid {first.pid} on " in second.stderr
        assert first.proc.poll() is None  # the first one carries on

        assert first.terminate() == 0
        log = first.text()
        assert "stopping: " in log and log.rstrip().endswith("stopped")
        assert lock_holder(store) is None
        assert all(s.next_run is None for s in store.status())
        assert store.count() == 27
        assert [a.outcome for a in store.attempts()] == ["ok"] * 4

        third = Daemon(env, tmp_path / "third.log")
        daemons.append(third)
        third.wait_for_log(f"started (daemon, pid {third.pid})")
        wait_for("the new daemon's lock", lambda: lock_holder(store) == third.pid)
        assert third.terminate() == 0
        assert lock_holder(store) is None
    finally:
        store.close()


def test_an_unreachable_source_is_recorded_and_the_daemon_keeps_running(
    seeded: Seeded, tmp_path: Path, daemons: list[Daemon]
) -> None:
    down = f"http://127.0.0.1:{closed_port()}"
    config = seeded.write_config(tmp_path / "tracker.toml", interval="1s")
    url = f"sqlite:///{tmp_path / 'daemon.db'}"
    env = tracker_env(
        config, url, TRACKER_SOURCES__NETFLIX__BASE_URL=down, TRACKER_HTTP__MAX_ATTEMPTS="1"
    )
    running = Daemon(env, tmp_path / "daemon.log", "--log-format", "json")
    daemons.append(running)

    store = Database.open(url)
    try:
        netflix = wait_for(
            "two failed netflix rounds in a row",
            lambda: next(
                (s for s in _status(store) if s.source == "netflix" and s.failures_in_a_row >= 2),
                None,
            ),
        )
        assert running.proc.poll() is None
        assert netflix.last_success is None and netflix.last_outcome == "failed"
        assert netflix.last_cause.startswith("Heartstopper: 127.0.0.1: ConnectError")
        assert store.find_series(source="netflix") == []
        failed = store.attempts("netflix")
        assert {(a.outcome, a.kind, a.stored) for a in failed} == {("failed", "temporary", 0)}
        # The other sources collect on: periods once, Bluesky followers every round.
        (kit,) = wait_for(
            "Kit Connor's Bluesky series", lambda: store.find_series("Kit Connor", "bluesky")
        )
        points = wait_for("a second Bluesky point", lambda: (p := store.history(kit.id))[1:] and p)
        assert {v for _, v in points} == {1800}
        assert store.count() >= 2 + 7 + 12
    finally:
        store.close()

    assert running.terminate() == 0
    records = [json.loads(line) for line in running.text().splitlines() if line.strip()]
    assert records and all(set(r) >= {"time", "level", "logger", "message"} for r in records)
    messages = [(r["level"], r["logger"], r["message"]) for r in records]
    assert messages[-1] == ("info", "tracker.daemon", "stopped")

    # The start line, as fields.
    start = records[0]
    assert (start["level"], start["logger"], start["event"]) == ("info", "tracker.daemon", "start")
    assert (start["version"], start["pid"], start["mode"]) == (__version__, running.pid, "daemon")
    assert (start["config"], start["database"]) == (str(config.resolve()), url)
    netflix_entry = next(e for e in start["sources"] if e["source"] == "netflix")
    assert netflix_entry == {
        "source": "netflix",
        "runs": True,
        "reason": "",
        "enabled": True,
        "installed": True,
        "targets": 1,
        "interval": "1s",
        "interval_seconds": 1,
        "jitter": "0",
        "credentials": "none needed",
        "missing": "",
    }

    # One summary per source per round, as fields: a failed round (at warning) ...
    rounds = [r for r in records if r["logger"] == "tracker.round" and "outcome" in r]
    failed = [r for r in rounds if r["source"] == "netflix"]
    assert len(failed) >= 2 and {r["level"] for r in failed} == {"warning"}
    summary = failed[0]
    assert summary["message"].startswith("netflix: failed — 1 target(s)")
    assert {k: summary[k] for k in ("outcome", "targets", "values", "new", "failed", "kind")} == {
        "outcome": "failed",
        "targets": 1,
        "values": 0,
        "new": 0,
        "failed": 1,
        "kind": "temporary",
    }
    assert summary["cause"].startswith("Heartstopper: 127.0.0.1: ConnectError")
    assert isinstance(summary["duration"], float) and 0 <= summary["duration"] < DEADLINE
    # ... and a good one (at info): Bluesky's first round stored both accounts.
    bluesky = [r for r in rounds if r["source"] == "bluesky"]
    assert bluesky[0]["level"] == "info"
    assert {k: bluesky[0][k] for k in ("outcome", "values", "new", "failed", "cause")} == {
        "outcome": "ok",
        "values": 2,
        "new": 2,
        "failed": 0,
        "cause": "",
    }


def _status(store: Store) -> list[SourceStatus]:
    try:
        return store.status()
    except StoreError:  # the daemon has not created the tables yet
        return []


def test_run_forever_in_process_collects_until_stopped(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    config = config_module.load(seeded.write_config(tmp_path / "tracker.toml"))
    held: list[int | None] = []

    async def main() -> None:
        stop = asyncio.Event()
        ready = asyncio.Event()

        async def on_ready() -> None:
            held.append(lock_holder(store))
            ready.set()

        task = asyncio.create_task(daemon.run_forever(config, store, ready=on_ready, stop=stop))
        try:
            await asyncio.wait_for(ready.wait(), DEADLINE)
            end = time.monotonic() + DEADLINE
            while not (
                await asyncio.to_thread(store.count) == 27
                and all(s.next_run for s in await asyncio.to_thread(store.status))
                and len(await asyncio.to_thread(store.status)) == 4
            ):
                assert not task.done(), task.exception()
                assert time.monotonic() < end, "timed out waiting for a full round"
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(task, 10)
        finally:
            if not task.done():
                task.cancel()

    asyncio.run(main())

    assert held == [os.getpid()]
    assert lock_holder(store) is None
    assert [(s.source, s.last_outcome, s.next_run) for s in store.status()] == [
        (name, "ok", None) for name in SOURCES
    ]
    (rank,) = store.find_series("Heartstopper", "netflix", "chart_rank", {"list": "GB"})
    assert [v for _, v in store.history(rank.id)] == [1]
    assert [b.name for b in store.baselines()] == ["kit-bluesky-prelaunch", "kit-bluesky-claim"]


def test_the_start_line_says_why_each_source_is_skipped_and_masks_the_password(
    seeded: Seeded,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    x_account = '\n[[accounts]]\nplatform = "x"\nhandle = "heartstopper"\nsubject = "Show"\n'
    path = seeded.write_config(tmp_path / "tracker.toml", extra=x_account)
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    monkeypatch.setenv("TRACKER_SOURCES__NETFLIX__ENABLED", "false")
    url = f"postgresql://tracker:s3cret-pw@127.0.0.1:{closed_port()}/tracker"
    config = config_module.load(path, database_url=url)
    store = Database.open(url)  # nothing connects: the start line needs no database
    client = httpx.AsyncClient()
    caplog.set_level(logging.INFO, logger="tracker.daemon")
    try:
        daemon.introduce(Runner(config, store, client))
    finally:
        asyncio.run(client.aclose())
        store.close()

    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "start"]
    line = record.getMessage()
    assert line.startswith(
        f"tracker {__version__} started (daemon, pid {os.getpid()}): config {path.resolve()}, "
        f"database postgresql://tracker:***@127.0.0.1:"
    ), line
    assert "on: bluesky every 1h (2 targets), mastodon every 1h (2 targets), " in line
    assert "netflix every 1h (disabled in config (sources.netflix.enabled = false))" in line
    assert "x every 1h (set X_BEARER_TOKEN (or sources.x.bearer_token_file))" in line
    assert "youtube every 1h (no targets in the config)" in line
    sources = getattr(record, "sources")  # noqa: B009  (an `extra=` field)
    assert "s3cret-pw" not in line and "s3cret-pw" not in json.dumps(sources)
    entries = {e["source"]: e for e in sources}
    assert (entries["x"]["runs"], entries["x"]["credentials"], entries["x"]["targets"]) == (
        False,
        "missing",
        1,
    )
    assert (entries["netflix"]["runs"], entries["netflix"]["enabled"]) == (False, False)
    assert entries["wikipedia"]["runs"] and entries["wikipedia"]["interval_seconds"] == 3600
