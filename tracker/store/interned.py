"""Interned strings: every text a series is known by is stored once, and series refer to it
by a small integer.

A series' subject, handle, the `|`-separated parts of its key, its label names and values are
rows of `name` (the text and its casefolded key, indexed); a source and metric pair is one row
of `kind`. The series row then holds ids: its key and labels as varint-packed blobs of them
(`pack`), its subject and handle as plain ids. Ids never change once given, so each process
caches what it has read (`Names`); a text another process interned meanwhile is read on first
sight.

A labels blob is the id of its *layout* followed by the id of each value the key does not hold
already. The layout is one interned text, a JSON object of the label names, sorted, each
mapped to the index of the key part its value equals (the first, if several do) or to null
when the value is stored in the blob: a Netflix country series, key
`title|season|GB|TV`, has the layout `{"category":3,"country":null,"list":2,"season":1}`
and a blob of two ids, that layout's and "United Kingdom"'s. A chart's 60,000 series share
one layout; decoding a blob takes the key's ids too (`Names.labels`).
"""

from __future__ import annotations

import json
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from tracker.store.engine import IN_LIST, Gateway, id_lists
from tracker.store.models import FOLDED

# Texts past which the names the database holds are read whole rather than by id lists.
READ_ALL_AFTER = 2_000
# Key parts are joined by this: the key "title|season|GB|TV" is stored as four ids.
KEY_SEPARATOR = "|"
# PostgreSQL's advisory lock a writer of names holds (a constant key: b"tracker!" as a
# big-endian integer), so two never add one text twice.
NAMES_LOCK = int.from_bytes(b"tracker!", "big") - 2**63
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def pack(ids: Iterable[int]) -> bytes:
    """Non-negative integers as LEB128 varints: ids under 128 take one byte, under 16,384 two."""
    out = bytearray()
    for n in ids:
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
    return bytes(out)


def unpack(blob: bytes) -> list[int]:
    """The integers `pack` wrote."""
    if blob.isascii():  # every one under 128: a byte each (a chart's labels, often)
        return list(blob)
    found: list[int] = []
    append = found.append
    n = shift = 0
    for byte in blob:
        if byte < 0x80:
            append(n | byte << shift)
            n = shift = 0
        else:
            n |= (byte & 0x7F) << shift
            shift += 7
    return found


def stored_fold(text: str) -> str | None:
    """What `name.fold` holds for `text`: its casefolded text, or None where lowering its
    ASCII letters gives that (every ASCII text), which SQL's `lower()` does (`FOLDED`)."""
    if text.isascii():
        return None
    folded = text.casefold()
    return None if folded == text.translate(_ASCII_LOWER) else folded


