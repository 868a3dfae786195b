"""`tracker dispatch` reloads its config as the embedded daemon does: on SIGHUP and when the file
changes; a bad file keeps the running config; the slots follow added, removed and re-timed
sources. On real PostgreSQL (and RabbitMQ where messages are read back)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import Seeded, tracker_env
from tests.rabbit import Process, broker_url, pg_url, queue, wait_for  # noqa: F401
from tracker import config as config_module
from tracker.distributed import dispatch as dispatching
from tracker.distributed.dispatch import Dispatcher
from tracker.distributed.messages import Part, make_broker
from tracker.store import Database
from tracker.timeutil import from_epoch

SLOT = 1_800_000_000  # a multiple of every interval used here
NICK = '\n[[hashtags]]\ntag = "#NickAndCharlie"\nplatforms = ["mastodon"]\n'


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Database]:  # noqa: F811
    store = Database.open(pg_url)
    store.upgrade()
    yield store
    store.close()


class _Clock:
    """The dispatcher's clock, moved by the test."""

    def __init__(self, at: int) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return from_epoch(self.at)


class _Recorder:
    """A broker that keeps the messages: the slots' tests need no RabbitMQ."""

    def __init__(self) -> None:
        self.parts: list[Part] = []

    def enqueue(self, message: Any) -> None:
        self.parts.append(Part.from_payload(message.args[0]))

    def close(self) -> None:
        pass


def _slots(store: Database) -> dict[str, tuple[int, int]]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT source, every, next_slot FROM slot"))
        return {str(s): (int(e), int(n)) for s, e, n in rows}


def _drain(url: str, name: str) -> list[Part]:
    """The messages waiting in the queue, taken out of it."""
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    parts: list[Part] = []
    try:
        channel = conn.channel()
        while True:
            method, _, body = channel.basic_get(name, auto_ack=True)
            if method is None:
                return parts
            parts.append(Part.from_payload(json.loads(body)["args"][0]))
    except pika.exceptions.ChannelClosedByBroker:  # not declared yet: nothing sent so far
        return parts
    finally:
        conn.close()


def _tags(parts: list[Part], slot: int) -> list[str]:
    return sorted(
        t.name for p in parts if p.source == "mastodon" and p.slot == slot for t in p.targets
    )


