"""Daemon memory with 1,000 tracked targets, time compressed: one round per second.

    .venv/bin/python -m benchmarks.daemon [--targets 1000] [--seconds 60] [--out FILE]

Runs the real `tracker run` against a local Bluesky fake (1,000 accounts = 40 getProfiles
requests a round) on a SQLite file, samples the daemon's RSS from /proc, and compares it with
the goal (≤ 100 MB) and with the RSS of a bare interpreter that imports the same libraries,
measured in the same run. Growth between the first rounds and the last shows a leak.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.indexed import IndexedBluesky
from tracker.store import Database

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "daemon.json"
GOAL_MB = 100.0  # at 1,000 targets
GOAL_10K_MB = 120.0  # at 10,000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bare_rss() -> float:
    """RSS of an interpreter that imported the daemon's libraries (read once it says so: on a
    loaded machine the imports can take longer than any fixed wait)."""
    code = (
        "import sqlmodel, httpx, apscheduler.schedulers.asyncio, typer, tenacity, sys, time; "
        "print('ready', flush=True); time.sleep(5.0)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()
    value = rss_mb(proc.pid)
    proc.kill()
    proc.wait()
    return value


def measure(targets: int, seconds: float, workdir: Path) -> dict[str, float]:
    fake = IndexedBluesky()
    fake.start()
    try:
        accounts = "".join(
            f'[[accounts]]\nplatform = "bluesky"\nhandle = "user{i}.bsky.social"\n'
            f'subject = "User {i}"\n'
            for i in range(targets)
        )
        for i in range(targets):
            fake.add(f"user{i}.bsky.social", 1000 + i)
        fake.index()
        config = workdir / "tracker.toml"
        config.write_text(
            f'[sources.bluesky]\nbase_url = "{fake.url}"\ninterval = "1s"\njitter = "1s"\n'
            f"{accounts}",
            encoding="utf-8",
        )
        url = f"sqlite:///{workdir / 'daemon.db'}"
        env = {**os.environ, "TRACKER_CONFIG": str(config), "TRACKER_DATABASE_URL": url}
        proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "run"],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        samples: list[tuple[float, float]] = []
        start = time.monotonic()
        try:
            while time.monotonic() - start < seconds and proc.poll() is None:
                samples.append((time.monotonic() - start, rss_mb(proc.pid)))
                time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        store = Database.open(url)
        stored, rounds = store.count(), len(store.attempts("bluesky", limit=100000))
        store.close()
    finally:
        fake.stop()
    early = [mb for t, mb in samples if 5 <= t <= 10] or [samples[0][1]]
    late = [mb for t, mb in samples if t >= seconds - 5] or [samples[-1][1]]
    return {
        "targets": targets,
        "seconds": seconds,
        "rounds": rounds,
        "snapshots": stored,
        "requests": len(fake.requests),
        "exit_code": code,
        "rss_early_mb": round(max(early), 1),
        "rss_late_mb": round(max(late), 1),
        "rss_max_mb": round(max(mb for _, mb in samples), 1),
        "bare_imports_rss_mb": round(bare_rss(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = measure(args.targets, args.seconds, Path(tmp))
    goal = GOAL_MB if args.targets <= 1000 else GOAL_10K_MB
    r["goal_mb"] = goal
    verdict = "pass" if r["rss_max_mb"] <= goal else "MISS"
    print(
        f"{r['rounds']} rounds, {r['requests']} requests, {r['snapshots']} snapshots stored, "
        f"exit {r['exit_code']} after SIGTERM"
    )
    print(f"{'measure':<40}{'MB':>8}")
    print(f"{'daemon RSS, rounds 5-10 s':<40}{r['rss_early_mb']:>8.1f}")
    print(f"{'daemon RSS, last 5 s':<40}{r['rss_late_mb']:>8.1f}")
    print(f"{'daemon RSS, max':<40}{r['rss_max_mb']:>8.1f}  goal ≤ {goal:.0f} MB: {verdict}")
    print(f"{'bare interpreter, same imports':<40}{r['bare_imports_rss_mb']:>8.1f}")
    print(f"ratio max / bare: {r['rss_max_mb'] / r['bare_imports_rss_mb']:.2f}×")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(r, indent=1) + "\n")


if __name__ == "__main__":
    main()
