"""Soak: thousands of rounds against the fakes, time compressed, watching for leaks.

    .venv/bin/python -m benchmarks.soak [--rounds 10000] [--every 500] [--database URL]

One Runner (as the daemon has one) runs `run_round` in a loop over the four seeded sources
(Bluesky, Mastodon, Wikipedia, Netflix: 7 requests a round) on one HTTP client and a SQLite
file, the clock a minute further each round and the retry sleep a no-op. Every 7th round one
source gets a fault (503, a reset mid-body, a 429, a `null` body) and every 50th round the
store refuses the write, so the spool fills and the next round replays it.

Sampled every `--every` rounds: RSS (/proc/self/status), open file descriptors
(/proc/self/fd) and the sockets among them, established TCP connections to the fakes
(/proc/net/tcp), threads, files in the spool, Python's allocated blocks and the database size.
Flat means: after warm-up (the first `--every` rounds) sockets, connections and threads do not
grow, SQLite's descriptors stay within its connection pool, Python's heap does not grow, and
the highest RSS of the second half is within RSS_SLACK_MB of the highest of the first.
The soak caps glibc's malloc arenas at start as the daemon does (`--malloc-arenas 0`: leave
glibc's default, to see what the cap is for).
Prints the figures; writes benchmarks/results/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import seed
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.netflix import FakeNetflix
from tests.fakes.server import FakePlatform, Fault, Reply
from tests.fakes.wikipedia import FakeWikimedia
from tracker import config as config_module
from tracker import daemon
from tracker.collectors.base import Observation
from tracker.core import Sudden
from tracker.errors import StoreError
from tracker.http import make_client, retry_policy
from tracker.round import Runner
from tracker.store import Database, Store

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "soak.json"
RSS_SLACK_MB = 4.0
FAULT_EVERY = 7
OUTAGE_EVERY = 50
FAULTS: tuple[tuple[str, Reply | Fault], ...] = (
    ("bluesky", Reply(503, {}, b"Service Unavailable")),
    ("mastodon", Fault.RESET),
    ("wikipedia", Reply(429, {"Retry-After": "1"}, b"slow down")),
    ("netflix", Reply(200, {"Content-Type": "application/json"}, b"null")),
)


@dataclass
class Sample:
    round: int
    seconds: float
    rss_mb: float
    fds: int
    sockets: int
    fake_connections: int
    threads: int
    spool_files: int
    stored: int
    py_blocks: int  # memory blocks Python has allocated: grows with any leaked object
    db_mb: float  # the SQLite file and its WAL; SQLite's page cache grows with it


@dataclass
class Result:
    rounds: int
    seconds: float
    samples: list[Sample] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    errors_logged: int = 0
    flat: bool = False
    verdict: str = ""
    malloc_arenas: int = 0  # the cap set at start; 0: glibc's default


class _Flaky(Database):
    """The soak's store: refuses writes while `down` (a database outage)."""

    down = False

    def write(
        self,
        source: str,
        observations: Iterable[Observation],
        flags: int | None = None,
        *,
        sudden: Sudden | None = None,
    ) -> int:
        if self.down:
            raise StoreError("database error: soak outage")
        return super().write(source, observations, flags, sudden=sudden)


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def descriptors() -> tuple[int, int]:
    """(open fds, how many are sockets) of this process."""
    fds = sockets = 0
    for name in os.listdir("/proc/self/fd"):
        fds += 1
        try:
            sockets += os.readlink(f"/proc/self/fd/{name}").startswith("socket:")
        except OSError:
            continue
    return fds, sockets


def established(ports: Sequence[int]) -> int:
    """TCP connections in ESTABLISHED state whose local end is one of the fakes' ports."""
    wanted = {f"{port:04X}" for port in ports}
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "01" and parts[1].rsplit(":", 1)[1] in wanted:
                count += 1
    return count


