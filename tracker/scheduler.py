"""APScheduler 3 wiring: one job per source, interval + jitter, missed runs coalesced.

Catch-up policy: jobs live in memory, so a daemon that starts (or restarts after a crash) runs
every source once at once, then on its interval; runs missed while it was down are not
replayed one by one. While it runs, fire times missed because the process was stalled (a
suspended laptop, a long pause) coalesce into one run (`coalesce`, no misfire grace limit).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from tracker.config import Config
from tracker.core import SourceSettings

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
        trigger = _trigger(config.source_settings[name])
        scheduler.add_job(run_source, trigger, args=[name], id=name, name=name, next_run_time=start)
    scheduler.add_job(
        heartbeat,
        IntervalTrigger(seconds=int(HEARTBEAT.total_seconds()), timezone="UTC"),
        id="_heartbeat",
    )
    return scheduler


def _trigger(settings: SourceSettings) -> IntervalTrigger:
    return IntervalTrigger(
        seconds=int(settings.interval.total_seconds()),
        jitter=int(settings.jitter.total_seconds()) or None,
        timezone="UTC",
    )


def next_runs(scheduler: AsyncIOScheduler) -> dict[str, datetime | None]:
    return {job.id: job.next_run_time for job in scheduler.get_jobs() if not job.id.startswith("_")}


def reschedule(
    scheduler: AsyncIOScheduler,
    old: Config,
    new: Config,
    sources: list[str],
    run_source: Callable[[str], Awaitable[object]],
    at: datetime,
) -> dict[str, str]:
    """Make the jobs match `new` after a reload; source -> what changed ('added' ...).

    A new source, or one whose targets or settings changed, runs at `at` (now), so a hashtag
    added to the file is collected without waiting a whole interval. A changed interval or
    jitter gets a new trigger; a source no longer runnable loses its job.
    """
    done: dict[str, str] = {}
    jobs = set(next_runs(scheduler))
    for name in sorted(jobs - set(sources)):
        scheduler.remove_job(name)
        done[name] = "removed"
    for name in sources:
        settings = new.source_settings[name]
        if name not in jobs:
            scheduler.add_job(
                run_source, _trigger(settings), args=[name], id=name, name=name, next_run_time=at
            )
            done[name] = "added"
            continue
        before = old.source_settings.get(name)
        timing = before is None or (before.interval, before.jitter) != (
            settings.interval,
            settings.jitter,
        )
        if timing:
            scheduler.reschedule_job(name, trigger=_trigger(settings))
            done[name] = "rescheduled"
        if old.targets(name) != new.targets(name) or before != settings:
            scheduler.modify_job(name, next_run_time=at)
            done[name] = "changed, runs now"
    return done
