"""Series rows without what they store twice or never read (migration 0008), on SQLite and
PostgreSQL: a label value that is a part of the key is referred to by the layout, not stored
again; `created` is gone. Every series upgrades and downgrades with all it holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import text

from tests.test_interned import SERIES as SHAPES_0007
from tests.test_interned import series_0006
from tests.test_schema import _differences
from tracker.collectors.base import Observation
from tracker.migrate import alembic_config, upgrade
from tracker.store import Database
from tracker.store.interned import coded, unpack
from tracker.store.series import SeriesInfo

T0 = int(datetime(2022, 4, 18, tzinfo=UTC).timestamp())

# (source, metric, key, subject, label, labels): the shapes of test_interned, and more.
SERIES: list[tuple[str, str, str, str, str, dict[str, str]]] = [
    *SHAPES_0007,
    # A value equal to an empty key part; one equal to a part that comes twice (the first).
    ("web", "score", "x||x|y", "Ex", "Ex", {"blank": "", "dup": "x", "other": "y"}),
    # Every value a key part; a value holding the separator (stored: no part is it).
    ("web", "rank", "a|b", "Ab", "Ab", {"first": "a", "whole": "a|b", "last": "b"}),
    # Non-ASCII values, one of them the key part, one the handle.
    ("wikipedia", "edits", "fr:Éloïse", "Éloïse", "Éloïse Ü",
     {"page": "fr:Éloïse", "by": "Éloïse Ü"}),
    # Key parts that are the texts of 0007's names list and 0008's layout of this series: the
    # conversions must not delete them from `name`.
    ("web", "list", '["list"]|{"list":2}|GB', "Lists", "Lists", {"list": "GB"}),
]  # fmt: skip
# A chunk of the migrations and more: chart series sharing one layout, ids past one byte.
MANY = 5_050


def _many() -> list[tuple[str, str, str, str, str, dict[str, str]]]:
    return [
        (
            "netflix",
            "chart_rank",
            f"Show {i}|Season {i % 3}|C{i % 40}|TV",
            f"Show {i}",
            f"Show {i}",
            {"list": f"C{i % 40}", "category": "TV", "season": f"Season {i % 3}", "n": str(i)},
        )
        for i in range(MANY)
    ]


def _fill_0007(store: Database, series: list[Any]) -> None:
    """`series` as revision 0007 holds them: written as text at 0006, converted by 0007."""
    upgrade(store.engine, "0006")
    with store.engine.begin() as conn:
        series_0006(conn, series)
    upgrade(store.engine, "0007")


def _expected(series: list[Any]) -> list[SeriesInfo]:
    return [SeriesInfo(i + 1, *row) for i, row in enumerate(series)]


def _texts(store: Database) -> dict[int, str]:
    with store.engine.connect() as conn:
        return {int(i): t for i, t in conn.execute(text("SELECT id, text FROM name"))}


def _rows_0007(store: Database) -> list[tuple[Any, ...]]:
    """Each series row of 0007 with its labels blob decoded as 0007 wrote it."""
    texts = _texts(store)
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, kind, key, subject, label, labels, created FROM series ORDER BY id")
        ).all()
    out = []
    for sid, kind, key, subject, label, blob, created in rows:
        labels: dict[str, str] = {}
        if blob:
            first, *values = unpack(bytes(blob))
            names = json.loads(texts[first])
            assert isinstance(names, list) and names == sorted(names)
            labels = dict(zip(names, (texts[v] for v in values), strict=True))
        out.append((sid, kind, bytes(key), subject, label, labels, created))
    return out


def _check_lean(store: Database, series: list[Any]) -> None:
    """Each row holds what `coded` writes for its key and labels, and no `created`."""
    texts = _texts(store)
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM series ORDER BY id")).mappings().all()
    assert "created" not in rows[0]
    for row, (_, _, key, _, _, labels) in zip(rows, series, strict=True):
        parts, stored = coded(key, labels)
        assert [texts[i] for i in unpack(bytes(row["key"]))] == parts
        assert [texts[i] for i in unpack(bytes(row["labels"]))] == stored


def test_an_upgrade_keeps_every_series_and_stores_a_key_part_once(database_url: str) -> None:
    store = Database.open(database_url)
    try:
        _fill_0007(store, SERIES)
        assert {'["list"]', '["category","list","season"]'} <= set(_texts(store).values())
        store.upgrade()
        assert store.find_series() == _expected(SERIES)
        _check_lean(store, SERIES)
        assert _differences(store) == []  # the table rebuilt with its indexes and constraint
        names = set(_texts(store).values())
        assert '["list"]' in names  # a key part still, though no labels' names list now
        assert {t for t in names if t.startswith("[")} == {'["list"]'}  # the lists unused, gone
        # The netflix country series: a layout, then the one value its key does not hold.
        texts = _texts(store)
        with store.engine.connect() as conn:
            blob = conn.execute(text("SELECT labels FROM series WHERE id = 1")).scalar_one()
        first, *rest = unpack(bytes(blob))
        assert texts[first] == '{"category":3,"country":null,"list":2,"season":1}'
        assert [texts[i] for i in rest] == ["United Kingdom"]
        # A label filter finds a value in the key as in the labels, under its own name only.
        assert [s.id for s in store.find_series(None, labels={"list": "GB"})] == [1, 9]
        uk = {"country": "United Kingdom"}
        assert [s.id for s in store.find_series(None, labels=uk)] == [1]
        assert [s.id for s in store.find_series(None, labels={"dup": "x", "blank": ""})] == [6]
        assert store.find_series(None, labels={"other": "x"}) == []
        assert [s.id for s in store.find_series("éloïse", labels={"by": "Éloïse Ü"})] == [8]
        # Writing to a converted series finds it; a new one of the same shape shares its layout.
        src, met, key, subj, label, labels = SERIES[0]
        at = datetime.fromtimestamp(T0, UTC)
        week = timedelta(weeks=1)
        other = {**labels, "list": "DE", "country": "Germany"}
        store.write(
            src,
            [
                Observation(met, key, 2, at, subj, label, labels, week),
                Observation(met, key.replace("GB", "DE"), 3, at, subj, label, other, week),
            ],
        )
        found = store.find_series(subj, src, met)
        assert [s.id for s in found] == [1, len(SERIES) + 1]
        assert found[1].labels == other
        with store.engine.connect() as conn:
            blobs = conn.execute(text("SELECT labels FROM series WHERE id IN (1, 10)")).scalars()
            assert len({unpack(bytes(b))[0] for b in blobs}) == 1
    finally:
        store.close()


def test_a_downgrade_writes_back_what_0007_held(database_url: str) -> None:
    store = Database.open(database_url)
    try:
        _fill_0007(store, SERIES)
        before = _rows_0007(store)
        store.upgrade()
        command.downgrade(alembic_config(store.engine), "0007")
        # Ids of texts re-interned (the names lists) may differ; every row decodes the same,
        # and the creation time, not kept, is 0.
        assert _rows_0007(store) == [(*row[:-1], 0) for row in before]
        names = set(_texts(store).values())
        assert '{"list":2}' in names  # a key part, though no layout now
        assert not any(t.startswith('{"category"') for t in names)  # 0008's layouts
        store.upgrade()
        assert store.find_series() == _expected(SERIES)
        _check_lean(store, SERIES)
    finally:
        store.close()


def test_series_past_a_chunk_convert_both_ways(database_url: str) -> None:
    store = Database.open(database_url)
    many = _many()
    try:
        _fill_0007(store, many)
        before = _rows_0007(store)
        store.upgrade()
        assert store.find_series() == _expected(many)
        _check_lean(store, many)
        command.downgrade(alembic_config(store.engine), "0007")
        assert _rows_0007(store) == [(*row[:-1], 0) for row in before]
    finally:
        store.close()


def test_the_metric_of_most_new_series_gets_the_smallest_kind_id(store: Database) -> None:
    # A kind id of 1 takes no byte of a SQLite record: the chart's main metric gets it, by
    # count and then name, never by a set's order.
    at = datetime.fromtimestamp(T0, UTC)
    store.write(
        "netflix",
        [Observation("views", "a", 1, at, "A"), Observation("hours_viewed", "a", 1, at, "A")]
        + [Observation("chart_rank", f"s{i}", 1, at, f"S{i}") for i in range(3)],
    )
    with store.engine.connect() as conn:
        kinds = conn.execute(text("SELECT metric FROM kind ORDER BY id")).scalars().all()
    assert kinds == ["chart_rank", "hours_viewed", "views"]
