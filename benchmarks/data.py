"""Reproducible snapshot rows, the same data in collection order or in key order.

Every series draws from its own seeded generator, so the rows are identical whichever order
they are produced in: time outer / series inner as the daemon writes them, or one series after
another as the primary key sorts them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from tracker.store import Row

SEED = 20261125
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
STEP = 900  # the daemon collects every 15 minutes


@dataclass(frozen=True, slots=True)
class Shape:
    """`series` series observed at `times` timestamps."""

    series: int
    times: int
    seed: int = SEED

    @property
    def rows(self) -> int:
        return self.series * self.times

    def key(self) -> str:
        return f"s{self.series}-t{self.times}-seed{self.seed}"


class _Walk:
    """One series: a follower count that mostly grows; every tenth series is rounded (sig 3)."""

    __slots__ = ("rng", "value", "grow", "sig")

    def __init__(self, seed: int, series_id: int) -> None:
        self.rng = random.Random(seed * 1_000_003 + series_id)
        self.value = int(10 ** self.rng.uniform(2.0, 8.0))
        self.grow = max(2, self.value // 5_000)
        self.sig = 3 if series_id % 10 == 0 else None

    def step(self) -> int:
        self.value += self.rng.randrange(self.grow) - self.grow // 8
        return self.value


def collection_order(shape: Shape) -> Iterator[list[Row]]:
    """One list of rows per collection round: every series at one time."""
    walks = [_Walk(shape.seed, sid) for sid in range(1, shape.series + 1)]
    for t in range(shape.times):
        ts = T0 + t * STEP
        yield [(sid, ts, w.step(), None, w.sig, None) for sid, w in enumerate(walks, start=1)]


def key_order(shape: Shape) -> Iterator[list[Row]]:
    """One list of rows per series, oldest first: the primary key's order."""
    for sid in range(1, shape.series + 1):
        w = _Walk(shape.seed, sid)
        yield [(sid, T0 + t * STEP, w.step(), None, w.sig, None) for t in range(shape.times)]
