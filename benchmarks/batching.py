"""Requests per snapshot, round wall time and CPU per snapshot for 1,000 tracked accounts.

    .venv/bin/python -m benchmarks.batching [--accounts 1000] [--delay 0.05] [--repeat 3]

1. Requests per snapshot on each batching platform (Bluesky 25, YouTube 50, X 100 per request)
   against the same collector made to ask one account per request (what per-account tools do),
   measured in the same run. Goal: the platform's batch limit, so >= 25x fewer requests.
2. Wall time of a 1,000-target round when every answer takes `delay` (50 ms), against the ideal
   ceil(requests / concurrency) x delay (goal <= 1.2x), for several concurrency limits: how the
   per-platform defaults were chosen. The fakes run in a child process, as a real platform
   would be elsewhere: in-process, their threads would compete with the client for the GIL.
   A fake answers `delay` after the request arrived, its own work (finding the accounts,
   the JSON) inside that delay, as a platform's latency holds its own work; it used to make
   the answer after the delay, which the ideal counted as tracker's (0.1-0.3 ms an answer).
   The time the round spent after its last answer came (parsing it, writing what was not
   written yet, recording the attempt) is shown beside it.
3. CPU per stored snapshot of each platform's round at its default concurrency, answers
   without delay: the CPU time of this process (every thread) over the snapshots the round
   handed to the store. It is what a round costs the machine, whatever the network.
Rounds 2 and 3 run `--repeat` times and report the median (the machine is shared). Like the
daemon, the benchmark caps glibc's malloc arenas first (`--malloc-arenas 0`: glibc's default).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.indexed import IndexedBluesky, IndexedX
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import FakePlatform
from tests.fakes.x import TOKEN as X_TOKEN
from tests.fakes.x import FakeX
from tests.fakes.youtube import KEY as YOUTUBE_KEY
from tests.fakes.youtube import FakeYouTube
from tracker import config as config_module
from tracker import daemon
from tracker.http import make_client, retry_policy
from tracker.round import Runner
from tracker.store import Database

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "batching.json"


async def _no_sleep(_: float) -> None:
    return None


def _populate(name: str, fake: Any, n: int) -> list[str]:
    """Accounts as [[accounts]] TOML entries; the fake learns each one."""
    entries = []
    for i in range(n):
        if name == "bluesky":
            fake.add(f"user{i}.bsky.social", 1000 + i)
            entries.append(f'handle = "user{i}.bsky.social"')
        elif name == "youtube":
            channel = fake.add(f"user{i}", 1000 + i)
            entries.append(f'handle = "@user{i}"\nid = "{channel}"')
        elif name == "x":
            fake.add(f"user{i}", 1000 + i)
            entries.append(f'handle = "user{i}"')
        else:
            fake.add_account(f"user{i}@example.social", 1000 + i)
            entries.append(f'handle = "user{i}@example.social"')
    return [
        f'[[accounts]]\nplatform = "{name}"\n{entry}\nsubject = "User {i}"\n'
        for i, entry in enumerate(entries)
    ]


EXTRA = {
    "youtube": "daily_quota = 1000000\n",
    "x": "users_per_15min = 1000000\n",
    "bluesky": "",
    "mastodon": "",
}


def _serve(name: str, n: int, conn: Connection) -> None:
    """Child process: run the fake, so its threads do not share the GIL with the client."""
    fake = FAKES[name]()
    entries = _populate(name, fake, n)
    if isinstance(fake, FakeX):
        fake.limits = {"users": 10**6, "counts": 10**6}  # measure batching, not X's limit
    if isinstance(fake, IndexedBluesky | IndexedX):
        fake.index()
    fake.start()
    conn.send((fake.url, entries))
    while True:
        command, value = conn.recv()
        if command == "delay":
            fake.delay = value
            conn.send(len(fake.requests))
        elif command == "count":
            conn.send(len(fake.requests))
        else:
            fake.stop()
            conn.send(None)
            return


def round_once(name: str, n: int, settings: str, delay: float) -> dict[str, float]:
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(target=_serve, args=(name, n, child))
    server.start()
    try:
        url, accounts = parent.recv()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "tracker.toml"
            path.write_text(
                f'[sources.{name}]\nbase_url = "{url}"\n{EXTRA[name]}{settings}'
                f"[http]\ntimeout = 30\n" + "".join(accounts),
                encoding="utf-8",
            )
            cfg = config_module.load(path, database_url=f"sqlite:///{tmp}/b.db")
            store = Database.open(cfg.database_url)
            store.upgrade()

            async def go() -> tuple[int, int, float, float, float]:
                answered: list[float] = []

                async def answer(_: Any) -> None:  # an answer's status line and headers came
                    answered.append(time.perf_counter())

                async with make_client(cfg.http, max_connections=64) as client:
                    client.event_hooks["response"] = [answer]
                    policy = retry_policy(cfg.http, sleep=_no_sleep)
                    runner = Runner(cfg, store, client, policy=policy)
                    # The first round also creates the series; time the steady state after it.
                    await runner.run_source(name)
                    parent.send(("delay", delay))
                    before = parent.recv()
                    answered.clear()
                    cpu = time.process_time()
                    start = time.perf_counter()
                    report = await runner.run_source(name)
                    end = time.perf_counter()
                    cpu = time.process_time() - cpu
                    parent.send(("count", None))
                    # What the round spent after its last answer: parse, write, the ledger.
                    tail = end - max(answered, default=end)
                    return report.collected, parent.recv() - before, end - start, cpu, tail

            collected, requests, seconds, cpu, tail = asyncio.run(go())
            store.close()
    finally:
        parent.send(("stop", None))
        parent.recv()
        server.join(timeout=10)
    return {
        "requests": requests,
        "snapshots": collected,
        "seconds": seconds,
        "cpu_s": cpu,
        "tail_s": tail,
    }


def median_round(name: str, n: int, settings: str, delay: float, repeat: int) -> dict[str, Any]:
    """`round_once` `repeat` times: the median wall and CPU seconds, and every run's."""
    runs = [round_once(name, n, settings, delay) for _ in range(max(1, repeat))]
    return {
        "requests": runs[0]["requests"],
        "snapshots": runs[0]["snapshots"],
        "seconds": statistics.median(r["seconds"] for r in runs),
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "tail_s": statistics.median(r["tail_s"] for r in runs),
        "runs_seconds": [round(r["seconds"], 4) for r in runs],
        "runs_cpu_s": [round(r["cpu_s"], 4) for r in runs],
    }


