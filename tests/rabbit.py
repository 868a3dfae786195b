"""Fixtures of the distributed mode: a PostgreSQL schema, the RabbitMQ broker, a queue per test.

Each test gets a queue of its own (and Dramatiq's .DQ and .XQ beside it), deleted afterwards,
so tests on several xdist workers never share messages. Import the fixtures into a module:
`from tests.rabbit import broker_url, pg_url, queue  # noqa: F401`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.conftest import PG_ENV, _pg_schema_url

BROKER_ENV = "TRACKER_TEST_BROKER_URL"
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672/%2F"
T = TypeVar("T")


def _reachable(url: str) -> str:
    import pika
    import pika.exceptions

    params = pika.URLParameters(url)
    params.connection_attempts, params.socket_timeout = 1, 3
    try:
        pika.BlockingConnection(params).close()
    except pika.exceptions.AMQPError as exc:
        return f"{type(exc).__name__} {exc}"
    return ""


@pytest.fixture
def broker_url() -> str:
    url = os.environ.get(BROKER_ENV, DEFAULT_BROKER)
    why = _reachable(url)
    if why:
        pytest.skip(f"RabbitMQ is not reachable at {url} ({why}): distributed tests skipped")
    return url


@pytest.fixture
def queue(broker_url: str) -> Iterator[str]:
    import pika

    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    conn = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = conn.channel()
        for suffix in ("", ".DQ", ".XQ"):
            channel.queue_delete(name + suffix)
    finally:
        conn.close()


def queue_counts(url: str, name: str) -> tuple[int, int, int]:
    """Messages ready in the queue, its delay queue and its dead-letter queue."""
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = conn.channel()
        counts = []
        for suffix in ("", ".DQ", ".XQ"):
            try:
                found = channel.queue_declare(name + suffix, passive=True)
                counts.append(found.method.message_count)
            except pika.exceptions.ChannelClosedByBroker:
                channel = conn.channel()
                counts.append(0)
        return counts[0], counts[1], counts[2]
    finally:
        conn.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (the distributed mode needs PostgreSQL)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: the distributed mode needs PostgreSQL")
    yield from _pg_schema_url(base)


def wait_for(what: str, check: Callable[[], T | None], deadline: float = 60.0) -> T:
    end = time.monotonic() + deadline
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Process:
    """`python -m tracker ARGS` in the background, its output in a log file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.args, self.env, self.log = args, env, log
        self.starts = 0
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        self.starts += 1
        with self.log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "tracker", *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """kill -9, then wait for it to be gone."""
        self.proc.kill()
        self.proc.wait(timeout=30)

    def restart(self) -> None:
        self.proc = self._start()

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            raise AssertionError(f"{' '.join(self.args)} did not stop on SIGTERM") from None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_started(self, deadline: float = 120.0) -> None:
        """Until its log says it started as many times as it was started (a loaded machine
        can take many seconds to import and migrate)."""
        wait_for(
            f"{' '.join(self.args)} to start",
            lambda: self.output().count(" started") >= self.starts,
            deadline,
        )
