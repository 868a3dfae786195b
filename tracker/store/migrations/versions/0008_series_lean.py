"""Series rows without what they stored twice or never read.

A labels blob held the id of the label names' sorted JSON list, then each value's id: three of
a Netflix country series' four values (category, chart code, season) are parts of its key too,
so their ids were stored twice. Now the first id is the series' *layout*, a JSON object of the
sorted names each mapped to the index of the key part its value equals (the first, if several
do) or to null, and only the null ones' values follow (`tracker.store.interned`). And
`series.created` was written and never read: dropped. On the real Netflix import, ~36 B a
series became ~25 B (13.9 -> 9.9 B a sample).

Every series keeps its id, kind, key, subject, handle and labels; a names list or layout text
no series refers to any more is deleted from `name`. `downgrade` writes the labels back as
0007 held them and recreates `created` as 0 for every series (the column's default, which
fills the rows there are): the creation times were not kept, and nothing read them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_CHUNK = 5_000
_SERIES = sa.text(
    "SELECT id, key, subject, label, labels FROM series WHERE id > :last ORDER BY id LIMIT :n"
)
_UPDATE = sa.text("UPDATE series SET labels = :labels WHERE id = :id")


def upgrade() -> None:
    # In batch: SQLite before 3.35 has no DROP COLUMN; the table is copied instead.
    with op.batch_alter_table("series") as batch:
        batch.drop_column("created")
    _convert(_lean)


def downgrade() -> None:
    op.add_column(
        "series",
        sa.Column("created", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    )
    _convert(_full)


# The format, frozen here (`tracker.store.interned` may move on).
def _pack(ids: Iterable[int]) -> bytes:
    """Non-negative integers as LEB128 varints."""
    out = bytearray()
    for n in ids:
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
    return bytes(out)


def _unpack(blob: bytes) -> list[int]:
    """The integers `_pack` wrote."""
    found: list[int] = []
    n = shift = 0
    for byte in blob:
        if byte < 0x80:
            found.append(n | byte << shift)
            n = shift = 0
        else:
            n |= (byte & 0x7F) << shift
            shift += 7
    return found


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Texts:
    """Texts of `name` by id and ids by text, read once each; a text missing is interned."""

    def __init__(self, bind: sa.Connection) -> None:
        self._bind = bind
        self._text: dict[int, str] = {}
        self._id: dict[str, int] = {}

    def text(self, i: int) -> str:
        found = self._text.get(i)
        if found is None:
            found = self._text[i] = self._bind.execute(
                sa.text("SELECT text FROM name WHERE id = :id"), {"id": i}
            ).scalar_one()
        return found

    def id(self, text: str) -> int:
        found = self._id.get(text)
        if found is None:
            select = sa.text("SELECT id FROM name WHERE text = :text")
            found = self._bind.execute(select, {"text": text}).scalar()
            if found is None:
                self._bind.execute(
                    sa.text("INSERT INTO name (text, fold) VALUES (:text, :fold)"),
                    {"text": text, "fold": text.casefold()},
                )
                found = self._bind.execute(select, {"text": text}).scalar_one()
            self._id[text] = found = int(found)
        return found


def _lean(ids: list[int], key: list[int], texts: _Texts) -> list[int]:
    """0007's labels ids (names list, each value) -> the layout's, then the values the key
    does not hold. Ids compare as their texts do: `name.text` is unique."""
    names = json.loads(texts.text(ids[0]))
    at = [key.index(v) if v in key else None for v in ids[1:]]
    layout = texts.id(_json(dict(zip(names, at, strict=True))))
    return [layout, *[v for v, i in zip(ids[1:], at, strict=True) if i is None]]


def _full(ids: list[int], key: list[int], texts: _Texts) -> list[int]:
    """The layout's labels ids -> 0007's: the sorted names list's, then every value."""
    layout: dict[str, int | None] = json.loads(texts.text(ids[0]))
    stored = iter(ids[1:])
    values = {name: next(stored) if i is None else key[i] for name, i in layout.items()}
    names = sorted(values)
    return [texts.id(_json(names)), *[values[n] for n in names]]


def _convert(recode: Callable[[list[int], list[int], _Texts], list[int]]) -> None:
    """Rewrite every labels blob with `recode`, in chunks of series; then delete the first
    texts (names lists, layouts) that no series refers to any more."""
    bind = op.get_bind()
    texts = _Texts(bind)
    firsts_before: set[int] = set()
    firsts_after: set[int] = set()
    used: set[int] = set()  # every other id a series holds
    last = 0
    while True:
        rows = bind.execute(_SERIES, {"last": last, "n": _CHUNK}).all()
        if not rows:
            break
        out = []
        for sid, key, subject, label, blob in rows:
            key_ids = _unpack(bytes(key))
            used.update(key_ids)
            used.add(subject)
            if label is not None:
                used.add(label)
            if blob:
                ids = _unpack(bytes(blob))
                new = recode(ids, key_ids, texts)
                firsts_before.add(ids[0])
                firsts_after.add(new[0])
                used.update(new[1:])
                out.append({"id": sid, "labels": _pack(new)})
        if out:
            bind.execute(_UPDATE, out)
        last = rows[-1][0]
    gone = sorted(firsts_before - firsts_after - used)
    for at in range(0, len(gone), 500):
        bind.execute(
            sa.text("DELETE FROM name WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": gone[at : at + 500]},
        )