FAKES: dict[str, Callable[[], FakePlatform]] = {
    "bluesky": IndexedBluesky,
    "youtube": FakeYouTube,
    "x": IndexedX,
    "mastodon": FakeMastodon,
}


# Concurrency levels of the wall-time section; each platform's default is among them.
LEVELS: dict[str, tuple[int, ...]] = {
    "bluesky": (1, 4),
    "youtube": (1, 4),
    "x": (1, 4),
    "mastodon": (4, 8, 16, 32),
}


def batching(n: int, results: dict[str, Any]) -> None:
    """Section 1: requests per account, batched against one account per request."""
    print(f"1. requests per snapshot, {n} accounts (no delay)")
    print("(requests per account; YouTube answers 3 values per channel, so per snapshot is 1/3)")
    print(f"{'platform':<10}{'batched':>10}{'per-account':>13}{'fewer':>9}  goal")
    for name, limit in (("bluesky", 25), ("youtube", 50), ("x", 100)):
        batched = round_once(name, n, "", 0.0)
        single = round_once(name, n, "batch_size = 1\n", 0.0)
        per_b = batched["requests"] / n
        per_s = single["requests"] / n
        fewer = per_s / per_b
        results["batching"][name] = {"batched": batched, "per_account": single, "fewer": fewer}
        verdict = "pass" if fewer >= 25 and per_b <= 1 / limit + 1e-9 else "MISS"
        print(f"{name:<10}{per_b:>10.4f}{per_s:>13.4f}{fewer:>8.0f}x  1/{limit}, >=25x {verdict}")


