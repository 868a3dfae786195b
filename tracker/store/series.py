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

# Series created in one batch past which PostgreSQL's statistics are refreshed at once.
ANALYZE_AFTER = 1_000
# ...and past which they are sent to PostgreSQL with COPY.
COPY_AFTER = 100


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
    """Series ids by source, metric and key, created on first sight."""

    def __init__(self, gateway: Gateway, clock: Callable[[], datetime]) -> None:
        self._db = gateway
        self._clock = clock
        # source -> metric -> key -> (id, label): nested, so a look-up builds no tuple.
        self._cache: dict[str, dict[str, dict[str, tuple[int, str]]]] = {}
        # source -> the highest series id cached: what a refresh reads on from.
        self._newest: dict[str, int] = {}

    def ids(self, source: str, observations: Sequence[Observation]) -> list[int]:
        """The series id of each observation, creating series on first sight in one batch.

        A handle that changed (same stable key, new label) updates the label: the history
        continues under the platform's id.
        """
        found = self._lookup(source, observations)
        if found is None:
            self._load(source)
            unknown = self._unknown(source, observations)
            if unknown:
                self._create(source, unknown)
                self._load(source)
            found = self._lookup(source, observations)
            if found is None:  # another writer's series committed after newer ids: read all
                self._load(source, everything=True)
                found = self._lookup(source, observations)
            assert found is not None, "series created but not found"
        ids, renamed = found
        if renamed:
            with self._db.cursor(write=True) as cursor:
                cursor.executemany(
                    self._db.sql("UPDATE series SET label = ?, label_key = ? WHERE id = ?"),
                    [(label, label.casefold(), sid) for label, sid in renamed],
                )
            self._load(source, everything=True)
        return ids

    def _lookup(
        self, source: str, observations: Sequence[Observation]
    ) -> tuple[list[int], list[tuple[str, int]]] | None:
        """(ids, (new label, id) of renamed series) from the cache; None if one is unknown.

        One pass and a dict look-up or two per observation: this runs for every value stored.
        """
        metrics = self._cache.get(source)
        if metrics is None:
            return None
        ids: list[int] = []
        renamed: dict[int, str] = {}
        keys: dict[str, tuple[int, str]] = {}
        metric: str | None = None
        for obs in observations:
            if obs.metric != metric:  # a round's observations come in runs of one metric
                metric = obs.metric
                known = metrics.get(metric)
                if known is None:
                    return None
                keys = known
            hit = keys.get(obs.key)
            if hit is None:
                return None
            ids.append(hit[0])
            if obs.label and hit[1] != obs.label:
                renamed[hit[0]] = obs.label
        return ids, [(label, sid) for sid, label in renamed.items()]

    def _unknown(self, source: str, observations: Sequence[Observation]) -> list[Observation]:
        """The first observation of each series the database does not know yet."""
        metrics = self._cache.get(source, {})
        firsts: dict[tuple[str, str], Observation] = {}
        for obs in observations:
            if obs.key not in metrics.get(obs.metric, {}):
                firsts.setdefault((obs.metric, obs.key), obs)
        return list(firsts.values())

    def _create(self, source: str, firsts: Sequence[Observation]) -> None:
        created = to_epoch(self._clock())
        rows = [
            (
                source,
                o.metric,
                o.key,
                o.subject,
                o.label,
                o.subject.casefold(),
                o.label.casefold(),
                json.dumps(dict(o.labels), sort_keys=True, ensure_ascii=False),
                created,
            )
            for o in firsts
        ]
        # Another process may create the same series meanwhile: its row wins, ours is skipped.
        with self._db.cursor(write=True) as cursor:
            if self._db.is_sqlite or len(rows) < COPY_AFTER:
                cursor.executemany(
                    self._db.sql(
                        "INSERT INTO series (source, metric, key, subject, label, subject_key, "
                        "label_key, labels, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (source, metric, key) DO NOTHING"
                    ),
                    rows,
                )
            else:
                # One statement, not one per series: 50,000 pipelined inserts kept an import
                # waiting on the server for seconds.
                cursor.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS series_in (source text, metric text, "
                    "key text, subject text, label text, subject_key text, label_key text, "
                    "labels text, created bigint) ON COMMIT DELETE ROWS"
                )
                with cursor.copy(
                    "COPY series_in (source, metric, key, subject, label, subject_key, "
                    "label_key, labels, created) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(
                    "INSERT INTO series (source, metric, key, subject, label, subject_key, "
                    "label_key, labels, created) SELECT source, metric, key, subject, label, "
                    "subject_key, label_key, labels, created FROM series_in "
                    "ON CONFLICT (source, metric, key) DO NOTHING"
                )
        if len(rows) >= ANALYZE_AFTER and not self._db.is_sqlite:
            # Until autovacuum gets to it, PostgreSQL plans a name look-up on a table it has
            # no statistics of by scanning the (source, metric) index: 250 ms instead of 1 ms
            # at 63,000 series right after an import.
            with self._db.cursor(write=True) as cursor:
                cursor.execute("ANALYZE series")

    def _load(self, source: str, everything: bool = False) -> None:
        """Cache the series of `source`: all of them the first time (or with `everything`),
        then only those created since (ids grow), so an import of 50,000 series in slices
        does not read them all back for every slice."""
        newest = self._newest.get(source) if not everything else None
        sql = "SELECT metric, key, id, label FROM series WHERE source = ?"
        with self._db.cursor() as cursor:
            if newest is None:
                cursor.execute(self._db.sql(sql), (source,))
            else:
                cursor.execute(self._db.sql(sql + " AND id > ?"), (source, newest))
            rows = cursor.fetchall()
        metrics = self._cache.setdefault(source, {})
        for metric, key, sid, label in rows:
            metrics.setdefault(metric, {})[key] = (sid, label)
        if rows:
            self._newest[source] = max(newest or 0, max(row[2] for row in rows))
        elif newest is None:
            self._newest[source] = 0

    def find(
        self,
        subject: str | None = None,
        source: str | None = None,
        metric: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> list[SeriesInfo]:
        """Series matching every filter given; `subject` ignores case (an index look-up)."""
        where, args = [], []
        for column, value in (
            ("subject_key", subject.casefold() if subject else None),
            ("source", source),
            ("metric", metric),
        ):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        return self._select(where, args, labels)

    def named(
        self, name: str, source: str | None = None, metric: str | None = None
    ) -> list[SeriesInfo]:
        """Series whose subject or handle is `name` (ignoring case), both indexed; failing
        those, whose platform id is exactly `name` (indexed when `source` is given)."""
        where, args = [], []
        for column, value in (("source", source), ("metric", metric)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        key = name.casefold()
        found = self._select(["(subject_key = ? OR label_key = ?)", *where], [key, key, *args])
        return found or self._select(["key = ?", *where], [name, *args])

    def _select(
        self, where: list[str], args: list[str], labels: dict[str, str] | None = None
    ) -> list[SeriesInfo]:
        # Raw SQL: the read commands start faster without compiling an ORM query.
        where, args = list(where), list(args)
        for name, value in (labels or {}).items():
            # Filtered by the database too: only the matching rows are sent and decoded (a
            # show's 57 series for its one country). Python's check below stays the rule.
            if self._db.is_sqlite:
                if '"' in name or "\\" in name:
                    continue  # not a JSON path SQLite reads as a plain key: Python alone
                where.append("json_extract(labels, ?) = ?")
                args += [f'$."{name}"', value]
            else:
                where.append("(labels::jsonb ->> ?) = ?")
                args += [name, value]
        where = where or ["1 = 1"]
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
