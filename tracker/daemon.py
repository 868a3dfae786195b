"""The daemon: take the database, schedule every source, reload the config, stop cleanly.

    SIGTERM / SIGINT   stop: the rounds in flight finish and write (or spool) what they have
    SIGHUP             reload the config file now
    file changed       reloaded too (the file's mtime is polled every few seconds)

A reload that fails (bad TOML, a bad key or value) keeps the running config and logs the file,
the key and why (tracker/reload.py: the stamp and the reread, shared with `tracker dispatch`).
The database URL, the HTTP settings and the spool directory are read once: changing them takes a
restart (the reload says so).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from tracker import __version__
from tracker import scheduler as scheduling
from tracker.alerts.deliver import after_round
from tracker.baselines import references
from tracker.config import Config
from tracker.errors import ConfigError, LockHeld, StoreError
from tracker.http import make_client
from tracker.lineup import lineup, summary
from tracker.reload import POLL_SECONDS, reread, stamp
from tracker.round import Runner, SourceReport
from tracker.spool import Spool
from tracker.store import Store, redact
from tracker.timeutil import now

log = logging.getLogger("tracker.daemon")

# How long a stop waits for the round in flight to write what it collected; after that the
# round is cancelled and what it has is spooled.
STOP_GRACE_SECONDS = 30.0

# glibc's malloc arenas for the daemon's threads; see `limit_malloc_arenas`.
MALLOC_ARENAS = 1
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


async def run_once(config: Config, store: Store) -> list[SourceReport]:
    """One full round of every runnable source, then return."""
    _sync(config, store)
    async with make_client(config.http, config.contact) as client:
        runner = Runner(config, store, client)
        introduce(runner, "one round")
        reports = await runner.run_round()
    await asyncio.to_thread(after_round, runner.config, store)
    return reports


def introduce(runner: Runner, mode: str = "daemon") -> None:
    """The start line: version, pid, config, database, and every source on or skipped."""
    config = runner.config
    entries = lineup(config, runner.collector)
    where = str(config.path.resolve()) if config.path != Path("") else "(none)"
    database = redact(config.database_url)
    log.info(
        "tracker %s started (%s, pid %d): config %s, database %s; %s",
        __version__,
        mode,
        os.getpid(),
        where,
        database,
        summary(entries),
        extra={
            "event": "start",
            "version": __version__,
            "mode": mode,
            "pid": os.getpid(),
            "config": where,
            "database": database,
            "sources": [entry.fields() for entry in entries],
        },
    )


async def run_forever(
    config: Config,
    store: Store,
    *,
    ready: Callable[[], Awaitable[None]] | None = None,
    stop: asyncio.Event | None = None,
    grace: float = STOP_GRACE_SECONDS,
    poll: float = POLL_SECONDS,
) -> None:
    """Until SIGTERM/SIGINT (or `stop` is set): every source on its own schedule."""
    limit_malloc_arenas()
    # Checked before anything runs: a spool that cannot take values would lose them silently
    # the first time the database is away.
    if why := await asyncio.to_thread(Spool.for_store(config.spool_dir, store).check):
        raise ConfigError(str(config.path), "spool_dir", why)
    stop = stop or asyncio.Event()
    hangup = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, hangup.set)
    store.acquire_lock()
    try:
        _sync(config, store)
        async with make_client(config.http, config.contact) as client:
            runner = Runner(config, store, client)
            introduce(runner)
            await runner.replay()
            service = _Service(runner, store, stop, hangup, grace)
            await service.serve(ready, poll)
            if service.lost is not None:
                raise service.lost
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        _quietly("release the daemon lock", store.release_lock)
    log.info("stopped")


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas, as MALLOC_ARENA_MAX would, before the worker threads start.

    glibc gives each thread that allocates an arena of its own (up to 8 per core), and what
    is freed in one is seldom given back: the daemon's RSS grew ~2.4 MB per 1,000 rounds
    while Python's heap stayed flat. With the cap it stays flat, at no measurable cost (the
    GIL serialises the threads anyway). True when set; a MALLOC_ARENA_MAX in the environment
    is the user's choice and stands; elsewhere than glibc (musl, macOS, Windows) nothing to do.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, ValueError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))


class _Service:
    """The scheduler, the rounds in flight and the config they run."""

    def __init__(
        self, runner: Runner, store: Store, stop: asyncio.Event, hangup: asyncio.Event, grace: float
    ) -> None:
        self.runner = runner
        self.store = store
        self.stop = stop
        self.hangup = hangup
        self.grace = grace
        self.in_flight: set[asyncio.Task[SourceReport]] = set()
        self.lost: LockHeld | None = None  # the lock another daemon took from this one
        self.scheduled: set[str] = set()
        self.running: set[str] = set()  # sources whose job is between start and end
        # Sources whose targets changed while their round ran: they run again as it ends (a
        # job still running cannot be started "now" by the scheduler: max_instances is 1).
        self.again: set[str] = set()
        self.scheduler = scheduling.build(runner.config, [], self.run_source, self.heartbeat, now())

    async def run_source(self, name: str) -> None:
        self.running.add(name)
        try:
            await self._rounds(name)
        finally:
            self.running.discard(name)

    async def _rounds(self, name: str) -> None:
        try:
            while True:
                self.again.discard(name)
                task = asyncio.create_task(self.runner.run_source(name))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
                # Shielded: a stop lets the round finish its write instead of cutting it off.
                await asyncio.shield(task)
                await asyncio.to_thread(after_round, self.runner.config, self.store)
                job = self.scheduler.get_job(name)
                when = job.next_run_time if job else None
                await asyncio.to_thread(
                    _quietly, "plan the next run", self.store.set_next_run, name, when
                )
                if name not in self.again or self.stop.is_set():
                    break
        except asyncio.CancelledError:
            # The scheduler's shutdown cancels its jobs; the round itself is `_shutdown`'s.
            if not self.stop.is_set():
                raise

    async def heartbeat(self) -> None:
        try:
            await asyncio.to_thread(_quietly, "refresh the heartbeat", self.store.heartbeat)
        except LockHeld as exc:
            # Never two daemons on one database: the other one has it now, so this one stops.
            self.lost = exc
            self.stop.set()

    async def serve(self, ready: Callable[[], Awaitable[None]] | None, poll: float) -> None:
        config = self.runner.config
        # The start line has said which sources run and why the others do not.
        sources, _ = self.runner.plan()
        scheduling.reschedule(self.scheduler, config, config, sources, self.run_source, now())
        self.scheduled.update(sources)
        self.scheduler.start()
        if not sources:
            log.warning("nothing to collect: the config names no runnable source")
        if ready is not None:
            await ready()
        await self._watch(poll)
        await self._shutdown()

    async def _watch(self, poll: float) -> None:
        """Until stopped: reload on SIGHUP and whenever the config file changes."""
        path = self.runner.config.path
        seen = stamp(path)
        while not self.stop.is_set():
            waits = {
                asyncio.ensure_future(self.stop.wait()),
                asyncio.ensure_future(self.hangup.wait()),
            }
            _, pending = await asyncio.wait(
                waits, timeout=poll, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()
            if self.stop.is_set():
                return
            if self.hangup.is_set():
                self.hangup.clear()
                seen = stamp(path)
                await self.reload("SIGHUP")
            elif path != Path("") and (changed := stamp(path)) != seen:
                seen = changed
                await self.reload(f"{path} changed")

    async def reload(self, why: str) -> bool:
        """Load the file again and reschedule; a bad file keeps the running config."""
        old = self.runner.config
        new = await asyncio.to_thread(reread, old, why, log)
        if new is None:
            return False
        self.runner.reconfigure(new)
        sources, _ = self.runner.plan()
        entries = lineup(new, self.runner.collector)
        log.info(
            "sources after the reload: %s",
            summary(entries),
            extra={"event": "reload", "sources": [entry.fields() for entry in entries]},
        )
        changes = scheduling.reschedule(self.scheduler, old, new, sources, self.run_source, now())
        self.again.update(name for name in changes if name in self.running)
        self.scheduled.update(sources)
        for name in [n for n, what in changes.items() if what == "removed"]:
            await asyncio.to_thread(
                _quietly, "clear the next run", self.store.set_next_run, name, None
            )
        await asyncio.to_thread(_quietly, "store the baselines", _sync, new, self.store)
        done = ", ".join(f"{name} {what}" for name, what in changes.items()) or "no job changed"
        log.info("config reloaded (%s): %s", why, done)
        return True

    async def _shutdown(self) -> None:
        pending = set(self.in_flight)
        log.info("stopping: %d round(s) in flight", len(pending))
        self.scheduler.shutdown(wait=False)
        if pending:
            _, late = await asyncio.wait(pending, timeout=self.grace)
            if late:
                log.warning(
                    "stopping: %d round(s) still in flight after %.0fs are cancelled; "
                    "what they collected goes to the spool",
                    len(late),
                    self.grace,
                )
                for task in late:
                    task.cancel()
                await asyncio.wait(late, timeout=5.0)
        for name in sorted(self.scheduled):
            await asyncio.to_thread(
                _quietly, "clear the next run", self.store.set_next_run, name, None
            )


def _quietly(what: str, call: Callable[..., object], *args: object) -> None:
    """A bookkeeping write that must not stop the daemon when the database is away."""
    try:
        call(*args)
    except LockHeld:
        raise
    except StoreError as exc:
        log.warning("could not %s: %s", what, " ".join(str(exc).split())[:300])


def _sync(config: Config, store: Store) -> None:
    if config.campaign is not None:
        store.sync_baselines(config.campaign.name, references(config))
