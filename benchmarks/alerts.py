"""What evaluating the alert rules after a round costs, against the round's own write.

    .venv/bin/python -m benchmarks.alerts [--series N] [--rounds R]

A store of N series (one value per round each) and three rules that watch all of them
(threshold, growth in a window, and a chart event on N rank series). Each round writes N new
values through `Store.write` (the baseline) and then runs `evaluate` (the cost measured); the
ratio evaluate / write is printed per round, median of R rounds, on SQLite (and PostgreSQL when
TRACKER_TEST_DATABASE_URL is set). Nothing is asserted; no alert is delivered.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tracker import config as config_module
from tracker.alerts.evaluate import evaluate
from tracker.core import Observation
from tracker.store import Database

RULES = """
[[alerts]]
name = "line"
kind = "threshold"
metric = "followers"
above = 1_000_000

[[alerts]]
name = "surge"
kind = "growth"
metric = "followers"
percent = 50
window = "3h"

[[alerts]]
name = "entries"
kind = "chart"
metric = "chart_rank"
event = "enters"
"""


def run(url: str, series: int, rounds: int, folder: Path) -> tuple[float, float]:
    """Median seconds of (write, evaluate) per round."""
    path = folder / "tracker.toml"
    path.write_text(RULES, encoding="utf-8")
    config = config_module.load(path)
    store = Database.open(url)
    store.upgrade()
    start = datetime(2026, 1, 5, tzinfo=UTC)
    writes, evaluations = [], []
    for n in range(rounds):
        at = start + timedelta(hours=n)
        round_values = [
            Observation("followers", f"a{i}", 1000 + 10 * n + i, at, f"S{i}") for i in range(series)
        ] + [
            Observation("chart_rank", f"c{i}", 1 + (i + n) % 10, at, f"S{i}", period=timedelta(1))
            for i in range(series)
        ]
        began = time.perf_counter()
        store.write("bench", round_values)
        wrote = time.perf_counter()
        evaluate(config, store, lambda at=at: at + timedelta(minutes=1))
        writes.append(wrote - began)
        evaluations.append(time.perf_counter() - wrote)
    store.close()
    return statistics.median(writes), statistics.median(evaluations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}")]
        pg = os.environ.get("TRACKER_TEST_DATABASE_URL")
        if pg:
            schema = f"b_{uuid.uuid4().hex[:10]}"
            import psycopg

            with psycopg.connect(pg, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            targets.append(("postgresql", f"{pg}?options=-csearch_path%3D{schema}"))
        try:
            for name, url in targets:
                write, check = run(url, args.series, args.rounds, Path(tmp))
                print(
                    f"{name}: {2 * args.series} series, 3 rules: write {write * 1e3:.0f} ms, "
                    f"evaluate {check * 1e3:.0f} ms per round (x{check / write:.1f} the write)"
                )
        finally:
            if pg:
                with psycopg.connect(pg, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
