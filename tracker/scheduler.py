"""APScheduler 3 wiring: one job per source, interval + jitter, missed runs coalesced."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from tracker.config import Config

HEARTBEAT = timedelta(seconds=30)


def build(
    config: Config,
    sources: list[str],
    run_source: Callable[[str], Awaitable[object]],
    heartbeat: Callable[[], Awaitable[object]],
    start: datetime,
) -> AsyncIOScheduler:
    """A scheduler whose first run of every source is `start` (now: catch up at once)."""
    scheduler = AsyncIOScheduler(
        timezone="UTC",
        job_defaults={
            # After downtime, one run catches up; never a burst of missed runs.
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": None,
        },
    )
    for name in sources:
        settings = config.source_settings[name]
        trigger = IntervalTrigger(
            seconds=int(settings.interval.total_seconds()),
            jitter=int(settings.jitter.total_seconds()) or None,
            timezone="UTC",
        )
        scheduler.add_job(run_source, trigger, args=[name], id=name, name=name, next_run_time=start)
    scheduler.add_job(
        heartbeat,
        IntervalTrigger(seconds=int(HEARTBEAT.total_seconds()), timezone="UTC"),
        id="_heartbeat",
    )
    return scheduler


def next_runs(scheduler: AsyncIOScheduler) -> dict[str, datetime | None]:
    return {job.id: job.next_run_time for job in scheduler.get_jobs() if not job.id.startswith("_")}
