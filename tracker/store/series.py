"""Series: what is measured, and the integer id each observation is stored under.

A series is one metric of one target on one source, known by the platform's stable key. Ids
are resolved in batches and cached per source, so a round of thousands of observations costs
one query, and creating the unknown ones one more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tracker.core import Observation
from tracker.store.engine import Gateway
from tracker.timeutil import to_epoch


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    id: int
    source: str
    metric: str
    key: str
    subject: str
    label: str
    labels: dict[str, str]


class SeriesIndex:
    """Series ids by (source, metric, key), created on first sight."""

    def __init__(self, gateway: Gateway, clock: Callable[[], datetime]) -> None:
        self._db = gateway
        self._clock = clock
        self._cache: dict[tuple[str, str, str], tuple[int, str]] = {}

    def ids(self, source: str, observations: Sequence[Observation]) -> list[int]:
        """The series id of each observation, creating series on first sight in one batch.

        A handle that changed (same stable key, new label) updates the label: the history
        continues under the platform's id.
        """
        cache = self._cache
        unknown = {(source, o.metric, o.key) for o in observations} - cache.keys()
        if unknown:
            self._load(source)
            unknown -= cache.keys()
        if unknown:
            self._create(source, observations, unknown)
            self._load(source)
        renamed = {
            (cache[(source, o.metric, o.key)][0], o.label)
            for o in observations
            if o.label and cache[(source, o.metric, o.key)][1] != o.label
        }
        if renamed:
            with self._db.cursor(write=True) as cursor:
                cursor.executemany(
                    self._db.sql("UPDATE series SET label = ? WHERE id = ?"),
                    [(label, sid) for sid, label in renamed],
                )
            self._load(source)
        return [cache[(source, o.metric, o.key)][0] for o in observations]

    def _create(
        self,
        source: str,
        observations: Sequence[Observation],
        unknown: set[tuple[str, str, str]],
    ) -> None:
        firsts: dict[tuple[str, str, str], Observation] = {}
        for obs in observations:
            identity = (source, obs.metric, obs.key)
            if identity in unknown and identity not in firsts:
                firsts[identity] = obs
        created = to_epoch(self._clock())
        rows = [
            (
                source,
                o.metric,
                o.key,
                o.subject,
                o.label,
                json.dumps(dict(o.labels), sort_keys=True, ensure_ascii=False),
                created,
            )
            for o in firsts.values()
        ]
        # Another process may create the same series meanwhile: its row wins, ours is skipped.
        with self._db.cursor(write=True) as cursor:
            cursor.executemany(
                self._db.sql(
                    "INSERT INTO series (source, metric, key, subject, label, labels, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, metric, key) DO NOTHING"
                ),
                rows,
            )

    def _load(self, source: str) -> None:
        with self._db.cursor() as cursor:
            cursor.execute(
                self._db.sql("SELECT metric, key, id, label FROM series WHERE source = ?"),
                (source,),
            )
            for metric, key, sid, label in cursor.fetchall():
                self._cache[(source, metric, key)] = (sid, label)

    def find(
        self,
        subject: str | None = None,
        source: str | None = None,
        metric: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> list[SeriesInfo]:
        """Series matching every filter given; `subject` ignores case."""
        # Raw SQL: the read commands start faster without compiling an ORM query.
        where, args = ["1 = 1"], []
        for column, value in (("lower(subject)", subject), ("source", source), ("metric", metric)):
            if value:
                where.append(f"{column} = ?")
                args.append(value.lower() if column.startswith("lower") else value)
        with self._db.cursor() as cursor:
            cursor.execute(
                self._db.sql(
                    "SELECT id, source, metric, key, subject, label, labels FROM series "
                    f"WHERE {' AND '.join(where)} ORDER BY id"
                ),
                args,
            )
            found = [
                SeriesInfo(sid, src, met, key, subj, label, json.loads(lab))
                for sid, src, met, key, subj, label, lab in cursor.fetchall()
            ]
        if labels:
            found = [s for s in found if all(s.labels.get(k) == v for k, v in labels.items())]
        return found
