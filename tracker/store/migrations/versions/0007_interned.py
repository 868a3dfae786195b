"""Series texts stored once: `name` and `kind` tables, series rows of ids.

A series row held its source, metric, key, subject, handle, their casefolded copies and its
labels as JSON, all text: 229 B a series, 88.9 B of the 155 B per sample of the real Netflix
import. Now each text is one `name` row (the text and its casefolded key, indexed), a source
and metric one `kind` row, and a series row holds their ids: the key and labels as
varint-packed lists (`tracker.store.interned`), the handle NULL when it is the subject.

Every series keeps its id (the snapshot rows refer to it), its key, subject, handle, labels
and creation time; `downgrade` writes them back as text.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from alembic import op

from tracker.bounds import MAX_KEY, MAX_LABEL, MAX_METRIC, MAX_SOURCE, MAX_SUBJECT

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_CHUNK = 5_000
# The format this revision writes, frozen here (`tracker.store.interned` moves on: 0008).
KEY_SEPARATOR = "|"


def label_names(labels: dict[str, str]) -> str:
    """A labels blob's first text: the sorted names as a JSON list."""
    return json.dumps(sorted(labels), ensure_ascii=False, separators=(",", ":"))


def pack(ids: Iterable[int]) -> bytes:
    """Non-negative integers as LEB128 varints."""
    out = bytearray()
    for n in ids:
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
    return bytes(out)


def unpack(blob: bytes) -> list[int]:
    """The integers `pack` wrote."""
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


_old = sa.table(
    "series_old",
    sa.column("id", sa.Integer),
    sa.column("source", sa.String),
    sa.column("metric", sa.String),
    sa.column("key", sa.String),
    sa.column("subject", sa.String),
    sa.column("label", sa.String),
    sa.column("labels", sa.String),
    sa.column("created", sa.BigInteger),
)
_new = sa.table(
    "series",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.Integer),
    sa.column("key", sa.LargeBinary),
    sa.column("subject", sa.Integer),
    sa.column("label", sa.Integer),
    sa.column("labels", sa.LargeBinary),
    sa.column("created", sa.BigInteger),
)
_name = sa.table("name", sa.column("id", sa.Integer), sa.column("text"), sa.column("fold"))
_kind = sa.table("kind", sa.column("id", sa.Integer), sa.column("source"), sa.column("metric"))


def upgrade() -> None:
    op.create_table(
        "name",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.String, nullable=False),
        sa.Column("fold", sa.String, nullable=False),
        sa.UniqueConstraint("text", name="uq_name_text"),
    )
    op.create_index("ix_name_fold", "name", ["fold"])
    op.create_table(
        "kind",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(MAX_SOURCE), nullable=False),
        sa.Column("metric", sa.String(MAX_METRIC), nullable=False),
        sa.UniqueConstraint("source", "metric", name="uq_kind"),
    )
    op.drop_index("ix_series_subject_key", "series")
    op.drop_index("ix_series_label_key", "series")
    _set_aside("series_old")
    _create_new()
    _convert_up(_new)
    op.drop_table("series_old")
    op.create_index("ix_series_subject", "series", ["subject"])
    op.create_index(
        "ix_series_label",
        "series",
        ["label"],
        sqlite_where=sa.text("label IS NOT NULL"),
        postgresql_where=sa.text("label IS NOT NULL"),
    )
    _restart_ids("name", "kind", "series")


def _create_new() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.Integer, nullable=False),
        sa.Column("key", sa.LargeBinary, nullable=False),
        sa.Column("subject", sa.Integer, nullable=False),
        sa.Column("label", sa.Integer, nullable=True),
        sa.Column("labels", sa.LargeBinary, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("kind", "key", name="uq_series_identity"),
    )


# The statements that rename the table `series` to each name it is set aside as: PostgreSQL
# names sequences, primary keys and unique constraints schema-wide.
_ASIDE = {
    "series_old": (
        "ALTER SEQUENCE series_id_seq RENAME TO series_old_id_seq",
        "ALTER INDEX series_pkey RENAME TO series_old_pkey",
        "ALTER TABLE series_old RENAME CONSTRAINT uq_series_identity TO series_old_identity",
    ),
    "series_new": (
        "ALTER SEQUENCE series_id_seq RENAME TO series_new_id_seq",
        "ALTER INDEX series_pkey RENAME TO series_new_pkey",
        "ALTER TABLE series_new RENAME CONSTRAINT uq_series_identity TO series_new_identity",
    ),
}
# Rows were written with their ids: PostgreSQL's sequences go on after the highest.
_RESTART = {
    "name": "SELECT setval('name_id_seq', COALESCE((SELECT max(id) FROM name), 0) + 1, false)",
    "kind": "SELECT setval('kind_id_seq', COALESCE((SELECT max(id) FROM kind), 0) + 1, false)",
    "series": (
        "SELECT setval('series_id_seq', COALESCE((SELECT max(id) FROM series), 0) + 1, false)"
    ),
}


