"""The tables. Times are integer seconds since the Unix epoch, which is UTC by definition;
`tracker.timeutil` turns them into timezone-aware datetimes at the edges.

`snapshot` is the one time-series table: narrow, keyed by (series_id, ts), and WITHOUT ROWID
on SQLite so a series' history is one contiguous range of the primary key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Field, SQLModel

from tracker.bounds import MAX_METRIC, MAX_SIG, MAX_SOURCE

metadata = SQLModel.metadata

# Flag bits on a snapshot.
BACKFILLED = 1
# A drop or jump from the series' previous value beyond the configured factor: stored, and
# marked so `status` and `history` show it (as Social Blade marks suspicious swings).
SUDDEN = 2
# Every flag bit a snapshot may carry: `flags & FLAG_BITS` indexes what is written per flag set.
FLAG_BITS = BACKFILLED | SUDDEN
# `snapshot.flags` holds the significant figures above the flag bits: `flags >> SIG_SHIFT`
# (0: exact). The most a value may have (MAX_SIG) keeps the column a 16-bit integer.
SIG_SHIFT = 2
assert FLAG_BITS < 1 << SIG_SHIFT and (MAX_SIG << SIG_SHIFT | FLAG_BITS) < 2**15
# `snapshot.days` counts periods in these: a stored row's period is `days * DAY` seconds.
DAY = 86_400


# A name's casefolded text, as SQL: `fold` where the text is not plain ASCII, else the text
# lowered by SQL's ASCII-only `lower()` (PostgreSQL's in the "C" collation, which lowers ASCII
# alone in every database). `ix_name_fold` indexes this expression; look-ups compare it.
FOLDED = {
    "sqlite": "coalesce(fold, lower(text))",
    "postgresql": 'coalesce(fold, lower(text COLLATE "C"))',
}


class _Folded(FunctionElement[str]):
    """`FOLDED` of the dialect compiling it, for the model's index."""

    type = String()
    inherit_cache = True


@compiles(_Folded)
def _folded(element: _Folded, compiler: Any, **kw: Any) -> str:
    return FOLDED[compiler.dialect.name]


class Name(SQLModel, table=True):
    """A text series are known by, stored once (`tracker.store.interned`): a subject, a
    handle, a part of a key, a label's name or value.

    No unique index on `text` (1.5 B per sample of a chart's import): texts are found
    through `ix_name_fold`, and a writer adds a text only where none is (SQLite writes one
    transaction at a time; PostgreSQL's writers of names take a lock)."""

    __tablename__ = "name"
    __table_args__ = (Index("ix_name_fold", _Folded()),)

    id: int | None = Field(default=None, primary_key=True)
    text: str
    # `text` casefolded where that differs from lowering its ASCII letters: NULL for an ASCII
    # text (nearly every name), whose fold SQL's `lower()` gives (`FOLDED`).
    fold: str | None = Field(default=None, sa_column=Column(String, nullable=True))