def coded(key: str, labels: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The texts whose ids a series' key blob and labels blob hold, in order."""
    parts = key.split(KEY_SEPARATOR)
    if not labels:
        return parts, []
    names = _sorted(tuple(labels))
    # One loop, no comprehensions: this runs for each of an import's 60,000 new series.
    stored = [""]  # the layout's place
    at: list[int | None] = []
    for name in names:
        value = labels[name]
        if value in parts:
            at.append(parts.index(value))
        else:
            at.append(None)
            stored.append(value)
    stored[0] = _layout(names, tuple(at))
    return parts, stored


@lru_cache(maxsize=256)
def _sorted(names: tuple[str, ...]) -> tuple[str, ...]:
    """Label names in a mapping's own order, sorted: a chart's series share a few such
    orders, so an import sorts each once, not once a series."""
    return tuple(sorted(names))


@lru_cache(maxsize=1024)
def _layout(names: tuple[str, ...], at: tuple[int | None, ...]) -> str:
    """The layout text of sorted label names and the key part each value is (or None)."""
    return json.dumps(dict(zip(names, at, strict=True)), ensure_ascii=False, separators=(",", ":"))


def _reading(layout: str) -> tuple[int, tuple[tuple[str, int], ...]]:
    """A layout text -> (the length of its labels blob, each name and where its value's id
    sits in the blob's ids followed by the key's)."""
    at: dict[str, int | None] = json.loads(layout)
    width = 1 + sum(i is None for i in at.values())
    stored = iter(range(1, width))
    return width, tuple((name, next(stored) if i is None else width + i) for name, i in at.items())


class Names:
    """The interned texts and kinds of one database, cached both ways as they are read."""

    def __init__(self, gateway: Gateway) -> None:
        self._db = gateway
        # A name's casefolded text in this database's SQL (`ix_name_fold` indexes it).
        self.folded = FOLDED["sqlite" if gateway.is_sqlite else "postgresql"]
        self._text: dict[int, str] = {}
        self._id: dict[str, int] = {}
        self._kinds: dict[tuple[str, str], int] = {}
        self._kind: dict[int, tuple[str, str]] = {}
        self._layouts: dict[int, tuple[int, tuple[tuple[str, int], ...]]] = {}  # `_reading`s

    # -- reading ----------------------------------------------------------------------------
    def texts(self, ids: Iterable[int], cursor: Any = None) -> dict[int, str]:
        """The cache of id -> text, holding every id given (read from the database if new,
        on `cursor` when given: a read command's one connection)."""
        missing = {i for i in ids if i not in self._text}
        if not missing:
            return self._text
        if cursor is None:
            with self._db.cursor() as own:
                return self.texts(missing, own)
        if len(missing) > READ_ALL_AFTER:
            cursor.execute("SELECT id, text FROM name")
            self._remember(cursor.fetchall())
        else:
            for chunk, placeholders in id_lists(sorted(missing)):
                cursor.execute(
                    self._db.sql(f"SELECT id, text FROM name WHERE id IN ({placeholders})"),
                    chunk,
                )
                self._remember(cursor.fetchall())
        return self._text

    def known(self, texts: Iterable[str], cursor: Any = None) -> dict[str, int]:
        """text -> id of those of `texts` the database holds (none is created)."""
        wanted = set(texts)
        self._read_texts([t for t in wanted if t not in self._id], cursor)
        return {t: self._id[t] for t in wanted if t in self._id}

    def kinds(self) -> dict[int, tuple[str, str]]:
        """Every kind: id -> (source, metric). A tiny table, read whole when one is new.
        A copy: another source's write thread may be adding to the cache meanwhile."""
        with self._db.cursor() as cursor:
            cursor.execute("SELECT id, source, metric FROM kind")
            for kid, source, metric in cursor.fetchall():
                self._kind[int(kid)] = (source, metric)
                self._kinds[(source, metric)] = int(kid)
        return self._kind.copy()

    def kind_ids(self, source: str | None, metric: str | None) -> list[int]:
        """Ids of the kinds of `source` and `metric` (either may be None: any)."""
        return [
            kid
            for kid, (s, m) in self.kinds().items()
            if (source is None or s == source) and (metric is None or m == metric)
        ]

    def kind_of(self, kid: int) -> tuple[str, str]:
        found = self._kind.get(kid)
        return found if found is not None else self.kinds()[kid]

    # -- writing ----------------------------------------------------------------------------
    def intern(self, texts: Iterable[str]) -> dict[str, int]:
        """text -> id of each of `texts`, creating the ones the database lacks: the most
        repeated first, so a chart's countries and categories get the one-byte ids."""
        counts = Counter(texts)
        wanted = set(counts)
        self._read_texts([t for t in wanted if t not in self._id])
        new = sorted((t for t in wanted if t not in self._id), key=lambda t: (-counts[t], t))
        if new:
            # Another process may intern the same text meanwhile: a text is added only where
            # none is, one writer at a time (SQLite's write lock; PostgreSQL's, taken here),
            # so its row wins and ours is skipped.
            folded = self.folded
            with self._db.cursor(write=True) as cursor:
                if not self._db.is_sqlite:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (NAMES_LOCK,))
                cursor.executemany(
                    self._db.sql(
                        "INSERT INTO name (text, fold) SELECT ?, ? WHERE NOT EXISTS "
                        f"(SELECT 1 FROM name WHERE {folded} = ? AND text = ?)"
                    ),
                    [(t, stored_fold(t), t.casefold(), t) for t in new],
                )
            self._read_texts(new)
        return {t: self._id[t] for t in wanted}

    def kind_id(self, source: str, metric: str) -> int:
        found = self._kinds.get((source, metric))
        if found is None:
            with self._db.cursor(write=True) as cursor:
                cursor.execute(
                    self._db.sql(
                        "INSERT INTO kind (source, metric) VALUES (?, ?) "
                        "ON CONFLICT (source, metric) DO NOTHING"
                    ),
                    (source, metric),
                )
            self.kinds()
            found = self._kinds[(source, metric)]
        return found

    # -- coding -----------------------------------------------------------------------------
    def key_blob(self, key: str, ids: Mapping[str, int]) -> bytes:
        return pack(ids[part] for part in key.split(KEY_SEPARATOR))

    def key(self, ids: Sequence[int]) -> str:
        """The key of a key blob's ids (`unpack`), their texts cached (`texts`)."""
        texts = self._text
        return KEY_SEPARATOR.join([texts[i] for i in ids])

    def labels(self, ids: Sequence[int], key: Sequence[int]) -> dict[str, str]:
        """The labels of a labels blob's ids and its key blob's (`unpack`), their texts
        cached (`texts`)."""
        if not ids:
            return {}
        texts = self._text
        reading = self._layouts.get(ids[0])
        if reading is None:
            reading = self._layouts[ids[0]] = _reading(texts[ids[0]])
        width, places = reading
        if len(ids) != width:
            raise ValueError(f"a labels blob of {len(ids)} ids for a layout of {width}")
        row = [*ids, *key]
        return {name: texts[row[at]] for name, at in places}

    # -- cache ------------------------------------------------------------------------------
    def _read_texts(self, texts: list[str], cursor: Any = None) -> None:
        if not texts:
            return
        if cursor is None:
            with self._db.cursor() as own:
                self._read_texts(texts, own)
                return
        if len(texts) > READ_ALL_AFTER:
            cursor.execute("SELECT id, text FROM name")
            self._remember(cursor.fetchall())
            return
        # By their casefolded text (the index there is): other texts that fold alike come
        # too, and are remembered all the same.
        folds = sorted({t.casefold() for t in texts})
        for at in range(0, len(folds), IN_LIST):
            chunk = folds[at : at + IN_LIST]
            placeholders = ", ".join("?" * len(chunk))
            cursor.execute(
                self._db.sql(f"SELECT id, text FROM name WHERE {self.folded} IN ({placeholders})"),
                chunk,
            )
            self._remember(cursor.fetchall())

    def _remember(self, rows: Iterable[tuple[int, str]]) -> None:
        for i, text in rows:
            self._text[int(i)] = text
            self._id[text] = int(i)
