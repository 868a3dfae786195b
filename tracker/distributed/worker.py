"""`tracker worker`: Dramatiq runs each part of a slot through the round machinery.

A part is planned, fetched under the one retry policy, parsed and written by the embedded
daemon's `Runner`, with instantaneous values stored at the slot's start: a redelivered or
duplicated message writes the same (series, time) rows, which the store ignores. The attempt
is recorded as a round's is; then the message is acknowledged (Dramatiq acks after the actor
returns). A part the database cannot take is not spooled here: the actor raises, Dramatiq
retries it (MAX_RETRIES, with backoff) and then dead-letters it, recorded as a failed attempt
of kind 'dead_letter' with the cause. A part that arrives after its slot is over (older than
the source's interval since it was sent) is dropped and recorded as a failed attempt of kind 'late'.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from tracker.config import Config
from tracker.distributed.messages import (
    ACTOR,
    MAX_BACKOFF_MS,
    MAX_RETRIES,
    MIN_BACKOFF_MS,
    Part,
    make_broker,
    mask,
)
from tracker.errors import StoreError, TrackerError
from tracker.http import make_client
from tracker.round import MAX_CAUSE, Runner
from tracker.roundreport import SourceReport
from tracker.secrets import redact
from tracker.spool import Spool
from tracker.store import Store
from tracker.store.models import Attempt
from tracker.timeutil import from_epoch, now, to_epoch

log = logging.getLogger("tracker.worker")

HEARTBEAT_SECONDS = 5.0
DEFAULT_THREADS = 8
STOP_TIMEOUT_MS = 30_000


class Undelivered(TrackerError):
    """The part's values could not be written: the message is retried, not acknowledged."""


class SlotRunner(Runner):
    """The round machinery with one change: what the database does not take is redelivered.

    The embedded daemon spools such values to its disk; a worker leaves them in the queue,
    where any worker can write them once the database is back.
    """

    def _spool(
        self,
        report: SourceReport,
        observations: list[Any],
        started: datetime,
        why: str,
        kind: str = "store",
        *,
        record: bool = True,
    ) -> None:
        raise Undelivered(f"{report.source}: {why}: {len(observations)} value(s) not written")


class Collecting:
    """The actor: one part of one slot per message, on the worker's event loop."""

    def __init__(
        self, config: Config, store: Store, name: str, *, clock: Callable[[], datetime] = now
    ) -> None:
        self.config = config
        self.store = store
        self.name = name
        self.clock = clock
        self.started = to_epoch(clock())
        self.messages = 0
        self.beats = 0
        self._runner: SlotRunner | None = None
        self._client: httpx.AsyncClient | None = None

    def runner(self) -> SlotRunner:
        if self._runner is None:
            self._client = make_client(self.config.http, self.config.contact)
            # A spool the worker never fills (see SlotRunner): its replay finds nothing.
            spool = Spool.for_store(self.config.spool_dir, self.store)
            self._runner = SlotRunner(self.config, self.store, self._client, spool=spool)
        return self._runner

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client, self._runner = None, None

    async def collect(self, payload: dict[str, Any]) -> None:
        """The actor's body (Dramatiq keeps no results)."""
        await self.part(payload)

    async def part(self, payload: dict[str, Any]) -> str:
        """Collect one part; what became of it (an outcome, or 'late')."""
        part = Part.from_payload(payload)
        at = self.clock()
        age = to_epoch(at) - part.sent
        if age >= part.every:
            cause = (
                f"part {part.part} of the {from_epoch(part.slot):%H:%M:%S} slot arrived {age}s "
                f"after it was sent (interval {part.every}s): dropped, not run late"
            )
            await asyncio.to_thread(self._record, part, "late", cause, "late", keep=True)
            self.messages += 1
            return "late"
        if part.source not in self.config.source_settings:
            cause = f"{part.source}: not a source of this worker's config ({self.config.path})"
            await asyncio.to_thread(self._record, part, "failed", cause, "config")
            self.messages += 1
            return "failed"
        report = await self.runner().run_source(part.source, part.targets, from_epoch(part.slot))
        await asyncio.to_thread(
            self.store.dispatch_done,
            part.source,
            part.slot,
            part.part,
            len(part.targets),
            part.sent,
            report.outcome,
            to_epoch(self.clock()),
        )
        self.messages += 1
        return report.outcome

    def _record(
        self, part: Part, outcome: str, cause: str, kind: str = "", *, keep: bool = False
    ) -> None:
        """A part that never ran: the message's fate, and a failed attempt with its cause.

        With `keep`, a copy of a message that already has its fate (collected, then delivered
        again) changes nothing and is no failure.
        """
        at = to_epoch(self.clock())
        first = self.store.dispatch_done(
            part.source, part.slot, part.part, len(part.targets), part.sent, outcome, at, keep=keep
        )
        if keep and not first:
            done = f"part {part.part} of slot {part.slot}"
            log.info("%s: a copy of %s came late; it was done already", part.source, done)
            return
        log.warning("%s: %s", part.source, cause)
        self.store.record_attempt(
            Attempt(
                source=part.source,
                started=at,
                finished=at,
                outcome="failed",
                targets=len(part.targets),
                failed=len(part.targets),
                kind=kind or outcome,
                cause=redact(cause)[:MAX_CAUSE],
            )
        )

    def dead(self, payload: dict[str, Any], retries: int, exc: BaseException) -> None:
        """A message whose retries are spent: recorded as a failed attempt, with the cause."""
        part = Part.from_payload(payload)
        cause = f"dead letter after {retries} retries: {' '.join(str(exc).split())}"
        try:
            self._record(part, "dead", cause, "dead_letter")
        except StoreError as error:
            log.error("%s: dead letter not recorded (%s): %s", part.source, error, cause)

    def heartbeat(self) -> None:
        self.beats += 1
        try:
            self.store.worker_seen(self.name, self.started, to_epoch(self.clock()), self.messages)
        except StoreError as exc:
            log.warning("worker heartbeat not recorded: %s", exc)


