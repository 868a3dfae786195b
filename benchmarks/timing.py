"""Clocks, garbage-collector accounting and the result records the benchmarks return."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class GcStats:
    """Collections the cyclic garbage collector ran while a measurement was on, and their cost."""

    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    pause_s: float = 0.0
    max_pause_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "collections_by_generation": list(self.collections),
            "pause_ms": round(self.pause_s * 1e3, 3),
            "max_pause_ms": round(self.max_pause_s * 1e3, 3),
        }


@contextmanager
def watch_gc(stats: GcStats | None = None) -> Iterator[GcStats]:
    """Count the collections and time the pauses of the (enabled, production-like) collector,
    adding to `stats` when given."""
    stats = stats if stats is not None else GcStats()
    started = 0.0

    def callback(phase: str, info: dict[str, int]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
            return
        pause = time.perf_counter() - started
        stats.collections[info["generation"]] += 1
        stats.pause_s += pause
        stats.max_pause_s = max(stats.max_pause_s, pause)

    gc.callbacks.append(callback)
    try:
        yield stats
    finally:
        gc.callbacks.remove(callback)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Move what setup allocated out of the collector's sight (`gc.freeze`), as a long-running
    daemon's startup heap would be, so a full collection does not walk benchmark data."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of `fn` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank on the sorted samples."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass(slots=True)
class Measure:
    """One line of the final table. `higher_is_better` decides how the goal reads the ratio."""

    name: str
    unit: str
    store: float
    baseline: float
    goal: str
    passed: bool | None
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.store / self.baseline if self.baseline else float("nan")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = round(self.ratio, 4)
        out["store"] = round(self.store, 4)
        out["baseline"] = round(self.baseline, 4)
        return out


def throughput(
    name: str, rows: int, store_s: float, raw_s: float, notes: dict[str, Any]
) -> Measure:
    """Rows per second, store against raw driver; the goal is at least half the raw rate."""
    store, raw = rows / store_s, rows / raw_s
    return Measure(name, "rows/s", store, raw, ">= 0.5x", store / raw >= 0.5, notes)


def latency(name: str, store_s: float, raw_s: float, notes: dict[str, Any]) -> Measure:
    """Milliseconds per query, store against raw driver; the goal is at most twice the raw time."""
    return Measure(name, "ms", store_s * 1e3, raw_s * 1e3, "<= 2x", store_s / raw_s <= 2.0, notes)
