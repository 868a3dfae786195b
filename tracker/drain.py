"""A round's writer: values go to the store in batches while the round's requests are in flight.

A round of a few waves of answers used to parse everything, then write everything: the write
of 1,000-3,000 values came after the last answer, all of it on the round's wall time. The drain
writes whatever has arrived once `BATCH` values wait (one write in flight at a time, in a
thread). Once every request of the round is sent (`poke(last=True)`), only answers are left to
come, and it writes as each comes (once `EAGER` values wait): after the last answer, only that
answer's values are left to write.

Each batch is its own transaction, idempotent on (series, time) like every write. The first
batch the store fails stops the drain: what it committed is counted (`stored`, `written`), and
the round spools or refuses the rest (`unwritten`), as it did a whole round's values before.
A batch with one series at one time twice (`Clashed`: those refused, the rest stored) does not
stop it; `finish` says every such refusal once the rest is written. A batch holds whole answers,
so the values of one answer are always checked together; a value for a series and time that an
earlier batch wrote is dropped as a repeat when it is the same, else refused and said.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from tracker.core import Observation, Sudden
from tracker.errors import Clashed
from tracker.store import Store

# Values that wait before a batch is written while the round still asks. Small enough that
# the last one is a few milliseconds of work; large enough that a round of one value per
# request (1,000 requests) makes a handful of transactions, not a thousand.
BATCH = 250
# Values that wait before a batch is written once every request is sent. Fewer are left to
# the end: a write's fixed cost (a transaction and a thread hop, ~0.5 ms) is what writing
# about this many values costs, so writing fewer early would not shorten the round's end.
EAGER = 100


class Drain:
    """Writes `values` (the round's list, which grows as answers come) of one source."""

    def __init__(
        self,
        store: Store,
        source: str,
        values: list[Observation],
        sudden: Sudden | None = None,
        batch: int | None = None,
    ) -> None:
        self.store = store
        self.source = source
        self.values = values
        self.sudden = sudden
        self.batch = max(1, batch or BATCH)
        self.written = 0  # values[:written] are committed
        self.stored = 0  # how many of those were new
        self.error: Exception | None = None  # the write that failed, if one did
        self.clashes: list[Clashed] = []  # batches whose repeats were refused, the rest stored
        # (metric, key, time) -> value of what earlier batches wrote: repeats across batches.
        self._seen: dict[tuple[str, str, datetime], int] = {}
        self._ready = asyncio.Event()
        self._closing = False
        self._eager = False  # every request is sent: batches of EAGER values
        self._task: asyncio.Task[None] | None = None

    def poke(self, last: bool = False) -> None:
        """More values arrived: start a batch when enough wait (fewer once `last` said that
        every request of the round is sent)."""
        self._eager = self._eager or last
        if len(self.values) - self.written >= self._least:
            self._wake()

    @property
    def _least(self) -> int:
        """The values that must wait before a batch is written."""
        if self._closing:
            return 1
        return min(self.batch, EAGER) if self._eager else self.batch

    async def finish(self) -> None:
        """Write what is left and wait for it; raises the store's error if a write failed,
        else Clashed (all of the round's) if a batch had values refused as repeats."""
        self._closing = True
        if self._task is not None or self.unwritten:
            self._wake()
        if self._task is not None:
            await asyncio.shield(self._task)
        if self.error is not None:
            raise self.error
        if self.clashes:
            raise Clashed(
                "; ".join(str(c) for c in self.clashes),
                stored=self.stored,
                refused=sum(c.refused for c in self.clashes),
            )

    def stop(self) -> None:
        """The round is cancelled: write nothing more (a write in its thread may still
        commit; the spooled copy of it is idempotent)."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()

    @property
    def unwritten(self) -> Sequence[Observation]:
        """The values no committed write holds (the spool's, when the store fails)."""
        return self.values[self.written :]

    def _wake(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"drain {self.source}")
        self._ready.set()

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            # Batches as long as enough wait, and (closing, or every request sent) until none
            # is left.
            while self.error is None and len(self.values) - self.written >= self._least:
                end = len(self.values)
                batch = self._unrepeated(self.values[self.written : end])
                try:
                    new = await asyncio.to_thread(
                        self.store.write, self.source, batch, sudden=self.sudden
                    )
                except Clashed as exc:  # the batch's other values are stored: go on
                    self.clashes.append(exc)
                    new = exc.stored
                except Exception as exc:  # handed to the round, which sorts it as before
                    self.error = exc
                    break
                self.stored += new
                self.written = end
                for obs in batch:
                    self._seen.setdefault((obs.metric, obs.key, obs.at), obs.value)
            if self._closing or self.error is not None:
                return

    def _unrepeated(self, batch: list[Observation]) -> list[Observation]:
        """`batch` without the values an earlier batch of this round wrote for the same series
        and time. The same value again is a repeat, already stored; another value is refused
        and said (the store refuses such pairs within one write, but the earlier one is
        committed by now: it stays, and the round's cause names both)."""
        if not self._seen:
            return batch
        kept: list[Observation] = []
        clashes: list[tuple[Observation, int]] = []
        for obs in batch:
            before = self._seen.get((obs.metric, obs.key, obs.at))
            if before is None:
                kept.append(obs)
            elif before != obs.value:
                clashes.append((obs, before))
        if clashes:
            shown = "; ".join(
                f"{o.key} {o.metric} at {o.at:%Y-%m-%d %H:%M}: {before} kept, {o.value} refused"
                for o, before in clashes[:3]
            )
            more = f", and {len(clashes) - 3} more" if len(clashes) > 3 else ""
            self.clashes.append(
                Clashed(
                    f"{len(clashes)} value(s) refused: one series and time written earlier in "
                    f"the round with another value ({shown}{more})",
                    stored=0,
                    refused=len(clashes),
                )
            )
        return kept