def run(
    rounds: int,
    every: int,
    workdir: Path,
    database_url: str | None = None,
    cache_kb: int | None = None,
) -> Result:
    """The soak itself; `workdir` holds the config, the database and the spool.

    `cache_kb` overrides SQLite's page cache per connection (the store asks for 64 MiB), to
    tell the cache filling up from a leak.
    """
    counter = _Count()
    tracker_log = logging.getLogger("tracker")
    tracker_log.addHandler(counter)
    level, propagate = tracker_log.level, tracker_log.propagate
    tracker_log.setLevel(logging.ERROR)  # a warning per fault would drown the figures
    tracker_log.propagate = False
    fakes: dict[str, FakePlatform] = {
        "bluesky": FakeBluesky().start(),
        "mastodon": FakeMastodon().start(),
        "wikipedia": FakeWikimedia().start(),
        "netflix": FakeNetflix().start(),
    }
    try:
        seeded = seed(fakes)
        config = config_module.load(seeded.write_config(workdir / "tracker.toml"))
        config.spool_dir = str(workdir / "spool")
        opened = Database.open(database_url or f"sqlite:///{workdir / 'soak.db'}")
        store = _Flaky(opened.engine)
        if cache_kb is not None:
            _limit_cache(store, cache_kb)
        store.upgrade()
        ports = [int(fake.url.rsplit(":", 1)[1]) for fake in fakes.values()]
        result = asyncio.run(_soak(config, store, fakes, ports, rounds, every, seeded.today))
        store.close()
    finally:
        for fake in fakes.values():
            fake.stop()
        tracker_log.removeHandler(counter)
        tracker_log.setLevel(level)
        tracker_log.propagate = propagate
    result.errors_logged = counter.count
    _judge(result)
    return result


