"""`tracker dispatch`: APScheduler is the clock; each due slot is claimed once and sent.

Every `tick` seconds the dispatcher asks the database for the slots due now (the store claims
them with FOR UPDATE SKIP LOCKED and advances them in the same transaction) and sends each
slot as parts of `batch` targets (default 50, a multiple of the platforms' request sizes),
one Dramatiq message each. Run as many dispatchers as you like: each slot goes out once.
Slots nobody dispatched (every dispatcher down) are not replayed one by one: the next one
covers them, and the skip is recorded as a failed attempt of kind 'missed'. Jitter is not
applied.

The config is reloaded as the embedded daemon's is (tracker/reload.py): on SIGHUP and when the
file changes (its stamp is polled every few seconds). The next tick dispatches the new targets,
sources and intervals: a new source gets its slots from the current one, a removed one is no
longer sent (its slot row goes, so a source added back later starts afresh instead of counting
the time between as missed), a changed interval takes over after the last slot sent (no slot
goes out twice, none counts as missed). A bad file keeps the running config and logs the file
and the problem; a reload logs what changed. The database URL and the broker are read once: they
take a restart. Several dispatchers should run one config: until each has reloaded they disagree
on the intervals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from tracker.collectors import registry
from tracker.collectors.base import Collector
from tracker.config import Config
from tracker.distributed.messages import ACTOR, Part, mask
from tracker.errors import StoreError
from tracker.lineup import lineup
from tracker.reload import POLL_SECONDS, reread, stamp
from tracker.store import Store
from tracker.store.models import Attempt
from tracker.store.slots import Claim
from tracker.timeutil import from_epoch, now, to_epoch

log = logging.getLogger("tracker.dispatch")

DEFAULT_TICK = 1.0
DEFAULT_BATCH = 50
# How soon the command's loop sees a stop or a SIGHUP (the file itself is polled less often).
WAKE_SECONDS = 0.2


class Dispatcher:
    """Sends the due slots of the sources a config runs, as messages on one queue."""

    def __init__(
        self,
        config: Config,
        store: Store,
        broker: Any,
        queue: str,
        *,
        batch: int = DEFAULT_BATCH,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self.config = config
        self.store = store
        self.broker = broker
        self.queue = queue
        self.batch = max(1, batch)
        self.clock = clock
        # A tick and a reload take turns: a tick sends with one config from start to end.
        self._turn = threading.Lock()
        self._collectors: dict[str, Collector] = {}
        self.every = _every(config, self._collectors)

    def collector(self, name: str) -> Collector:
        return _collector(self.config, self._collectors, name)

    def tick(self) -> list[Claim]:
        """Send every slot due now; a database or broker failure waits for the next tick."""
        with self._turn:
            return self._tick()

    def reload(self, why: str) -> bool:
        """Read the config file again; the next tick sends what it says. A file that cannot be
        used keeps the running config (the error names the file and the problem)."""
        new = reread(self.config, why, log)
        if new is None:
            return False
        collectors: dict[str, Collector] = {}
        try:
            every = _every(new, collectors)
        except Exception:  # a plugin that fails on the new settings: the old config runs on
            log.exception("config reload (%s) failed, the previous config keeps running", why)
            return False
        with self._turn:
            old, before = self.config, self.every
            self.config, self.every, self._collectors = new, every, collectors
        gone = sorted(set(before) - set(every))
        for name in gone:
            try:
                self.store.set_next_run(name, None)
                self.store.dispatch_forget(name)
            except StoreError as exc:
                log.warning("%s: its slots stay in the database: %s", name, _one_line(exc))
        log.info(
            "config reloaded (%s): %s",
            why,
            _changes(old, new, before, every),
            extra={"event": "reload", "every": every},
        )
        return True

    def _tick(self) -> list[Claim]:
        at = to_epoch(self.clock())
        try:
            claims = self.store.dispatch_due(self.every, at, self._send)
        except StoreError as exc:
            log.warning("dispatch: database unavailable, the slots stay due: %s", exc)
            return []
        except Exception as exc:  # the broker refused or went away: the slot stays due
            log.warning("dispatch: could not send, the slot stays due: %s", _one_line(exc))
            return []
        for claim in claims:
            log.info(
                "%s: slot %s sent as %d message(s)",
                claim.source,
                f"{from_epoch(claim.slot):%H:%M:%S}",
                claim.parts,
                extra={"source": claim.source, "slot": claim.slot, "parts": claim.parts},
            )
            if claim.missed:
                self._missed(claim, at)
            self._next_run(claim)
        return claims

    def _next_run(self, claim: Claim) -> None:
        """What `tracker status` shows as the source's next run: its next slot."""
        try:
            self.store.set_next_run(claim.source, from_epoch(claim.slot + self.every[claim.source]))
        except StoreError as exc:
            log.warning("%s: next run not recorded: %s", claim.source, exc)

    def _missed(self, claim: Claim, at: int) -> None:
        cause = (
            f"{claim.missed} slot(s) before {from_epoch(claim.slot):%Y-%m-%d %H:%M:%S} UTC were "
            "not dispatched (no dispatcher ran): covered by this one, not replayed"
        )
        log.warning("%s: %s", claim.source, cause)
        attempt = Attempt(
            source=claim.source,
            started=at,
            finished=at,
            outcome="failed",
            targets=len(self.config.targets(claim.source)),
            failed=0,
            kind="missed",
            cause=cause,
        )
        try:
            self.store.record_attempt(attempt)
        except StoreError as exc:
            log.error("%s: the missed slots were not recorded: %s", claim.source, exc)

    def _send(self, source: str, slot: int) -> list[int]:
        from dramatiq import Message

        sent = to_epoch(self.clock())
        parts = self.parts(source, slot, sent)
        for part in parts:
            message: Message[Any] = Message(
                queue_name=self.queue,
                actor_name=ACTOR,
                args=(part.payload(),),
                kwargs={},
                options={},
            )
            self.broker.enqueue(message)
        return [len(part.targets) for part in parts]

    def parts(self, source: str, slot: int, sent: int) -> list[Part]:
        """The slot's targets, in config order, in parts of `batch`; a worker plans each part.

        The config's targets themselves travel (a collector's plan may rewrite them), so a
        batch that is a multiple of the platform's request size keeps every request whole.
        """
        targets = self.config.targets(source)
        every = self.every[source]
        return [
            Part(source, slot, number, every, sent, tuple(targets[start : start + self.batch]))
            for number, start in enumerate(range(0, len(targets), self.batch))
        ]


