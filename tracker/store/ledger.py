"""The ledger: every collection attempt, each source's status and next run, the baselines.

What the daemon did and plans, kept in the database so `tracker status` in another process,
the spool's replay and the report all read the same account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, delete, select

from tracker.store.engine import Gateway
from tracker.store.models import Attempt, Baseline, SourceState
from tracker.timeutil import from_epoch, to_epoch

# Outcomes that mean the values were collected; spooled ones reach the table when the
# database returns.
COLLECTED = ("ok", "partial", "spooled")
FAILED = ("failed", "partial")
# How far back `status` looks for a source's last success and failure.
STATUS_DEPTH = 200


@dataclass(frozen=True, slots=True)
class SourceStatus:
    source: str
    last_success: datetime | None
    last_failure: datetime | None
    last_cause: str
    failures_in_a_row: int
    next_run: datetime | None
    last_outcome: str


class Ledger:
    """Attempts, per-source state and baselines, through ORM sessions (small, rare writes)."""

    def __init__(self, gateway: Gateway, clock: Callable[[], datetime]) -> None:
        self._db = gateway
        self._clock = clock

    # -- attempts and status -------------------------------------------------------------
    def record_attempt(self, attempt: Attempt) -> None:
        with self._db.session() as session:
            session.add(attempt)
            session.commit()

    def attempts(self, source: str | None = None, limit: int = 50) -> list[Attempt]:
        """The newest attempts first, of one source or all."""
        query = select(Attempt).order_by(col(Attempt.id).desc()).limit(limit)
        if source:
            query = query.where(Attempt.source == source)
        with self._db.session() as session:
            return list(session.exec(query).all())

    def set_next_run(self, source: str, when: datetime | None) -> None:
        with self._db.session() as session:
            state = session.get(SourceState, source) or SourceState(source=source, updated=0)
            state.next_run = to_epoch(when) if when else None
            state.updated = to_epoch(self._clock())
            session.add(state)
            session.commit()

    def status(self) -> list[SourceStatus]:
        """Per source: last success, last failure and its cause, failures in a row, next run."""
        with self._db.session() as session:
            sources = set(session.exec(select(Attempt.source).distinct()).all())
            states = {s.source: s for s in session.exec(select(SourceState)).all()}
            out = []
            for source in sorted(sources | set(states)):
                recent = session.exec(
                    select(Attempt)
                    .where(Attempt.source == source)
                    .order_by(col(Attempt.id).desc())
                    .limit(STATUS_DEPTH)
                ).all()
                out.append(_status(source, recent, states.get(source)))
        return out

    # -- baselines -----------------------------------------------------------------------
    def sync_baselines(self, campaign: str, references: Iterable[Baseline]) -> None:
        """Make the stored baselines of `campaign` exactly the config's."""
        with self._db.session() as session:
            session.exec(delete(Baseline).where(col(Baseline.campaign) == campaign))
            for ref in references:
                session.add(ref)
            session.commit()

    def baselines(self, campaign: str | None = None) -> list[Baseline]:
        query = select(Baseline).order_by(col(Baseline.id))
        if campaign:
            query = query.where(Baseline.campaign == campaign)
        with self._db.session() as session:
            return list(session.exec(query).all())


def _status(source: str, recent: Iterable[Attempt], state: SourceState | None) -> SourceStatus:
    """One source's status from its newest attempts (newest first) and its planned run."""
    recent = list(recent)
    success = next((a for a in recent if a.outcome in COLLECTED), None)
    failure = next((a for a in recent if a.outcome in FAILED), None)
    in_a_row = 0
    for a in recent:
        if a.outcome != "failed":
            break
        in_a_row += 1
    return SourceStatus(
        source=source,
        last_success=from_epoch(success.finished) if success else None,
        last_failure=from_epoch(failure.finished) if failure else None,
        last_cause=failure.cause if failure else "",
        failures_in_a_row=in_a_row,
        next_run=from_epoch(state.next_run) if state and state.next_run else None,
        last_outcome=recent[0].outcome if recent else "",
    )