def test_a_running_dispatcher_sends_what_the_changed_file_says(
    seeded: Seeded,
    tmp_path: Path,
    pg_url: str,  # noqa: F811
    pg_store: Database,
    broker_url: str,  # noqa: F811
    queue: str,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="tracker.dispatch")
    path = seeded.write_config(tmp_path / "tracker.toml", interval="60s")
    good = path.read_text(encoding="utf-8")
    clock = _Clock(SLOT + 1)
    config = config_module.load(str(path))
    dispatcher = Dispatcher(config, pg_store, make_broker(broker_url), queue, clock=clock)
    stop = threading.Event()
    thread = threading.Thread(
        target=dispatching.serve, args=(dispatcher, 0.05, stop), kwargs={"poll": 0.05}
    )
    thread.start()

    def sent(slot: int) -> list[Part]:
        """What went out until mastodon's part of `slot` did."""
        parts: list[Part] = []

        def mastodon() -> bool:
            parts.extend(_drain(broker_url, queue))
            return any(p.source == "mastodon" and p.slot == slot for p in parts)

        wait_for(f"slot {slot}", mastodon)
        return parts

    try:
        before = _tags(sent(SLOT), SLOT)
        assert len(before) == 2 and not any("nickandcharlie" in t for t in before)
        # The user adds a hashtag through the CLI while the dispatcher runs.
        added = subprocess.run(
            [sys.executable, "-m", "tracker", "hashtags", "add", "#NickAndCharlie"],
            env=tracker_env(path, pg_url),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stderr
        wait_for("the reload", lambda: "config reloaded" in caplog.text)
        assert f"config reloaded ({path} changed): mastodon 2 -> 3 targets" in caplog.text
        clock.at += 60
        after = _tags(sent(SLOT + 60), SLOT + 60)
        assert len(after) == 3 and any("nickandcharlie" in t for t in after)

        # A bad file: refused, named, and the running config goes on.
        path.write_text(good.replace('interval = "60s"', 'interval = "soon"', 1), "utf-8")
        wait_for("the refusal", lambda: "refused" in caplog.text)
        path.write_text(good + "[sources.bluesky\n", "utf-8")
        wait_for("the second refusal", lambda: caplog.text.count("refused") == 2)
        clock.at += 60
        assert _tags(sent(SLOT + 120), SLOT + 120) == after
        # A good file again: taken.
        path.write_text(good, "utf-8")
        wait_for("the second reload", lambda: caplog.text.count("config reloaded") == 2)
        clock.at += 60
        assert _tags(sent(SLOT + 180), SLOT + 180) == before
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert [r.levelname for r in refusals] == ["ERROR", "ERROR"]
    for record in refusals:
        assert f"{path}" in record.getMessage() and record.exc_info is None
        assert "the previous config keeps running" in record.getMessage()
    assert "sources.bluesky.interval" in refusals[0].getMessage()
    assert "config reloaded" in caplog.text and "mastodon 3 -> 2 targets" in caplog.text


def test_the_slots_follow_added_removed_and_retimed_sources(
    seeded: Seeded, tmp_path: Path, pg_store: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tracker.dispatch")
    path = seeded.write_config(tmp_path / "tracker.toml", interval="60s")
    good = path.read_text(encoding="utf-8")
    clock = _Clock(SLOT + 5)
    broker = _Recorder()
    dispatcher = Dispatcher(config_module.load(str(path)), pg_store, broker, "q", clock=clock)

    def tick(at: int) -> list[tuple[str, int, int]]:
        clock.at = at
        return sorted((c.source, c.slot, c.missed) for c in dispatcher.tick())

    assert tick(SLOT + 5) == [(s, SLOT, 0) for s in ("bluesky", "mastodon", "netflix", "wikipedia")]
    # bluesky every 10 min instead of 1; netflix switched off.
    slower = good.replace('interval = "60s"', 'interval = "600s"', 1)
    off = slower.replace("[sources.netflix]\n", "[sources.netflix]\nenabled = false\n")
    path.write_text(off, "utf-8")
    assert dispatcher.reload("test")
    assert "bluesky every 60s -> 600s, netflix removed" in caplog.text
    assert "netflix" not in _slots(pg_store)
    assert {s.source: s.next_run for s in pg_store.status()}.get("netflix") is None
    # The slot of bluesky sent at SLOT is not sent again: its next one is the next 10 min.
    assert tick(SLOT + 65) == [("mastodon", SLOT + 60, 0), ("wikipedia", SLOT + 60, 0)]
    assert _slots(pg_store)["bluesky"] == (600, SLOT + 600)
    # netflix back: it starts at the current slot, and the time it was off is no missed slot.
    path.write_text(slower, "utf-8")
    assert dispatcher.reload("test")
    assert "netflix added (every 60s, 1 targets)" in caplog.text
    assert tick(SLOT + 605) == [
        ("bluesky", SLOT + 600, 0),
        ("mastodon", SLOT + 600, 8),
        ("netflix", SLOT + 600, 0),
        ("wikipedia", SLOT + 600, 8),
    ]
    assert [a.kind for a in pg_store.attempts("netflix")] == []
    # bluesky every minute again: from the next minute; the current 10-min slot was sent.
    path.write_text(good, "utf-8")
    assert dispatcher.reload("test")
    assert tick(SLOT + 610) == []
    assert tick(SLOT + 665) == [
        (s, SLOT + 660, 0) for s in ("bluesky", "mastodon", "netflix", "wikipedia")
    ]
    # A bad key: refused, the config stays, the dispatcher goes on.
    path.write_text(good.replace('interval = "60s"', 'interval = "-5s"', 1), "utf-8")
    assert not dispatcher.reload("SIGHUP")
    assert "config reloaded (SIGHUP)" not in caplog.text
    assert dispatcher.every["bluesky"] == 60
    assert tick(SLOT + 725) == [
        (s, SLOT + 720, 0) for s in ("bluesky", "mastodon", "netflix", "wikipedia")
    ]
    assert len(broker.parts) == 4 + 2 + 4 + 4 + 4


def test_the_command_reloads_on_sighup(
    seeded: Seeded,
    tmp_path: Path,
    pg_url: str,  # noqa: F811
    pg_store: Database,
    broker_url: str,  # noqa: F811
    queue: str,  # noqa: F811
) -> None:
    path = seeded.write_config(tmp_path / "tracker.toml")
    env = tracker_env(path, pg_url, TRACKER_BROKER_URL=broker_url, TRACKER_QUEUE=queue)
    log = tmp_path / "dispatch.log"
    running = Process(env, log, "dispatch", "--tick", "0.2")
    try:
        wait_for("the start", lambda: "dispatcher started" in log.read_text("utf-8"))
        seeded.write_config(path, extra=NICK)
        os.kill(running.proc.pid, signal.SIGHUP)
        wait_for("the reload", lambda: "config reloaded (SIGHUP)" in log.read_text("utf-8"))
        assert "mastodon 2 -> 3 targets" in log.read_text("utf-8")
    finally:
        assert running.stop() == 0
    assert "dispatcher stopped" in log.read_text("utf-8")


def test_what_a_reload_says_changed(seeded: Seeded, tmp_path: Path) -> None:
    old = config_module.load(str(seeded.write_config(tmp_path / "a.toml", interval="60s")))
    new = config_module.load(str(seeded.write_config(tmp_path / "b.toml", extra=NICK)))
    said = dispatching._changes(old, new, {"bluesky": 60, "x": 60}, {"bluesky": 3600})
    assert said == "bluesky every 60s -> 3600s, x removed"
    said = dispatching._changes(old, new, {"mastodon": 60}, {"mastodon": 60})
    assert said == "mastodon 2 -> 3 targets"
    assert dispatching._changes(old, old, {"a": 1}, {"a": 1}) == "no source changed"
    assert timedelta(seconds=60) == old.source_settings["bluesky"].interval
