"""A seeded database and a running `tracker serve`, for the web tests (API, Prometheus, browser)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests import entry
from tests.conftest import Seeded, free_port, seed, tracker_env
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.netflix import FakeNetflix
from tests.fakes.wikipedia import FakeWikimedia

TIMEOUT = 120  # seconds: a busy 2-core machine starts Python slowly


def tracker(config: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`tracker ARGS`, finished; fails the test with its stderr when it exits non-0.

    In this process (the data a served site shows is not what the web tests test); in a
    thread of its own when this thread already runs an event loop (Playwright's), inside which
    `run --once` cannot start its own (this thread waits meanwhile).
    """
    env = tracker_env(config, database_url)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        result = entry.run(*args, env=env)
    else:
        with ThreadPoolExecutor(1) as pool:
            result = pool.submit(entry.run, *args, env=env).result(timeout=TIMEOUT)
    assert result.returncode == 0, f"tracker {' '.join(args)}: {result.stderr}"
    return result


@contextmanager
def fakes_seeded() -> Iterator[Seeded]:
    """The platform fakes, started and loaded with the conftest campaign (any scope)."""
    running = {
        "bluesky": FakeBluesky().start(),
        "mastodon": FakeMastodon().start(),
        "wikipedia": FakeWikimedia().start(),
        "netflix": FakeNetflix().start(),
    }
    try:
        yield seed(running)
    finally:
        for fake in running.values():
            fake.stop()


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serve(
    config: Path, database_url: str, workdir: Path, *args: str, host: str = "127.0.0.1"
) -> Iterator[Served]:
    """`tracker serve` as a user starts it, on a free port; stopped (SIGTERM) on leaving."""
    port = free_port()
    log = workdir / f"serve-{port}.log"
    with log.open("w", encoding="utf-8") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "tracker", "serve", "--host", host, "--port", str(port), *args],
            env=tracker_env(config, database_url),
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            assert process.poll() is None, f"tracker serve exited: {served.stderr()}"
            try:
                if httpx.get(served.url + "/api/status", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"tracker serve never answered: {served.stderr()}"
            time.sleep(0.2)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