def _set_aside(aside: str) -> None:
    """Rename `series` out of the way, with the names PostgreSQL keeps schema-wide."""
    op.rename_table("series", aside)
    if op.get_bind().dialect.name == "postgresql":
        for statement in _ASIDE[aside]:
            op.execute(statement)


def _restart_ids(*tables: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            op.execute(_RESTART[table])


class _Interner:
    """Ids for texts and kinds, given in order and written as they are made."""

    def __init__(self) -> None:
        self.names: dict[str, int] = {}
        self.kinds: dict[tuple[str, str], int] = {}
        self._new_names: list[dict[str, Any]] = []
        self._new_kinds: list[dict[str, Any]] = []

    def name(self, text: str) -> int:
        found = self.names.get(text)
        if found is None:
            found = self.names[text] = len(self.names) + 1
            self._new_names.append({"id": found, "text": text, "fold": text.casefold()})
        return found

    def kind(self, source: str, metric: str) -> int:
        found = self.kinds.get((source, metric))
        if found is None:
            found = self.kinds[(source, metric)] = len(self.kinds) + 1
            self._new_kinds.append({"id": found, "source": source, "metric": metric})
        return found

    def flush(self, bind: sa.Connection) -> None:
        if self._new_names:
            bind.execute(_name.insert(), self._new_names)
        if self._new_kinds:
            bind.execute(_kind.insert(), self._new_kinds)
        self._new_names, self._new_kinds = [], []


def _convert_up(new: sa.TableClause) -> None:
    bind = op.get_bind()
    interner = _Interner()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(_old).where(_old.c.id > last).order_by(_old.c.id).limit(_CHUNK)
        ).all()
        if not rows:
            return
        out = []
        for sid, source, metric, key, subject, label, labels_json, created in rows:
            labels = {str(k): str(v) for k, v in json.loads(labels_json or "{}").items()}
            names = [label_names(labels), *(labels[n] for n in sorted(labels))] if labels else []
            blob = pack(interner.name(n) for n in names)
            out.append(
                {
                    "id": sid,
                    "kind": interner.kind(source, metric),
                    "key": pack(interner.name(p) for p in key.split(KEY_SEPARATOR)),
                    "subject": interner.name(subject),
                    "label": None if label == subject else interner.name(label),
                    "labels": blob,
                    "created": created,
                }
            )
        interner.flush(bind)
        bind.execute(new.insert(), out)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_series_label", "series")
    op.drop_index("ix_series_subject", "series")
    _set_aside("series_new")
    op.create_table(
        "series",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(MAX_SOURCE), nullable=False),
        sa.Column("metric", sa.String(MAX_METRIC), nullable=False),
        sa.Column("key", sa.String(MAX_KEY), nullable=False),
        sa.Column("subject", sa.String(MAX_SUBJECT), nullable=False),
        sa.Column("label", sa.String(MAX_LABEL), nullable=False),
        sa.Column("labels", sa.String, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("subject_key", sa.String(MAX_SUBJECT), nullable=False),
        sa.Column("label_key", sa.String(MAX_LABEL), nullable=False),
        sa.UniqueConstraint("source", "metric", "key", name="uq_series_identity"),
    )
    _convert_down()
    op.drop_table("series_new")
    op.drop_table("name")
    op.drop_table("kind")
    op.create_index("ix_series_subject_key", "series", ["subject_key"])
    op.create_index("ix_series_label_key", "series", ["label_key"])
    _restart_ids("series")


def _convert_down() -> None:
    bind = op.get_bind()
    texts = {int(i): t for i, t in bind.execute(sa.select(_name.c.id, _name.c.text))}
    kinds = {int(i): (s, m) for i, s, m in bind.execute(sa.select(_kind))}
    old = sa.table("series", *(sa.column(c) for c in (*_old.c.keys(), "subject_key", "label_key")))
    new = sa.table("series_new", *(sa.column(c.name) for c in _new.c))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(new).where(new.c.id > last).order_by(new.c.id).limit(_CHUNK)
        ).all()
        if not rows:
            return
        out = []
        for sid, kid, key, subject, label, blob, created in rows:
            source, metric = kinds[kid]
            who = texts[subject]
            handle = who if label is None else texts[label]
            labels: dict[str, str] = {}
            if blob:
                first, *values = unpack(bytes(blob))
                labels = dict(
                    zip(json.loads(texts[first]), (texts[v] for v in values), strict=True)
                )
            out.append(
                {
                    "id": sid,
                    "source": source,
                    "metric": metric,
                    "key": KEY_SEPARATOR.join(texts[i] for i in unpack(bytes(key))),
                    "subject": who,
                    "label": handle,
                    "labels": json.dumps(labels, sort_keys=True, ensure_ascii=False),
                    "created": created,
                    "subject_key": who.casefold(),
                    "label_key": handle.casefold(),
                }
            )
        bind.execute(old.insert(), out)
        last = rows[-1][0]