class Kind(SQLModel, table=True):
    """A source and one of its metrics, which a series' key is unique within."""

    __table_args__ = (UniqueConstraint("source", "metric", name="uq_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=MAX_SOURCE)
    metric: str = Field(max_length=MAX_METRIC)


class Series(SQLModel, table=True):
    """What is measured: one metric of one target on one source. Its texts are ids of
    `name` rows, its key and labels varint-packed lists of them (`tracker.store.interned`);
    a label value that is a part of the key is not stored twice."""

    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_series_identity"),
        Index(
            "ix_series_label",
            "label",
            sqlite_where=text("label IS NOT NULL"),
            postgresql_where=text("label IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: int = Field(sa_column=Column(Integer, nullable=False))
    # The platform's stable id (DID, account id, article, title|country|category ...): the
    # ids of its `|`-separated parts.
    key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Who or what this is about, as the campaign names it ("Kit Connor", "Heartstopper").
    subject: int = Field(index=True)
    # The human handle, which may change while `key` stays; NULL when it is the subject.
    label: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    # Extra labels ({"country": "United Kingdom", "list": "GB"}): the id of their layout (their
    # names, and which key part each value is), then of each value the key does not hold.
    labels: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Snapshot(SQLModel, table=True):
    """One value of one series at one time.

    Every byte of a row counts (160,000 rows a Netflix import): the period is kept in days,
    the significant figures beside the flag bits. The store reads them back as the rows it
    gives, (ts, value, period in seconds, sig, flags), in the SQL (`tracker.store.timeseries`).
    """

    __table_args__ = (
        Index(
            "ix_snapshot_sudden",
            "ts",
            sqlite_where=text("(flags & 2) != 0"),
            postgresql_where=text("(flags & 2) <> 0"),
        ),
        {"sqlite_with_rowid": False},
    )

    series_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    ts: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    # Exact up to 10**15 and beyond: a 64-bit integer.
    value: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Length in whole days of the period the value is for, where the source reports periods
    # (a weekly chart: 7, a day's count: 1); NULL for an instant. 7 takes one byte in SQLite
    # where 604800 seconds took three.
    days: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    # The flag bits (FLAG_BITS), and above them (SIG_SHIFT) the significant figures when the
    # platform rounds (3 for "1.28M", 0 when exact); NULL when all are 0. One column where two
    # took a byte each.
    flags: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))


class Attempt(SQLModel, table=True):
    """Every collection attempt of a source: when, what came of it, and why."""

    __table_args__ = (Index("ix_attempt_source_started", "source", "started"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=MAX_SOURCE)
    started: int = Field(sa_column=Column(BigInteger, nullable=False))
    finished: int = Field(sa_column=Column(BigInteger, nullable=False))
    # ok | partial | failed | skipped
    outcome: str = Field(max_length=10)
    targets: int = 0
    stored: int = 0
    failed: int = 0
    kind: str = Field(default="", max_length=20)
    cause: str = ""


class Baseline(SQLModel, table=True):
    """A reference figure of a campaign: a pre-launch baseline or an article's claim."""

    __table_args__ = (UniqueConstraint("campaign", "name", name="uq_baseline_name"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=100)
    name: str = Field(max_length=100)
    # baseline | claim
    role: str = Field(max_length=10)
    subject: str = Field(max_length=200)
    source: str = Field(max_length=MAX_SOURCE)
    metric: str = Field(max_length=40)
    value: int = Field(sa_column=Column(BigInteger, nullable=False))
    at: int = Field(sa_column=Column(BigInteger, nullable=False))
    sig: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    citation: str = ""


class SourceState(SQLModel, table=True):
    """What the running daemon plans for a source, for `tracker status` in another process."""

    source: str = Field(primary_key=True, max_length=40)
    next_run: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    updated: int = Field(sa_column=Column(BigInteger, nullable=False))


class DaemonLock(SQLModel, table=True):
    """At most one daemon per database: the holder refreshes `heartbeat`."""

    name: str = Field(primary_key=True, max_length=40)
    pid: int
    host: str = Field(max_length=200)
    started: int = Field(sa_column=Column(BigInteger, nullable=False))
    heartbeat: int = Field(sa_column=Column(BigInteger, nullable=False))


class QuotaUse(SQLModel, table=True):
    """What a credential has spent in its current quota window."""

    __tablename__ = "quota"

    key: str = Field(primary_key=True, max_length=120)
    quota_limit: int
    window_start: int = Field(sa_column=Column(BigInteger, nullable=False))
    window_end: int = Field(sa_column=Column(BigInteger, nullable=False))
    used: int = 0
    parked_until: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class SlotState(SQLModel, table=True):
    """The distributed mode's clock: each source's next slot, claimed by one dispatcher."""

    __tablename__ = "slot"

    source: str = Field(primary_key=True, max_length=MAX_SOURCE)
    every: int  # the source's interval, seconds: slots start at multiples of it
    next_slot: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated: int = Field(sa_column=Column(BigInteger, nullable=False))


class Dispatch(SQLModel, table=True):
    """One message of one slot: when it was sent, and what became of it."""

    source: str = Field(primary_key=True, max_length=MAX_SOURCE)
    slot: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    part: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    targets: int
    sent: int = Field(sa_column=Column(BigInteger, nullable=False))
    done: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # ok | partial | failed | late (dropped, not run late) | dead (retries spent)
    outcome: str = Field(default="", max_length=10)
    deliveries: int = 0


class WorkerSeen(SQLModel, table=True):
    """A worker process of the distributed mode and its last heartbeat."""

    __tablename__ = "worker"

    name: str = Field(primary_key=True, max_length=200)
    started: int = Field(sa_column=Column(BigInteger, nullable=False))
    seen: int = Field(sa_column=Column(BigInteger, nullable=False))
    messages: int = 0
