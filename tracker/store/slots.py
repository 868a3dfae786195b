"""The distributed mode's tables: slots claimed once, messages sent and done, workers seen.

A slot is (source, start): starts are multiples of the source's interval in epoch seconds.
Any number of dispatchers claim due slots with `SELECT ... FOR UPDATE SKIP LOCKED`, send the
slot's messages and advance the slot in one transaction: a dispatcher that dies before the
commit leaves the slot due for another (its messages may go out twice; the writes are keyed
by slot, so nothing is stored twice), and no two dispatchers send one slot at once.
PostgreSQL only: SQLite has no row locks to skip.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.errors import StoreError
from tracker.store.engine import Gateway

# How long a worker's heartbeat counts as alive, for `tracker status`.
WORKER_ALIVE_SECONDS = 60

# send(source, slot_start) -> the number of targets of each message it sent.
Sender = Callable[[str, int], Sequence[int]]


@dataclass(frozen=True, slots=True)
class Claim:
    """A slot one dispatcher sent: its start, its messages and the slots it skipped."""

    source: str
    slot: int
    parts: int
    missed: int  # earlier slots nobody dispatched (no dispatcher ran): coalesced into this one


@dataclass(frozen=True, slots=True)
class Worker:
    name: str
    started: int
    seen: int
    messages: int


@dataclass(frozen=True, slots=True)
class Distribution:
    """The distributed mode as the database sees it (for `tracker status`)."""

    sources: int  # sources with a slot row: 0 means the mode never ran here
    workers: list[Worker]
    waiting: int  # messages sent and not done
    oldest: int | None  # when the oldest of them was sent
    dead: int  # messages whose retries were spent
    late: int  # messages dropped for arriving after their slot


def _bounded(cursor: Any) -> None:
    """No wait on a lock beyond 2 s, and a dispatcher frozen mid-send (stopped, not dead)
    lets go of its slot after 30 s idle: another dispatcher then sends it."""
    cursor.execute("SET LOCAL lock_timeout = '2s'")
    cursor.execute("SET LOCAL idle_in_transaction_session_timeout = '30s'")


class Slots:
    """Slots, dispatched messages and workers of one PostgreSQL database."""

    def __init__(self, gateway: Gateway) -> None:
        self._db = gateway

    def _postgres(self) -> None:
        if self._db.is_sqlite:
            raise StoreError(
                "the distributed mode needs PostgreSQL (SQLite has no row locks to share "
                "slots between dispatchers): use a postgresql:// database URL"
            )

    def due(self, every: Mapping[str, int], at: int, send: Sender) -> list[Claim]:
        """Claim, send and advance every slot of `every` (source -> interval) due at `at`.

        One transaction per source; a slot another dispatcher holds is skipped, not waited
        for. When `send` raises, that source's slot stays due and the error propagates after
        the other sources had their turn.
        """
        self._postgres()
        self._register(every, at)
        claims: list[Claim] = []
        error: Exception | None = None
        for source in sorted(every):
            try:
                claim = self._claim(source, every[source], at, send)
            except Exception as exc:  # this source's; the others still get their slots
                error = error or exc
                continue
            if claim is not None:
                claims.append(claim)
        if error is not None:
            raise error
        return claims

    def _register(self, every: Mapping[str, int], at: int) -> None:
        """A row per source, due now; a changed interval takes effect from the next slot of
        the new interval after the last one sent (the current one when that is later), so
        no slot start is sent twice and the change counts no slot as missed.

        Reads first and writes only what is new or changed: an upsert of every row would wait
        on the rows another dispatcher has locked while it sends.
        """
        with self._db.cursor() as cursor:
            cursor.execute("SELECT source, every FROM slot")
            known = {str(source): int(seconds) for source, seconds in cursor.fetchall()}
        changed = {s: n for s, n in every.items() if known.get(s) != n}
        if not changed:
            return
        with self._db.cursor(write=True) as cursor:
            _bounded(cursor)
            for source, seconds in sorted(changed.items()):
                cursor.execute(
                    "INSERT INTO slot (source, every, next_slot, updated) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (source) DO UPDATE SET every = EXCLUDED.every, "
                    "next_slot = GREATEST((slot.next_slot - slot.every) / EXCLUDED.every "
                    "* EXCLUDED.every + EXCLUDED.every, EXCLUDED.next_slot), "
                    "updated = EXCLUDED.updated WHERE slot.every <> EXCLUDED.every",
                    (source, seconds, at - at % seconds, at),
                )

    def _claim(self, source: str, seconds: int, at: int, send: Sender) -> Claim | None:
        with self._db.cursor(write=True) as cursor:
            _bounded(cursor)
            cursor.execute(
                "SELECT next_slot FROM slot WHERE source = %s AND next_slot <= %s "
                "FOR UPDATE SKIP LOCKED",
                (source, at),
            )
            row = cursor.fetchone()
            if row is None:
                return None
            start = at - at % seconds
            missed = max(0, (start - int(row[0])) // seconds)
            sizes = list(send(source, start))
            cursor.executemany(
                "INSERT INTO dispatch (source, slot, part, targets, sent, outcome, deliveries) "
                "VALUES (%s, %s, %s, %s, %s, '', 0) ON CONFLICT DO NOTHING",
                [(source, start, part, size, at) for part, size in enumerate(sizes)],
            )
            cursor.execute(
                "UPDATE slot SET next_slot = %s, updated = %s WHERE source = %s",
                (start + seconds, at, source),
            )
        return Claim(source, start, len(sizes), missed)

    def forget(self, source: str) -> None:
        """A source no longer dispatched loses its row: added back later, it is due at once
        instead of counting the slots in between as missed."""
        self._postgres()
        with self._db.cursor(write=True) as cursor:
            _bounded(cursor)
            cursor.execute("DELETE FROM slot WHERE source = %s", (source,))

    def done(
        self,
        source: str,
        slot: int,
        part: int,
        targets: int,
        sent: int,
        outcome: str,
        at: int,
        *,
        keep: bool = False,
    ) -> bool:
        """Record what became of one message (again, for a redelivered one); True when it had
        no outcome before. With `keep`, an outcome already recorded stays (a copy of a message
        that was collected, dropped as late, must not turn the slot into a failure)."""
        self._postgres()
        with self._db.cursor(write=True) as cursor:
            cursor.execute(
                "SELECT done FROM dispatch WHERE source = %s AND slot = %s AND part = %s "
                "FOR UPDATE",
                (source, slot, part),
            )
            row = cursor.fetchone()
            first = row is None or row[0] is None
            cursor.execute(
                "INSERT INTO dispatch (source, slot, part, targets, sent, done, outcome, "
                "deliveries) VALUES (%s, %s, %s, %s, %s, %s, %s, 1) "
                "ON CONFLICT (source, slot, part) DO UPDATE SET done = EXCLUDED.done, "
                "outcome = CASE WHEN %s AND dispatch.done IS NOT NULL THEN dispatch.outcome "
                "ELSE EXCLUDED.outcome END, deliveries = dispatch.deliveries + 1",
                (source, slot, part, targets, sent, at, outcome, keep),
            )
        return first

    def seen(self, name: str, started: int, at: int, messages: int) -> None:
        """A worker's heartbeat."""
        self._postgres()
        with self._db.cursor(write=True) as cursor:
            cursor.execute(
                "INSERT INTO worker (name, started, seen, messages) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET seen = EXCLUDED.seen, "
                "messages = EXCLUDED.messages, started = EXCLUDED.started",
                (name, started, at, messages),
            )

    def distribution(self, at: int) -> Distribution:
        """Workers seen lately, messages waiting and the oldest's age, dead and late ones."""
        empty = Distribution(0, [], 0, None, 0, 0)
        if self._db.is_sqlite:
            return empty
        with self._db.cursor() as cursor:
            # A database not yet migrated to 0006 never ran this mode: `status` says nothing.
            cursor.execute("SELECT to_regclass('slot') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return empty
            cursor.execute("SELECT count(*) FROM slot")
            sources = int(cursor.fetchone()[0])
            cursor.execute(
                "SELECT name, started, seen, messages FROM worker WHERE seen >= %s ORDER BY name",
                (at - WORKER_ALIVE_SECONDS,),
            )
            workers = [Worker(str(n), int(s), int(t), int(m)) for n, s, t, m in cursor.fetchall()]
            cursor.execute(
                "SELECT count(*) FILTER (WHERE done IS NULL), "
                "min(sent) FILTER (WHERE done IS NULL), "
                "count(*) FILTER (WHERE outcome = 'dead'), "
                "count(*) FILTER (WHERE outcome = 'late') FROM dispatch"
            )
            waiting, oldest, dead, late = cursor.fetchone()
        return Distribution(
            sources,
            workers,
            int(waiting),
            int(oldest) if oldest is not None else None,
            int(dead),
            int(late),
        )
