"""One series' history: random queries, timed one by one, store and raw driver interleaved."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks.data import STEP, T0, Shape
from benchmarks.timing import GcStats, Measure, frozen_heap, latency, percentile, watch_gc

Fetch = Callable[["Query"], Sequence[tuple[int, int]]]
WARMUP = 10


@dataclass(frozen=True, slots=True)
class Query:
    series_id: int
    since: int
    until: int
    points: int


def plan_queries(shape: Shape, window: int, count: int, seed: int | None = None) -> list[Query]:
    """`count` queries of `window` consecutive points of random series (a fixed seed)."""
    if window > shape.times:
        raise ValueError(f"a {window}-point window does not fit {shape.times} timestamps")
    rng = random.Random((seed if seed is not None else shape.seed) + window)
    plan = []
    for _ in range(count + WARMUP):
        start = rng.randrange(shape.times - window + 1)
        since = T0 + start * STEP
        plan.append(Query(rng.randint(1, shape.series), since, since + window * STEP, window))
    return plan


def run_queries(name: str, plan: list[Query], store: Fetch, raw: Fetch) -> list[Measure]:
    """p50 and p99 of store against raw; the first queries warm up and check both agree.

    Every query first runs once untimed, so both sides find its pages in the database's cache:
    whichever ran first would otherwise pay the reads (PostgreSQL's shared buffers are smaller
    than the table), and p50 would fall between a cold and a warm mode."""
    for q in plan[:WARMUP]:
        got, want = list(store(q)), list(raw(q))
        if got != want or len(want) != q.points:
            raise AssertionError(f"{name}: store and raw disagree on {q}")
    samples: dict[str, list[float]] = {"store": [], "raw": []}
    gcs = {"store": GcStats(), "raw": GcStats()}
    sides = [("store", store), ("raw", raw)]
    with frozen_heap():
        for i, q in enumerate(plan[WARMUP:]):
            raw(q)
            for side, fetch in sides if i % 2 == 0 else reversed(sides):
                with watch_gc(gcs[side]):
                    start = time.perf_counter()
                    rows = fetch(q)
                    samples[side].append(time.perf_counter() - start)
                if len(rows) != q.points:
                    raise AssertionError(f"{name}: {side} returned {len(rows)} of {q.points} rows")
    notes = {
        "queries": len(samples["store"]),
        "mean_ms": {k: round(statistics.fmean(v) * 1e3, 4) for k, v in samples.items()},
        "max_ms": {k: round(max(v) * 1e3, 4) for k, v in samples.items()},
        "gc": {k: v.as_dict() for k, v in gcs.items()},
    }
    return [
        latency(
            f"{name} p{q}", percentile(samples["store"], q), percentile(samples["raw"], q), notes
        )
        for q in (50, 99)
    ]
