"""The distributed mode: targets per second at 1, 2 and 3 workers, and the cost per snapshot
against the embedded daemon, measured in the same run.

    TRACKER_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m benchmarks.workers [--targets 200] [--workers 1,2,3] [--out FILE]

A Mastodon fake answers every account look-up (one request per target) after 50 ms. Each
configuration gets a fresh PostgreSQL schema, a fresh fake and a queue of its own on
RabbitMQ (TRACKER_TEST_BROKER_URL, default amqp://guest:guest@127.0.0.1:5672/%2F).

  workers    N `tracker worker --threads 1` processes, then one `tracker dispatch --batch 1`
             (the defaults of --threads and --batch): one slot, one message per target, one
             target at a time per worker, so the work is I/O-bound and the ratio to 1 worker
             should approach N. Timed from the first
             message sent to the last one done (polling the dispatch table every 20 ms).
  daemon     `tracker run --once` on the same targets (its own concurrency, 8 for Mastodon):
             the baseline of the cost per snapshot.

Cost per snapshot is CPU time (user + sys) divided by the snapshots stored: the workers' while
collecting plus the dispatcher's whole life, against the daemon's whole `run --once` (one
process start-up on each side).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.conftest import _pg_schema_url
from tests.fakes.mastodon import FakeMastodon
from tracker.store import Database

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "workers.json"
DELAY = 0.05  # seconds the fake takes to answer
BROKER = os.environ.get("TRACKER_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@contextmanager
def setup(targets: int, workdir: Path) -> Iterator[tuple[FakeMastodon, dict[str, str], str]]:
    """A started fake with `targets` accounts, the environment of tracker processes, the URL."""
    base = os.environ.get("TRACKER_TEST_DATABASE_URL")
    if not base:
        raise SystemExit("set TRACKER_TEST_DATABASE_URL to a PostgreSQL database")
    fake = FakeMastodon()
    fake.delay = DELAY
    for i in range(targets):
        fake.add_account(f"user{i}@mastodon.social", 1000 + i)
    fake.start()
    accounts = "".join(
        f'[[accounts]]\nplatform = "mastodon"\nhandle = "user{i}@mastodon.social"\n'
        f'subject = "User {i}"\n'
        for i in range(targets)
    )
    config = workdir / f"tracker-{uuid.uuid4().hex[:6]}.toml"
    config.write_text(
        f'[sources.mastodon]\nbase_url = "{fake.url}"\ninterval = "1h"\njitter = 0\n{accounts}',
        encoding="utf-8",
    )
    urls = _pg_schema_url(base)
    url = next(urls)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env |= {
        "TRACKER_CONFIG": str(config),
        "TRACKER_DATABASE_URL": url,
        "TRACKER_BROKER_URL": BROKER,
        "TRACKER_QUEUE": f"bench_{uuid.uuid4().hex[:8]}",
    }
    try:
        yield fake, env, url
    finally:
        fake.stop()
        _delete_queue(env["TRACKER_QUEUE"])
        for _ in urls:  # drops the schema
            pass


def _delete_queue(name: str) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(BROKER))
    try:
        channel = conn.channel()
        for suffix in ("", ".DQ", ".XQ"):
            channel.queue_delete(name + suffix)
    finally:
        conn.close()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + sys) a live process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tracker(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tracker", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def scalar(store: Database, sql: str) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def wait_until(what: str, check: Any, deadline: float = 300.0, every: float = 0.02) -> float:
    end = time.monotonic() + deadline
    while not check():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(every)
    return time.monotonic()


def distributed(
    workers: int, targets: int, workdir: Path, threads: int = 1, batch: int = 1
) -> dict[str, Any]:
    with setup(targets, workdir) as (fake, env, url):
        store = Database.open(url)
        store.upgrade()
        procs = [tracker(env, "worker", "--threads", str(threads)) for _ in range(workers)]
        wait_until("the workers", lambda: scalar(store, "SELECT count(*) FROM worker") >= workers)
        ready = sum(process_cpu(proc.pid) for proc in procs)  # their start-up left out
        procs.append(tracker(env, "dispatch", "--batch", str(batch)))
        first = wait_until(
            "the first message", lambda: scalar(store, "SELECT count(*) FROM dispatch")
        )
        messages = -(-targets // batch)
        last = wait_until(
            "every message done",
            lambda: (
                scalar(store, "SELECT count(*) FROM dispatch WHERE done IS NOT NULL") >= messages
            ),
        )
        # The workers' CPU while collecting, plus the dispatcher's whole life (one start-up,
        # as the daemon's run --once has one).
        cpu = sum(process_cpu(proc.pid) for proc in procs) - ready
        for proc in procs:
            proc.terminate()
        codes = [proc.wait(timeout=120) for proc in procs]
        snapshots = store.count()
        store.close()
    seconds = last - first
    return {
        "workers": workers,
        "threads": threads,
        "batch": batch,
        "targets": targets,
        "seconds": round(seconds, 3),
        "targets_per_s": round(targets / seconds, 1),
        "snapshots": snapshots,
        "requests": len(fake.requests),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_snapshot": round(1000 * cpu / max(snapshots, 1), 2),
        "exit_codes": codes,
    }


def daemon(targets: int, workdir: Path) -> dict[str, Any]:
    with setup(targets, workdir) as (fake, env, url):
        cpu = children_cpu()
        start = time.monotonic()
        code = subprocess.run(
            [sys.executable, "-m", "tracker", "run", "--once"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ).returncode
        seconds = time.monotonic() - start
        cpu = children_cpu() - cpu
        store = Database.open(url)
        snapshots = store.count()
        store.close()
    return {
        "targets": targets,
        "seconds_with_startup": round(seconds, 3),
        "snapshots": snapshots,
        "requests": len(fake.requests),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_snapshot": round(1000 * cpu / max(snapshots, 1), 2),
        "exit_code": code,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--workers", default="1,2,3", help="worker counts, comma-separated")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--batch", type=int, default=1, help="targets per message")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        runs = [distributed(n, args.targets, Path(tmp), args.threads, args.batch) for n in counts]
        base = daemon(args.targets, Path(tmp))
    one = runs[0]["targets_per_s"]
    print(
        f"{args.targets} Mastodon targets, fake answers in {DELAY * 1000:.0f} ms; workers of "
        f"{args.threads} thread(s), {args.batch} target(s) per message"
    )
    print(f"{'configuration':<34}{'targets/s':>10}{'× 1 worker':>12}{'CPU ms/snapshot':>17}")
    for run in runs:
        print(
            f"{run['workers']} worker(s){'':<24}{run['targets_per_s']:>10.1f}"
            f"{run['targets_per_s'] / one:>12.2f}{run['cpu_ms_per_snapshot']:>17.2f}"
        )
    daemon_rate = base["snapshots"] / base["seconds_with_startup"]
    print(
        f"{'embedded daemon, run --once':<34}{daemon_rate:>10.1f}{'':>12}"
        f"{base['cpu_ms_per_snapshot']:>17.2f}"
    )
    for run in runs:
        ratio = run["cpu_ms_per_snapshot"] / base["cpu_ms_per_snapshot"]
        print(f"cost per snapshot, {run['workers']} worker(s) / daemon: {ratio:.2f}×")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"distributed": runs, "daemon": base}, indent=1) + "\n")


if __name__ == "__main__":
    main()
