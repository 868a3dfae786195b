"""Cold start of `tracker history` against `python -c "import sqlmodel"`, measured in one run.

    .venv/bin/python -m benchmarks.cli [--runs 15]

The query path must import nothing heavy it does not use (no HTTP client, no scheduler, no
migrations). Wall time is noisy on a shared machine, so CPU time (user + sys of the child) is
reported beside it; the goal (≤ 1.3×) is judged on the median of each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tracker.collectors.base import Observation
from tracker.store import Database

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "cli.json"
GOAL = 1.3


def _one(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(runs: int, workdir: Path) -> dict[str, float]:
    url = f"sqlite:///{workdir / 'cli.db'}"
    store = Database.open(url)
    store.upgrade()
    t0 = datetime(2022, 4, 1, tzinfo=UTC)
    store.write(
        "bluesky",
        [
            Observation("followers", "did:plc:kit", 100_000 + i, t0 + timedelta(hours=i), "Kit")
            for i in range(1000)
        ],
    )
    store.close()
    env = {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_CONFIG": str(workdir / "none.toml")}
    baseline = [sys.executable, "-c", "import sqlmodel"]
    query = [sys.executable, "-m", "tracker", "history", "Kit", "--since", "2022-04-10"]
    _one(baseline, env), _one(query, env)  # warm the page cache and .pyc files
    base_runs, query_runs = [], []
    for _ in range(runs):  # interleaved, so load on the machine hits both alike
        base_runs.append(_one(baseline, env))
        query_runs.append(_one(query, env))
    result = {}
    for label, index in (("wall", 0), ("cpu", 1)):
        base = statistics.median(r[index] for r in base_runs)
        mine = statistics.median(r[index] for r in query_runs)
        result[f"{label}_import_sqlmodel_s"] = round(base, 4)
        result[f"{label}_tracker_history_s"] = round(mine, 4)
        result[f"{label}_ratio"] = round(mine / base, 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(args.runs, Path(tmp))
    print(f"{'measure':<34}{'tracker history':>16}{'import sqlmodel':>17}{'ratio':>8}  goal")
    for label in ("wall", "cpu"):
        ratio = result[f"{label}_ratio"]
        print(
            f"{'cold start, median ' + label + ' time':<34}"
            f"{result[f'{label}_tracker_history_s']:>15.3f}s"
            f"{result[f'{label}_import_sqlmodel_s']:>16.3f}s"
            f"{ratio:>7.2f}×  ≤ {GOAL}× {'pass' if ratio <= GOAL else 'MISS'}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"runs": args.runs, **result}, indent=1) + "\n")


if __name__ == "__main__":
    main()
