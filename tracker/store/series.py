"""Series: what is measured, and the integer id each observation is stored under.

A series is one metric of one target on one source, known by the platform's stable key. Ids
are resolved in batches and cached per source, so a round of thousands of observations costs
one query, and creating the unknown ones a few more. Its texts are stored once each
(`tracker.store.interned`): a series row is a handful of small integers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tracker.core import Observation
from tracker.store.engine import Gateway
from tracker.store.interned import Names, coded, pack, unpack

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

    def __init__(self, gateway: Gateway) -> None:
        self._db = gateway
        self.names = Names(gateway)
        # source -> metric -> key -> (id, label, subject): nested, so a look-up builds no tuple.
        self._cache: dict[str, dict[str, dict[str, tuple[int, str, str]]]] = {}
        # source -> the highest series id cached: what a refresh reads on from.
        self._newest: dict[str, int] = {}
        # key blob -> key of the series just created: read back without decoding.
        self._fresh: dict[bytes, str] = {}
        # Series this index created since it last had PostgreSQL analyze the tables, and before.
        self._unanalyzed = 0
        self._analyzed = 0

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
            ids_of = self.names.intern(label for label, _, _ in renamed)
            with self._db.cursor(write=True) as cursor:
                cursor.executemany(
                    self._db.sql("UPDATE series SET label = ? WHERE id = ?"),
                    [
                        (None if label == subject else ids_of[label], sid)
                        for label, subject, sid in renamed
                    ],
                )
            self._load(source, everything=True)
        return ids

    def _lookup(
        self, source: str, observations: Sequence[Observation]
    ) -> tuple[list[int], list[tuple[str, str, int]]] | None:
        """(ids, (new label, subject, id) of renamed series) from the cache; None if one is
        unknown.

        One pass and a dict look-up or two per observation: this runs for every value stored.
        """
        metrics = self._cache.get(source)
        if metrics is None:
            return None
        ids: list[int] = []
        renamed: dict[int, tuple[str, str]] = {}
        keys: dict[str, tuple[int, str, str]] = {}
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
                renamed[hit[0]] = (obs.label, hit[2])
        return ids, [(label, subject, sid) for sid, (label, subject) in renamed.items()]

    def _unknown(self, source: str, observations: Sequence[Observation]) -> list[Observation]:
        """The first observation of each series the database does not know yet."""
        metrics = self._cache.get(source, {})
        firsts: dict[tuple[str, str], Observation] = {}
        keys: dict[str, tuple[int, str, str]] = {}
        metric: str | None = None
        for obs in observations:
            if obs.metric != metric:  # in runs of one metric, as in `_lookup`
                metric = obs.metric
                keys = metrics.get(metric, {})
            if obs.key not in keys:
                firsts.setdefault((metric, obs.key), obs)
        return list(firsts.values())

    def _create(self, source: str, firsts: Sequence[Observation]) -> None:
        names = self.names
        blobs = [coded(o.key, o.labels) for o in firsts]
        texts: list[str] = []
        for (parts, stored), o in zip(blobs, firsts, strict=True):
            texts += parts
            texts += stored
            texts += (o.subject, o.label)
        ids = names.intern(texts)
        # Each text's packed id, joined: an import builds tens of thousands of blobs at once.
        packed = {text: pack((i,)) for text, i in ids.items()}
        # The metric of most series first, not a set's order: a kind id of 1 takes no byte
        # of a SQLite record (of the row and of its `(kind, key)` index entry), 2 takes one.
        counts = Counter(o.metric for o in firsts)
        metrics = sorted(counts, key=lambda m: (-counts[m], m))
        kinds = {m: names.kind_id(source, m) for m in metrics}
        rows = [
            (
                kinds[o.metric],
                b"".join([packed[t] for t in parts]),
                b"".join([packed[t] for t in stored]),
                ids[o.subject],
                None if o.label == o.subject else ids[o.label],
            )
            for (parts, stored), o in zip(blobs, firsts, strict=True)
        ]
        self._fresh = {row[1]: o.key for row, o in zip(rows, firsts, strict=True)}
        # Another process may create the same series meanwhile: its row wins, ours is skipped.
        with self._db.cursor(write=True) as cursor:
            if self._db.is_sqlite or len(rows) < COPY_AFTER:
                cursor.executemany(
                    self._db.sql(
                        "INSERT INTO series (kind, key, labels, subject, label) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, key) DO NOTHING"
                    ),
                    rows,
                )
            else:
                # One statement, not one per series: 50,000 pipelined inserts kept an import
                # waiting on the server for seconds.
                cursor.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS series_in (kind integer, key bytea, "
                    "labels bytea, subject integer, label integer) "
                    "ON COMMIT DELETE ROWS"
                )
                with cursor.copy(
                    "COPY series_in (kind, key, labels, subject, label) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(
                    "INSERT INTO series (kind, key, subject, label, labels) "
                    "SELECT kind, key, subject, label, labels FROM series_in "
                    "ON CONFLICT (kind, key) DO NOTHING"
                )
        self._unanalyzed += len(rows)
        if self._unanalyzed >= max(ANALYZE_AFTER, self._analyzed) and not self._db.is_sqlite:
            # Until autovacuum gets to it, PostgreSQL plans a name look-up on a table it has
            # no statistics of by scanning another index: 250 ms instead of 1 ms at 63,000
            # series right after an import. Again each time as many more are created as
            # there were when it last ran (an import's slices: 3 times, not 7): statistics
            # of half the rows plan the same.
            with self._db.cursor(write=True) as cursor:
                cursor.execute("ANALYZE series")
                cursor.execute("ANALYZE name")
            self._analyzed += self._unanalyzed
            self._unanalyzed = 0

    def _load(self, source: str, everything: bool = False) -> None:
        """Cache the series of `source`: all of them the first time (or with `everything`),
        then only those created since (ids grow), so an import of 50,000 series in slices
        does not read them all back for every slice."""
        newest = self._newest.get(source) if not everything else None
        kinds = self.names.kind_ids(source, None)
        if not kinds:
            self._cache.setdefault(source, {})
            self._newest.setdefault(source, 0)
            return
        placeholders = ", ".join("?" * len(kinds))
        sql = f"SELECT kind, key, id, subject, label FROM series WHERE kind IN ({placeholders})"
        names = self.names
        fresh, self._fresh = self._fresh, {}
        with self._db.cursor() as cursor:
            if newest is None:
                cursor.execute(self._db.sql(sql), kinds)
            else:
                # The ids after `newest` (a range of the primary key), not every series of
                # the kinds through their `(kind, key)` index: 50,000 series in slices.
                after = sql.replace("WHERE kind IN", "WHERE id > ? AND +kind IN")
                cursor.execute(self._db.sql(after), (newest, *kinds))
            rows = [
                (k, fresh.get(bytes(key)) or unpack(key), sid, s, lab)
                for k, key, sid, s, lab in cursor.fetchall()
            ]
            needed = {i for row in rows if not isinstance(row[1], str) for i in row[1]}
            needed |= {row[3] for row in rows} | {row[4] for row in rows if row[4] is not None}
            texts = names.texts(needed, cursor)
        metrics = self._cache.setdefault(source, {})
        of_kind = {kid: metrics.setdefault(names.kind_of(kid)[1], {}) for kid in kinds}
        for kid, key, sid, subject, label in rows:
            who = texts[subject]
            text = key if isinstance(key, str) else names.key(key)
            of_kind[kid][text] = (sid, who if label is None else texts[label], who)
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
        where, args = _kind_filter(source, metric)
        if subject:
            where.append(self._folded("s.subject"))
            args.append(subject.casefold())
        return self._select(where, args, labels, by_name=bool(subject))

    def named(
        self, name: str, source: str | None = None, metric: str | None = None
    ) -> list[SeriesInfo]:
        """Series whose subject or handle is `name` (ignoring case), both indexed; failing
        those, whose platform id is exactly `name` (indexed when `source` is given)."""
        where, args = _kind_filter(source, metric)
        key = name.casefold()
        either = "(" + self._folded("s.subject") + " OR " + self._folded("s.label") + ")"
        found = self._select([either, *where], [key, key, *args], by_name=True)
        if found:
            return found
        parts = self.names.known(name.split("|"))
        if len(parts) < len(set(name.split("|"))):
            return []  # a part of it was never stored: no key is this
        return self._select(["s.key = ?", *where], [self.names.key_blob(name, parts), *args])

    def _folded(self, column: str) -> str:
        """`column` is the id of a text that casefolds to the parameter: an index look-up of
        `ix_name_fold`, then of `column` (PostgreSQL plans a hashed scan for `IN (SELECT ...)`
        under an OR, and an index scan for the array of its result)."""
        folded = self.names.folded
        if self._db.is_sqlite:
            return f"{column} IN (SELECT id FROM name WHERE {folded} = ?)"
        return f"{column} = ANY(ARRAY(SELECT id FROM name WHERE {folded} = ?))"

    @property
    def _holds(self) -> str:
        """The labels or the key blob holds the bytes given (a value the key holds is not
        stored again in the labels: `tracker.store.interned`)."""
        if self._db.is_sqlite:
            return "(instr(s.labels, ?) > 0 OR instr(s.key, ?) > 0)"
        return "(position(? in s.labels) > 0 OR position(? in s.key) > 0)"

    def _select(
        self,
        where: list[str],
        args: list[object],
        labels: dict[str, str] | None = None,
        by_name: bool = False,
    ) -> list[SeriesInfo]:
        """Series matching `where`. `by_name`: a name narrows them most, so SQLite (which
        has no statistics) is told not to start from the kind's series (`+s.kind`)."""
        # Raw SQL: the read commands start faster without compiling an ORM query.
        names = self.names
        with self._db.cursor() as cursor:
            if labels:
                # Filtered by the database too: only series whose labels or key blob holds
                # each wanted value's id are sent and decoded (a show's 57 series for its one
                # country). Python's check below stays the rule: an id's bytes may match
                # elsewhere in a blob.
                ids = names.known(labels.values(), cursor)
                if len(ids) < len(set(labels.values())):
                    return []  # a value never stored: no series has it
                where = [*where, *[self._holds] * len(ids)]
                for i in ids.values():
                    args += [pack([i])] * 2  # the labels blob's test, the key's
            where = where or ["1 = 1"]
            cursor.execute(
                self._db.sql(
                    (_SELECT_BY_NAME if by_name else _SELECT)
                    + f"WHERE {' AND '.join(where)} ORDER BY s.id"
                ),
                args,
            )
            # Each blob unpacked once: a listing of every series decodes 60,000 of each.
            rows = [
                (sid, src, met, unpack(key), who, handle, unpack(blob))
                for sid, src, met, key, who, handle, blob in cursor.fetchall()
            ]
            # The texts in one statement (none when cached: a held store's next look-up),
            # not joins of `name` in the first: a fresh connection plans each join.
            needed = {i for row in rows for part in (row[3], row[6]) for i in part}
            needed |= {row[4] for row in rows} | {row[5] for row in rows if row[5] is not None}
            texts = names.texts(needed, cursor)
        found = [
            SeriesInfo(
                sid,
                src,
                met,
                names.key(key),
                texts[who],
                texts[who if handle is None else handle],
                names.labels(blob, key),
            )
            for sid, src, met, key, who, handle, blob in rows
        ]
        if labels:
            found = [s for s in found if all(s.labels.get(k) == v for k, v in labels.items())]
        return found


_SELECT = (
    "SELECT s.id, k.source, k.metric, s.key, s.subject, s.label, s.labels FROM series s "
    "JOIN kind k ON k.id = s.kind "
)
_SELECT_BY_NAME = _SELECT.replace("k.id = s.kind", "k.id = +s.kind")


def _kind_filter(source: str | None, metric: str | None) -> tuple[list[str], list[object]]:
    where: list[str] = []
    args: list[object] = []
    for column, value in (("k.source", source), ("k.metric", metric)):
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    return where, args