async def _soak(
    config: config_module.Config,
    store: _Flaky,
    fakes: dict[str, FakePlatform],
    ports: list[int],
    rounds: int,
    every: int,
    today: Any,
) -> Result:
    async def no_sleep(_seconds: float) -> None:
        return None

    start = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
    moment = [start]
    result = Result(rounds, 0.0)
    began = time.monotonic()
    async with make_client(config.http, config.contact) as client:
        runner = Runner(
            config,
            store,
            client,
            clock=lambda: moment[0],
            policy=retry_policy(config.http, sleep=no_sleep),
        )
        for i in range(1, rounds + 1):
            moment[0] = start + timedelta(minutes=i)
            if i % FAULT_EVERY == 0:
                source, fault = FAULTS[(i // FAULT_EVERY) % len(FAULTS)]
                fakes[source].fail_next(fault)
            # Half-way between samples, so a sample never sees an outage's files still waiting.
            store.down = i % OUTAGE_EVERY == OUTAGE_EVERY // 2
            for report in await runner.run_round():
                result.outcomes[report.outcome] = result.outcomes.get(report.outcome, 0) + 1
            for fake in fakes.values():
                fake.requests.clear()  # the fakes' own log would grow without bound
            if i == 1 or i % every == 0 or i == rounds:
                result.samples.append(_sample(i, began, ports, runner, store))
    store.down = False
    result.seconds = round(time.monotonic() - began, 1)
    return result


def _limit_cache(store: Store, cache_kb: int) -> None:
    from sqlalchemy import event

    @event.listens_for(store.engine, "connect")
    def _cache(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA cache_size=-{int(cache_kb)}")
        cursor.close()


def _db_mb(store: Store) -> float:
    name = store.engine.url.database or ""
    if not store.is_sqlite or not name or name == ":memory:":
        return 0.0
    files = [Path(name), Path(name + "-wal")]
    return round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 2)


def _sample(i: int, began: float, ports: list[int], runner: Runner, store: Store) -> Sample:
    gc.collect()
    fds, sockets = descriptors()
    return Sample(
        round=i,
        seconds=round(time.monotonic() - began, 1),
        rss_mb=round(rss_mb(), 1),
        fds=fds,
        sockets=sockets,
        fake_connections=established(ports),
        threads=threading.active_count(),
        spool_files=len(runner.spool.files()),
        stored=store.count(),
        py_blocks=sys.getallocatedblocks(),
        db_mb=_db_mb(store),
    )


def _judge(result: Result) -> None:
    """Leaks show as growth from the first sample after warm-up to the last."""
    samples = result.samples
    if len(samples) < 3:
        result.verdict = "too few samples to judge"
        return
    warm, last = samples[1], samples[-1]
    per_k = 1000 / max(1, last.round - warm.round)
    grew = {
        "sockets": max(s.sockets for s in samples[1:]) - warm.sockets,
        "fake_connections": max(s.fake_connections for s in samples[1:]) - warm.fake_connections,
        "threads": max(s.threads for s in samples[1:]) - warm.threads,
        # Other descriptors are SQLite's: the file and its WAL per pooled connection.
        "other_fds": max(s.fds - s.sockets for s in samples[1:]) - (warm.fds - warm.sockets),
        "py_blocks_per_1000_rounds": round((last.py_blocks - warm.py_blocks) * per_k),
        # The allocator gives memory back in steps: a leak keeps climbing, a plateau does not.
        "rss_mb_second_half_over_first": round(
            max(s.rss_mb for s in samples[len(samples) // 2 :])
            - max(s.rss_mb for s in samples[1 : len(samples) // 2]),
            1,
        ),
    }
    held = (
        grew["sockets"] <= 0
        and grew["fake_connections"] <= 0
        and grew["threads"] <= 1
        and grew["other_fds"] <= 4
        and last.spool_files == 0
    )
    result.flat = (
        held
        and grew["rss_mb_second_half_over_first"] < RSS_SLACK_MB
        and grew["py_blocks_per_1000_rounds"] < 1000
    )
    result.verdict = (
        f"{'flat' if result.flat else 'NOT FLAT'}: descriptors, connections and threads "
        f"{'bounded' if held else 'GROWING'}; growth after warm-up {grew}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=500, help="sample every N rounds")
    parser.add_argument("--database", default=None, help="default: a SQLite file in a temp dir")
    parser.add_argument(
        "--cache-kb", type=int, default=None, help="SQLite page cache per connection"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--malloc-arenas",
        type=int,
        default=daemon.MALLOC_ARENAS,
        help="cap glibc's malloc arenas as the daemon does; 0 leaves glibc's default",
    )
    args = parser.parse_args()
    capped = args.malloc_arenas > 0 and daemon.limit_malloc_arenas(args.malloc_arenas)
    with tempfile.TemporaryDirectory(prefix="tracker-soak-") as workdir:
        result = run(args.rounds, args.every, Path(workdir), args.database, args.cache_kb)
    result.malloc_arenas = args.malloc_arenas if capped else 0
    first, middle, last = (
        result.samples[0],
        result.samples[len(result.samples) // 2],
        result.samples[-1],
    )
    print(f"{result.rounds} rounds in {result.seconds}s; outcomes {result.outcomes}; "
          f"errors logged {result.errors_logged}; "
          f"malloc arenas {result.malloc_arenas or 'glibc default'}")  # fmt: skip
    print(f"{'':8} {'round':>6} {'RSS MB':>7} {'fds':>4} {'sockets':>7} {'fake conns':>10} "
          f"{'threads':>7} {'spool':>5} {'stored':>7} {'py blocks':>9} {'db MB':>6}")  # fmt: skip
    for name, s in (("start", first), ("middle", middle), ("end", last)):
        print(
            f"{name:8} {s.round:>6} {s.rss_mb:>7} {s.fds:>4} {s.sockets:>7} "
            f"{s.fake_connections:>10} {s.threads:>7} {s.spool_files:>5} {s.stored:>7} "
            f"{s.py_blocks:>9} {s.db_mb:>6}"
        )
    print(result.verdict)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(asdict(result), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