def _collector(config: Config, cache: dict[str, Collector], name: str) -> Collector:
    if name not in cache:
        cache[name] = registry.get(name)(config.source_settings[name])
    return cache[name]


def _every(config: Config, cache: dict[str, Collector]) -> dict[str, int]:
    """Source -> interval in seconds, of every source the config runs."""
    return {
        entry.name: max(1, int(entry.interval.total_seconds()))
        for entry in lineup(config, lambda name: _collector(config, cache, name))
        if entry.runs and entry.interval is not None
    }


def _changes(old: Config, new: Config, before: dict[str, int], after: dict[str, int]) -> str:
    """'bluesky every 60s -> 120s, mastodon 2 -> 3 targets, x added (every 60s, 2 targets)'"""
    said: list[str] = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            said.append(f"{name} removed")
        elif name not in before:
            said.append(f"{name} added (every {after[name]}s, {len(new.targets(name))} targets)")
        else:
            if before[name] != after[name]:
                said.append(f"{name} every {before[name]}s -> {after[name]}s")
            was, now_ = old.targets(name), new.targets(name)
            if len(was) != len(now_):
                said.append(f"{name} {len(was)} -> {len(now_)} targets")
            elif was != now_:
                said.append(f"{name} targets changed ({len(now_)})")
    return ", ".join(said) or "no source changed"


def serve(
    dispatcher: Dispatcher,
    tick: float = DEFAULT_TICK,
    stop: threading.Event | None = None,
    broker_url: str = "",
    *,
    hangup: threading.Event | None = None,
    poll: float = POLL_SECONDS,
) -> None:
    """Tick until `stop` is set (the command sets it on SIGTERM/SIGINT); the tick in flight
    finishes first. Meanwhile reload the config when `hangup` is set (SIGHUP) and when its
    file changes (looked at every `poll` seconds)."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    stop = stop or threading.Event()
    scheduler = BackgroundScheduler(
        timezone="UTC",
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    scheduler.add_job(dispatcher.tick, "interval", seconds=tick, next_run_time=now())
    log.info(
        "dispatcher started: %d source(s) (%s), queue %r, broker %s",
        len(dispatcher.every),
        ", ".join(f"{name} every {s}s" for name, s in sorted(dispatcher.every.items())) or "none",
        dispatcher.queue,
        mask(broker_url),
    )
    if not dispatcher.every:
        log.warning("nothing to dispatch: the config names no runnable source")
    scheduler.start()
    try:
        _watch(dispatcher, stop, hangup or threading.Event(), poll)
    finally:
        scheduler.shutdown(wait=True)
        dispatcher.broker.close()
    log.info("dispatcher stopped")


def _watch(
    dispatcher: Dispatcher, stop: threading.Event, hangup: threading.Event, poll: float
) -> None:
    """Until stopped: reload on SIGHUP and whenever the config file changes."""
    path = dispatcher.config.path
    seen = stamp(path)
    looked = time.monotonic()
    while not stop.wait(min(poll, WAKE_SECONDS)):
        if hangup.is_set():
            hangup.clear()
            seen = stamp(path)
            dispatcher.reload("SIGHUP")
        elif time.monotonic() - looked >= poll:
            looked = time.monotonic()
            if path != Path("") and (changed := stamp(path)) != seen:
                seen = changed
                dispatcher.reload(f"{path} changed")


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
