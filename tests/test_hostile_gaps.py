"""The last gaps of issue 11's "Why", each a test over real sockets and a real database:

- a round stuck on a body sent one byte at a time, in the running daemon: cut at its
  deadline, and the source's next runs come on time (the issue: they were blocked);
- a full spool disk: the daemon refuses it at start, and values a full disk loses while the
  database is away are counted and shown by `status` once the database is back.

The full disk is a real one: a 64 KiB tmpfs, filled (needs root, as on CI; skipped elsewhere).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fakes.server import Fault
from tests.test_reliability import _Down
from tests.test_round import load, noon
from tracker import config as config_module
from tracker import daemon
from tracker.errors import ConfigError
from tracker.http import make_client, retry_policy
from tracker.round import Runner
from tracker.store import Database, Store

if TYPE_CHECKING:
    from tests.conftest import Seeded

DEADLINE = 30.0  # seconds any one wait may take before the test fails


def _only_bluesky(url: str, spool: Path) -> str:
    return f"""\
contact = "tests@example.org"
spool_dir = "{spool}"

[http]
timeout = 5.0
connect_timeout = 1.0
max_attempts = 1
deadline = 600

[sources.bluesky]
base_url = "{url}"
interval = "2s"
jitter = 0
round_deadline = "1s"

[[accounts]]
platform = "bluesky"
handle = "kit.bsky.social"
subject = "Kit Connor"
"""


def test_a_stuck_round_in_the_daemon_is_cut_and_the_next_runs_come_on_time(
    seeded: Seeded, store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text(_only_bluesky(seeded.bluesky.url, tmp_path / "spool"), encoding="utf-8")
    config = config_module.load(path)
    seeded.bluesky.trickle_seconds = 0.05  # each byte inside the read timeout, for minutes
    seeded.bluesky.fail_next(*[Fault.TRICKLE] * 3)

    def outcomes() -> list[tuple[str, str]]:
        return [(a.outcome, a.kind) for a in reversed(store.attempts("bluesky"))]

    async def main() -> list[tuple[str, str]]:
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run_forever(config, store, stop=stop))
        try:
            end = time.monotonic() + DEADLINE
            while ("ok", "") not in (seen := await asyncio.to_thread(outcomes)):
                assert not task.done(), task.exception()
                assert time.monotonic() < end, f"no good round after the stuck ones: {seen}"
                await asyncio.sleep(0.1)
            stop.set()
            await asyncio.wait_for(task, 10)
        finally:
            if not task.done():
                task.cancel()
        return seen

    started = time.monotonic()
    seen = asyncio.run(main())
    # Three rounds cut at 1 s, every 2 s, then the fourth stores: no run was lost.
    assert seen[:4] == [("failed", "deadline")] * 3 + [("ok", "")]
    assert time.monotonic() - started < 15
    attempts = list(reversed(store.attempts("bluesky")))
    assert all("round deadline: no answer within 1s" in a.cause for a in attempts[:3])
    starts = [a.started for a in attempts[:4]]
    assert all(
        1 <= later - earlier <= 3 for earlier, later in zip(starts, starts[1:], strict=False)
    )


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs with no byte left."""
    mount = tmp_path / "full"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root is needed): {made.stderr.strip()}")
    try:
        with (
            (mount / "filler").open("wb", buffering=0) as filler,
            pytest.raises(OSError, match="No space"),
        ):
            while True:
                filler.write(b"\0" * 4096)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_the_daemon_refuses_a_full_spool_disk_at_start(
    seeded: Seeded, store: Store, tmp_path: Path, full_disk: Path
) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text(_only_bluesky(seeded.bluesky.url, full_disk / "spool"), encoding="utf-8")
    config = config_module.load(path)
    with pytest.raises(ConfigError) as caught:
        asyncio.run(daemon.run_forever(config, store))
    assert (caught.value.file, caught.value.key) == (str(path), "spool_dir")
    assert "cannot hold spooled values: No space left on device" in str(caught.value)
    assert store.attempts() == []  # nothing ran


def test_values_a_full_spool_disk_loses_are_shown_in_status_once_the_database_is_back(
    seeded: Seeded, store: Database, tmp_path: Path, full_disk: Path
) -> None:
    config = load(seeded, tmp_path)
    config.spool_dir = str(full_disk)
    flaky = _Down(store)

    async def go() -> None:
        async with make_client(config.http, config.contact) as client:
            at = noon(seeded.today)
            runner = Runner(
                config, flaky, client, clock=lambda: at, policy=retry_policy(config.http)
            )
            lost = await runner.run_source("bluesky")
            assert lost.outcome == "failed"
            assert "2 value(s) lost" in lost.cause and "No space left on device" in lost.cause
            flaky.down = False
            at = noon(seeded.today, 1)
            assert (await runner.run_source("bluesky")).outcome == "ok"

    asyncio.run(go())
    (row,) = [s for s in store.status() if s.source == "bluesky"]
    assert "2 value(s) lost" in (row.last_cause or "")
    assert sorted(a.outcome for a in store.attempts("bluesky")) == ["failed", "ok"]
