"""The daemon: take the database, schedule every source, stop cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from tracker import scheduler as scheduling
from tracker.baselines import references
from tracker.config import Config
from tracker.http import make_client
from tracker.round import Runner, SourceReport
from tracker.store import Store
from tracker.timeutil import now

log = logging.getLogger("tracker.daemon")

# How long a stop waits for the round in flight to write what it collected.
STOP_GRACE_SECONDS = 30.0


async def run_once(config: Config, store: Store) -> list[SourceReport]:
    """One full round of every runnable source, then return."""
    _sync(config, store)
    async with make_client(config.http, config.contact) as client:
        return await Runner(config, store, client).run_round()


async def run_forever(
    config: Config,
    store: Store,
    *,
    ready: Callable[[], Awaitable[None]] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Until SIGTERM/SIGINT (or `stop` is set): every source on its own schedule."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    store.acquire_lock()
    try:
        _sync(config, store)
        async with make_client(config.http, config.contact) as client:
            runner = Runner(config, store, client)
            await _serve(runner, store, stop, ready)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        store.release_lock()
    log.info("stopped")


async def _serve(
    runner: Runner,
    store: Store,
    stop: asyncio.Event,
    ready: Callable[[], Awaitable[None]] | None,
) -> None:
    sources, skipped = runner.plan()
    for report in skipped:
        log.warning(report.line())
    in_flight: set[asyncio.Task[SourceReport]] = set()

    async def run_source(name: str) -> None:
        task = asyncio.create_task(runner.run_source(name))
        in_flight.add(task)
        try:
            # Shielded: a stop lets the round finish its write instead of cutting it off.
            await asyncio.shield(task)
        finally:
            in_flight.discard(task)
            job = scheduler.get_job(name)
            await asyncio.to_thread(store.set_next_run, name, job.next_run_time if job else None)

    async def heartbeat() -> None:
        await asyncio.to_thread(store.heartbeat)

    scheduler = scheduling.build(runner.config, sources, run_source, heartbeat, now())
    scheduler.start()
    for name, when in scheduling.next_runs(scheduler).items():
        targets = runner.config.targets(name)
        every = runner.config.source_settings[name].interval
        log.info(
            "tracking %s: %d target(s) (%s), every %s, next run %s",
            name,
            len(targets),
            ", ".join(t.name for t in targets[:5]) + (" ..." if len(targets) > 5 else ""),
            every,
            f"{when:%Y-%m-%d %H:%M:%S} UTC" if when else "paused",
        )
    if not sources:
        log.warning("nothing to collect: the config names no runnable source")
    if ready is not None:
        await ready()
    await stop.wait()
    log.info("stopping: %d round(s) in flight", len(in_flight))
    scheduler.shutdown(wait=False)
    if in_flight:
        await asyncio.wait(in_flight, timeout=STOP_GRACE_SECONDS)
    for name in sources:
        store.set_next_run(name, None)


def _sync(config: Config, store: Store) -> None:
    if config.campaign is not None:
        store.sync_baselines(config.campaign.name, references(config))