def _ledger_middleware(collecting: Collecting) -> Any:
    from dramatiq.middleware import Middleware

    class Ledger(Middleware):  # type: ignore[misc]
        """Records dead letters; beats the worker's heartbeat; closes the HTTP client."""

        def __init__(self) -> None:
            self.stopping = threading.Event()
            self.beating: threading.Thread | None = None

        def after_process_message(
            self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
        ) -> None:
            if exception is not None and message.failed:
                retries = int(message.options.get("retries", 1)) - 1  # counts this one too
                collecting.dead(message.args[0], retries, exception)

        def after_worker_boot(self, broker: Any, worker: Any) -> None:
            self.beating = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
            self.beating.start()

        def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
            from dramatiq.asyncio import get_event_loop_thread

            loop = get_event_loop_thread()
            if loop is not None:
                loop.run_coroutine(collecting.close())
            self.stopping.set()
            if self.beating is not None:
                self.beating.join(timeout=10)
            collecting.heartbeat()  # the last word: how many messages this worker did

        def _beat(self) -> None:
            while not self.stopping.wait(0 if not collecting.beats else HEARTBEAT_SECONDS):
                collecting.heartbeat()

    return Ledger()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def serve(
    config: Config,
    store: Store,
    broker_url: str,
    queue: str,
    *,
    threads: int = DEFAULT_THREADS,
    stop: threading.Event | None = None,
    ready: threading.Event | None = None,
) -> None:
    """Consume `queue` until `stop` is set (the command sets it on SIGTERM/SIGINT); the parts
    in flight finish first."""
    import dramatiq
    from dramatiq.middleware import AsyncIO, Retries, default_middleware

    collecting = Collecting(config, store, worker_name())
    middleware = [m() for m in default_middleware if m is not Retries]
    middleware += [
        # `after_*` hooks run last to first: the ledger's after Retries' (it sees which
        # messages failed) and before AsyncIO's (which stops the loop the client lives on).
        AsyncIO(),
        _ledger_middleware(collecting),
        Retries(max_retries=MAX_RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
    ]
    broker = make_broker(broker_url, middleware)
    dramatiq.actor(actor_name=ACTOR, queue_name=queue, broker=broker)(collecting.collect)
    stop = stop or threading.Event()
    worker = dramatiq.Worker(broker, queues={queue}, worker_threads=threads, worker_timeout=200)
    worker.start()
    log.info(
        "worker %s started: %d thread(s), queue %r, broker %s",
        collecting.name,
        threads,
        queue,
        mask(broker_url),
    )
    if ready is not None:
        ready.set()
    try:
        stop.wait()
    finally:
        worker.stop(timeout=STOP_TIMEOUT_MS)
        broker.close()
    log.info("worker %s stopped after %d message(s)", collecting.name, collecting.messages)
