"""Benchmark the store against the raw drivers, every baseline measured in the same run.

    .venv/bin/python -m benchmarks.store [--quick] [--skip-postgres]

1. Bulk insert in collection order through `Database.write_rows` (one call per round, and one call
   with all rows) against raw sqlite3 executemany / psycopg COPY into an identical table.
2. One series' history out of a large table: `Store.history` against the same SQL through the
   raw driver, p50 and p99 over random series.
3. Bytes per snapshot on SQLite.

Prints a table of ratios and writes benchmarks/results/store.json. Speeds are never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import sqlite_bench
from benchmarks.data import Shape
from benchmarks.timing import Measure

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "store.json"
WORKDIR = HERE / ".work"


@dataclass(frozen=True, slots=True)
class Plan:
    insert: Shape
    history: Shape
    windows: tuple[int, ...]
    queries: int
    repeat: int


FULL = Plan(Shape(1_000, 1_000), Shape(1_000, 10_000), (1_000, 10_000), 200, 3)
QUICK = Plan(Shape(1_000, 100), Shape(100, 10_000), (1_000, 10_000), 200, 1)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_sqlite(plan: Plan, workdir: Path, phases: dict[str, float]) -> list[Measure]:
    start = time.perf_counter()
    log(f"sqlite: bulk insert of {plan.insert.rows:,} rows x{plan.repeat}")
    measures, store_db, raw_db = sqlite_bench.bulk_insert(workdir, plan.insert, plan.repeat)
    measures += sqlite_bench.storage(store_db, raw_db)
    phases["sqlite_insert_and_bytes"] = time.perf_counter() - start
    start = time.perf_counter()
    log(f"sqlite: history table of {plan.history.rows:,} rows (cached under {workdir})")
    db = sqlite_bench.history_db(workdir, plan.history)
    phases["sqlite_history_build"] = time.perf_counter() - start
    start = time.perf_counter()
    log(f"sqlite: {plan.queries} history queries per window {plan.windows}")
    measures += sqlite_bench.history(db, plan.history, plan.windows, plan.queries)
    phases["sqlite_history"] = time.perf_counter() - start
    return measures


def run_postgres(plan: Plan, url: str, phases: dict[str, float]) -> list[Measure]:
    from benchmarks import pg_bench

    start = time.perf_counter()
    pg_bench.prepare(url)
    log(f"postgres: bulk insert of {plan.insert.rows:,} rows x{plan.repeat}")
    measures = pg_bench.bulk_insert(url, plan.insert, plan.repeat)
    phases["postgres_insert"] = time.perf_counter() - start
    start = time.perf_counter()
    log(f"postgres: history table of {plan.history.rows:,} rows (cached in its own schema)")
    pg_bench.history_table(url, plan.history)
    phases["postgres_history_build"] = time.perf_counter() - start
    start = time.perf_counter()
    log(f"postgres: {plan.queries} history queries per window {plan.windows}")
    measures += pg_bench.history(url, plan.history, plan.windows, plan.queries)
    phases["postgres_history"] = time.perf_counter() - start
    return measures


def _number(value: float, unit: str) -> str:
    if unit == "rows/s":
        return f"{value:,.0f}/s"
    if unit == "ms":
        return f"{value:.3f} ms"
    return f"{value:.2f} {unit}"


def table(measures: list[Measure]) -> str:
    head = ("measure", "store", "baseline", "ratio", "goal", "pass/fail")
    lines = [head]
    for m in measures:
        verdict = "-" if m.passed is None else ("pass" if m.passed else "FAIL")
        lines.append(
            (m.name, _number(m.store, m.unit), _number(m.baseline, m.unit), f"{m.ratio:.2f}x",
             m.goal, verdict)
        )  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [
        " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
    ]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)


def gc_summary(measures: list[Measure]) -> str:
    lines = ["gc during history queries (gc enabled, setup heap frozen), store vs raw:"]
    for m in measures:
        gc_notes = m.notes.get("gc")
        if gc_notes and m.name.endswith("p50"):
            s, r = gc_notes["store"], gc_notes["raw"]
            lines.append(
                f"  {m.name[:-4]}: collections {s['collections_by_generation']} vs "
                f"{r['collections_by_generation']}, pauses {s['pause_ms']} vs {r['pause_ms']} ms "
                f"(max {s['max_pause_ms']} vs {r['max_pause_ms']} ms)"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.store", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--postgres", default=None, help="benchmark database URL (created)")
    parser.add_argument("--workdir", type=Path, default=WORKDIR, help="cache of built tables")
    parser.add_argument("--json", type=Path, default=None, help="where to write the results")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    args.workdir.mkdir(parents=True, exist_ok=True)
    out = args.json or (args.workdir / "store-quick.json" if args.quick else RESULTS)
    started, clock = datetime.now(UTC), time.perf_counter()
    phases: dict[str, float] = {}
    measures = run_sqlite(plan, args.workdir, phases)
    machine: dict[str, Any] = {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    if not args.skip_postgres:
        from benchmarks import pg_bench

        url = args.postgres or os.environ.get("TRACKER_BENCH_POSTGRES", pg_bench.DEFAULT_URL)
        measures += run_postgres(plan, url, phases)
        machine["postgres"] = pg_bench.server_version(url)
    duration = time.perf_counter() - clock
    print(table(measures))
    print()
    print(gc_summary(measures))
    print(f"\nrun time {duration:.1f} s; " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))
    report = {
        "command": "python -m benchmarks.store" + " ".join([""] + (argv or sys.argv[1:])),
        "quick": args.quick,
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(duration, 1),
        "phases_s": {k: round(v, 1) for k, v in phases.items()},
        "machine": machine,
        "plan": {
            "insert": {"series": plan.insert.series, "times": plan.insert.times},
            "history": {"series": plan.history.series, "times": plan.history.times},
            "windows": plan.windows,
            "queries": plan.queries,
            "repeat": plan.repeat,
            "seed": plan.insert.seed,
        },
        "measures": [m.as_dict() for m in measures],
        "all_passed": all(m.passed is not False for m in measures),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    log(f"results written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
