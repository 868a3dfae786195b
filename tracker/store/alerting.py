"""Alerts in the database: each (rule, series) episode, the outbox of due alerts, the delivery log.

The outbox pattern: an alert that becomes due is written in the same transaction as the
episode that made it due, so a crash (or kill -9) after evaluation loses nothing; delivery
claims a row, sends it and marks it sent, and the unique (rule, series, episode, destination)
key means a second evaluation of the same episode never queues it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from tracker.store.engine import Gateway, id_lists
from tracker.store.timeseries import POINT_COLUMNS, PointRow

# Outbox statuses.
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
MAX_RULE = 100
MAX_ALERT_SERIES = 400
MAX_DESTINATION = 200


class AlertStateRow(SQLModel, table=True):
    """Where each (rule, series) stands: inside an episode (active) or re-armed."""

    __tablename__ = "alert_state"

    rule: str = Field(primary_key=True, max_length=MAX_RULE)
    series: str = Field(primary_key=True, max_length=MAX_ALERT_SERIES)
    active: int = 0
    episode: int = 0
    # What the episode is about where a new one can start while active (a rank, a verdict).
    mark: str = Field(default="", max_length=100)
    changed: int = Field(sa_column=Column(BigInteger, nullable=False))
    fired: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class AlertOutboxRow(SQLModel, table=True):
    """An alert due to one destination, until it is sent (or its retries are spent)."""

    __tablename__ = "alert_outbox"
    __table_args__ = (
        UniqueConstraint("rule", "series", "episode", "destination", name="uq_alert_once"),
        Index("ix_alert_outbox_due", "status", "next_try"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=MAX_RULE)
    series: str = Field(max_length=MAX_ALERT_SERIES)
    episode: int
    destination: str = Field(max_length=MAX_DESTINATION)
    title: str = ""
    message: str = ""
    created: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(max_length=10)
    attempts: int = 0
    next_try: int = Field(sa_column=Column(BigInteger, nullable=False))
    claimed: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class AlertDeliveryRow(SQLModel, table=True):
    """The delivery log: every attempt to send an alert, and what came of it."""

    __tablename__ = "alert_delivery"
    __table_args__ = (Index("ix_alert_delivery_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(sa_column=Column(Integer, nullable=False))
    rule: str = Field(max_length=MAX_RULE)
    series: str = Field(max_length=MAX_ALERT_SERIES)
    destination: str = Field(max_length=MAX_DESTINATION)
    message: str = ""
    at: int = Field(sa_column=Column(BigInteger, nullable=False))
    # sent | error | failed (retries spent) | held (rate limit)
    outcome: str = Field(max_length=10)
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Episode:
    rule: str
    series: str
    active: bool
    episode: int
    mark: str = ""
    changed: int = 0
    fired: int | None = None


@dataclass(frozen=True, slots=True)
class Due:
    """An alert to queue: one per (rule, series, episode, destination)."""

    rule: str
    series: str
    episode: int
    destination: str
    title: str
    message: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: int
    rule: str
    series: str
    episode: int
    destination: str
    title: str
    message: str
    attempts: int
    created: int


@dataclass(frozen=True, slots=True)
class Delivery:
    at: int
    rule: str
    series: str
    destination: str
    outcome: str
    detail: str
    message: str


class AlertBook:
    """Episodes, the outbox and the delivery log, through raw cursors (one transaction each)."""

    def __init__(self, gateway: Gateway) -> None:
        self._db = gateway

    def states(self, rule: str | None = None) -> list[Episode]:
        select = "SELECT rule, series, active, episode, mark, changed, fired FROM alert_state "
        with self._db.cursor() as cursor:
            if rule:
                cursor.execute(self._db.sql(select + "WHERE rule = ? ORDER BY series"), (rule,))
            else:
                cursor.execute(select + "ORDER BY rule, series")
            rows = cursor.fetchall()
        return [Episode(r, s, bool(a), e, m, c, f) for r, s, a, e, m, c, f in rows]

    def save(self, states: Sequence[Episode], due: Sequence[Due], at: int) -> int:
        """Write episode changes and queue their alerts in one transaction; returns how many
        alerts were queued (an episode already queued is not queued again)."""
        sql = self._db.sql
        queued = 0
        with self._db.cursor(write=True) as cursor:
            for s in states:
                cursor.execute(
                    sql(
                        "INSERT INTO alert_state (rule, series, active, episode, mark, changed, "
                        "fired) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rule, series) DO UPDATE "
                        "SET active = excluded.active, episode = excluded.episode, "
                        "mark = excluded.mark, changed = excluded.changed, fired = excluded.fired"
                    ),
                    (s.rule, s.series, int(s.active), s.episode, s.mark, s.changed, s.fired),
                )
            for d in due:
                cursor.execute(
                    sql(
                        "INSERT INTO alert_outbox (rule, series, episode, destination, title, "
                        "message, created, status, attempts, next_try) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?) "
                        "ON CONFLICT (rule, series, episode, destination) DO NOTHING"
                    ),
                    (d.rule, d.series, d.episode, d.destination, d.title, d.message, at, PENDING,
                     at),
                )  # fmt: skip
                queued += max(cursor.rowcount, 0)
        return queued

    def claim(self, at: int, stale: int, limit: int = 100) -> list[Outgoing]:
        """Due alerts, each marked as being sent by this caller (another caller skips it).

        A row left `sending` for `stale` seconds (its sender died mid-send) is due again:
        at least once, never lost."""
        sql = self._db.sql
        with self._db.cursor() as cursor:
            cursor.execute(
                sql(
                    "SELECT id, rule, series, episode, destination, title, message, attempts, "
                    "created FROM alert_outbox WHERE (status = ? AND next_try <= ?) "
                    "OR (status = ? AND claimed < ?) ORDER BY id LIMIT ?"
                ),
                (PENDING, at, SENDING, at - stale, limit),
            )
            found = [Outgoing(*row) for row in cursor.fetchall()]
        mine = []
        with self._db.cursor(write=True) as cursor:
            for row in found:
                cursor.execute(
                    sql(
                        "UPDATE alert_outbox SET status = ?, claimed = ? WHERE id = ? AND "
                        "((status = ? AND next_try <= ?) OR (status = ? AND claimed < ?))"
                    ),
                    (SENDING, at, row.id, PENDING, at, SENDING, at - stale),
                )
                if cursor.rowcount == 1:
                    mine.append(row)
        return mine

    def done(self, row: Outgoing, outcome: str, detail: str, at: int, retry_at: int | None) -> None:
        """Record one delivery attempt: sent, to retry at `retry_at`, or given up on."""
        sql = self._db.sql
        if outcome == "sent":
            status, attempts = SENT, row.attempts + 1
        elif retry_at is not None:
            status, attempts = PENDING, row.attempts + (outcome != "held")
        else:
            status, attempts = FAILED, row.attempts + 1
        with self._db.cursor(write=True) as cursor:
            cursor.execute(
                sql(
                    "UPDATE alert_outbox SET status = ?, attempts = ?, next_try = ?, "
                    "claimed = NULL WHERE id = ?"
                ),
                (status, attempts, retry_at if retry_at is not None else at, row.id),
            )
            cursor.execute(
                sql(
                    "INSERT INTO alert_delivery (outbox_id, rule, series, destination, message, "
                    "at, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                (row.id, row.rule, row.series, row.destination, row.message, at, outcome, detail),
            )

    def sent_since(self, destination: str, since: int) -> int:
        with self._db.cursor() as cursor:
            cursor.execute(
                self._db.sql(
                    "SELECT count(*) FROM alert_delivery WHERE destination = ? AND outcome = ? "
                    "AND at >= ?"
                ),
                (destination, "sent", since),
            )
            return int(cursor.fetchone()[0])

    def deliveries(self, rule: str | None = None, limit: int = 50) -> list[Delivery]:
        """The delivery log, newest first."""
        select = (
            "SELECT at, rule, series, destination, outcome, detail, message FROM alert_delivery "
        )
        with self._db.cursor() as cursor:
            args: tuple[str | int, ...]
            if rule:
                statement, args = select + "WHERE rule = ? ORDER BY id DESC LIMIT ?", (rule, limit)
            else:
                statement, args = select + "ORDER BY id DESC LIMIT ?", (limit,)
            cursor.execute(self._db.sql(statement), args)
            return [Delivery(*row) for row in cursor.fetchall()]

    def waiting(self) -> dict[str, int]:
        """Alerts not sent yet (pending or being sent), by rule."""
        with self._db.cursor() as cursor:
            cursor.execute(
                self._db.sql(
                    "SELECT rule, count(*) FROM alert_outbox WHERE status IN (?, ?) GROUP BY rule"
                ),
                (PENDING, SENDING),
            )
            return {rule: int(n) for rule, n in cursor.fetchall()}

    def newest(self, source: str, metric: str) -> int | None:
        """The newest time any series of (source, metric) has a value: a chart's newest period."""
        with self._db.cursor() as cursor:
            cursor.execute(
                self._db.sql(
                    "SELECT max(snapshot.ts) FROM snapshot JOIN series "
                    "ON series.id = snapshot.series_id JOIN kind ON kind.id = series.kind "
                    "WHERE kind.source = ? AND kind.metric = ?"
                ),
                (source, metric),
            )
            row = cursor.fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def latest(self, series_ids: Sequence[int], at_or_before: int | None) -> dict[int, PointRow]:
        """The newest row of each series at or before a time: one statement per 500 series,
        each series' row found through the (series_id, ts) key."""
        found: dict[int, PointRow] = {}
        cutoff = at_or_before if at_or_before is not None else 2**62
        for chunk, placeholders in id_lists(series_ids):
            with self._db.cursor() as cursor:
                cursor.execute(
                    self._db.sql(
                        "SELECT s.id, n.ts, n.value, " + POINT_COLUMNS + " FROM series s "
                        "JOIN snapshot n ON n.series_id = s.id AND n.ts = (SELECT max(ts) "
                        "FROM snapshot WHERE series_id = s.id AND ts <= ?) "
                        f"WHERE s.id IN ({placeholders})"
                    ),
                    [cutoff, *chunk],
                )
                for sid, *row in cursor.fetchall():
                    found[int(sid)] = (row[0], row[1], row[2], row[3], row[4])
        return found

    def history(self, series_ids: Sequence[int]) -> dict[int, list[PointRow]]:
        """Every row of each series, oldest first (for short series: a chart's ranks)."""
        found: dict[int, list[PointRow]] = {}
        for chunk, placeholders in id_lists(series_ids):
            with self._db.cursor() as cursor:
                cursor.execute(
                    self._db.sql(
                        "SELECT series_id, ts, value, " + POINT_COLUMNS + " FROM snapshot "
                        f"WHERE series_id IN ({placeholders}) ORDER BY series_id, ts"
                    ),
                    chunk,
                )
                for sid, *row in cursor.fetchall():
                    found.setdefault(int(sid), []).append((row[0], row[1], row[2], row[3], row[4]))
        return found