def wall(n: int, delay: float, repeat: int, results: dict[str, Any], platforms: set[str]) -> None:
    """Section 2: round wall time against the ideal, every concurrency level."""
    print(f"2. round wall time, {n} targets, answers after {delay * 1000:.0f} ms, "
          f"median of {repeat}")  # fmt: skip
    print(
        f"{'platform':<10}{'conc.':>6}{'requests':>10}{'wall s':>9}{'ideal s':>9}"
        f"{'after last answer ms':>22}{'ratio':>7}"
    )
    for name, levels in LEVELS.items():
        if name not in platforms:
            continue
        for concurrency in levels:
            run = median_round(name, n, f"concurrency = {concurrency}\n", delay, repeat)
            ideal = math.ceil(run["requests"] / concurrency) * delay
            ratio = run["seconds"] / ideal
            results["wall"].append(
                {
                    "platform": name,
                    "concurrency": concurrency,
                    **run,
                    "ideal_s": ideal,
                    "ratio": ratio,
                }
            )
            print(
                f"{name:<10}{concurrency:>6}{run['requests']:>10}{run['seconds']:>9.3f}"
                f"{ideal:>9.2f}{run['tail_s'] * 1e3:>22.1f}{ratio:>6.2f}x "
                f"{'pass' if ratio <= 1.2 else 'MISS'}"
            )


def cpu(n: int, repeat: int, results: dict[str, Any], platforms: set[str]) -> None:
    """Section 3: CPU per snapshot of a round at the default concurrency, no delay."""
    print(f"3. CPU per stored snapshot, {n} targets, default concurrency, no delay, "
          f"median of {repeat}")  # fmt: skip
    print(f"{'platform':<10}{'requests':>9}{'snapshots':>10}{'wall ms':>9}{'CPU ms':>8}"
          f"{'CPU us/snapshot':>17}{'CPU ms/request':>16}")  # fmt: skip
    for name in (p for p in LEVELS if p in platforms):
        run = median_round(name, n, "", 0.0, repeat)
        cpu_s = run["cpu_s"]
        per_snapshot = cpu_s / max(1, run["snapshots"]) * 1e6
        per_request = cpu_s / max(1, run["requests"]) * 1e3
        results["cpu"].append(
            {
                "platform": name,
                **run,
                "cpu_us_per_snapshot": per_snapshot,
                "cpu_ms_per_request": per_request,
            }
        )
        print(
            f"{name:<10}{run['requests']:>9}{run['snapshots']:>10}{run['seconds'] * 1e3:>9.1f}"
            f"{cpu_s * 1e3:>8.1f}{per_snapshot:>17.1f}{per_request:>16.3f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3, help="runs per round; medians shown")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--only", choices=("batching", "wall", "cpu"), action="append", help="sections to run"
    )
    parser.add_argument(
        "--platform", choices=tuple(LEVELS), action="append", help="platforms of sections 2-3"
    )
    parser.add_argument(
        "--malloc-arenas",
        type=int,
        default=daemon.MALLOC_ARENAS,
        help="cap glibc's malloc arenas as the daemon does; 0 leaves glibc's default",
    )
    args = parser.parse_args(argv)
    only = set(args.only or ("batching", "wall", "cpu"))
    capped = args.malloc_arenas > 0 and daemon.limit_malloc_arenas(args.malloc_arenas)
    os.environ.setdefault("YOUTUBE_API_KEY", YOUTUBE_KEY)
    os.environ.setdefault("X_BEARER_TOKEN", X_TOKEN)
    n, delay, repeat = args.accounts, args.delay, args.repeat
    platforms = set(args.platform or LEVELS)
    results: dict[str, Any] = {
        "accounts": n,
        "delay_s": delay,
        "repeat": repeat,
        "malloc_arenas": args.malloc_arenas if capped else 0,
        "load_average": os.getloadavg(),
        "batching": {},
        "wall": [],
        "cpu": [],
    }

    if "batching" in only:
        batching(n, results)
    if "wall" in only:
        wall(n, delay, repeat, results, platforms)
    if "cpu" in only:
        cpu(n, repeat, results, platforms)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
