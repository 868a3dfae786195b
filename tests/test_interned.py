"""Series texts stored once (migration 0007), on SQLite and PostgreSQL: a database of the
schema before upgrades with every series and value kept, and downgrades back to text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from tracker.collectors.base import Observation
from tracker.migrate import alembic_config, upgrade
from tracker.store import Database
from tracker.store.interned import pack, unpack
from tracker.store.series import SeriesInfo

T0 = int(datetime(2022, 4, 18, tzinfo=UTC).timestamp())
WEEK = 604_800

# (source, metric, key, subject, label, labels): every shape a series takes.
SERIES = [
    # A chart: a key of `|`-parts, labels, the handle the subject.
    (
        "netflix",
        "chart_rank",
        "Heartstopper|Heartstopper: Season 1|GB|TV",
        "Heartstopper",
        "Heartstopper",
        {
            "list": "GB",
            "category": "TV",
            "season": "Heartstopper: Season 1",
            "country": "United Kingdom",
        },
    ),
    (
        "netflix",
        "hours_viewed",
        "Heartstopper|Heartstopper: Season 1|global|TV",
        "Heartstopper",
        "Heartstopper",
        {"list": "global", "category": "TV", "season": "Heartstopper: Season 1"},
    ),
    # An account: a handle apart from the subject, no labels.
    ("bluesky", "followers", "did:plc:kit", "Kit Connor", "kitconnor.bsky.social", {}),
    # No handle at all, non-ASCII text, an empty key part.
    ("wikipedia", "pageviews", "de:Jürgen_Straße||x", "Jürgen Straße", "", {"lang": "de"}),
    # The same key under another source; a label value that is also a subject.
    (
        "youtube",
        "views",
        "did:plc:kit",
        "Heartstopper",
        "Heartstopper Clips",
        {"channel": "Kit Connor", "empty": ""},
    ),
]
# (series index, ts, value, period, sig, flags) of each.
POINTS = [
    (0, T0, 3, WEEK, None, None),
    (0, T0 + WEEK, 1, WEEK, None, 1),
    (1, T0, 14_400_000, WEEK, 3, None),
    (2, T0 + 3600, 1_280_000, None, 3, 2),
    (2, T0 + 7200, 1_290_000, None, None, None),
    (3, T0, 5, 86_400, None, None),
    (4, T0, 10**15, None, None, 3),
]


def _expected() -> list[SeriesInfo]:
    return [
        SeriesInfo(i + 1, src, met, key, subj, label, labels)
        for i, (src, met, key, subj, label, labels) in enumerate(SERIES)
    ]


def series_0006(conn: Any, series: list[Any]) -> None:
    """`series` (SERIES' shape) as the schema of revision 0006 held them: text per series,
    ids 1, 2, ... and creation times T0, T0 + 1, ..."""
    conn.execute(
        text(
            "INSERT INTO series (id, source, metric, key, subject, label, labels, "
            "created, subject_key, label_key) VALUES (:id, :src, :met, :key, :subj, "
            ":label, :labels, :created, :sk, :lk)"
        ),
        [
            {
                "id": i + 1, "src": src, "met": met, "key": key, "subj": subj,
                "label": label, "labels": json.dumps(labels, sort_keys=True),
                "created": T0 + i, "sk": subj.casefold(), "lk": label.casefold(),
            }
            for i, (src, met, key, subj, label, labels) in enumerate(series)
        ],
    )  # fmt: skip
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT setval('series_id_seq', :n)"), {"n": len(series)})


def _fill_0006(store: Database) -> None:
    """The series and points as the schema of revision 0006 held them: text per series."""
    with store.engine.begin() as conn:
        series_0006(conn, SERIES)
        for i, ts, value, period, sig, flags in POINTS:
            conn.execute(
                text(
                    "INSERT INTO snapshot (series_id, ts, value, period, sig, flags) "
                    "VALUES (:sid, :ts, :value, :period, :sig, :flags)"
                ),
                {"sid": i + 1, "ts": ts, "value": value, "period": period, "sig": sig,
                 "flags": flags},
            )  # fmt: skip


def _points(store: Database, series_id: int) -> list[tuple[object, ...]]:
    return [tuple(p) for p in store.points(series_id)]


def _check_all_kept(store: Database) -> None:
    assert store.find_series() == _expected()
    for i, info in enumerate(_expected()):
        want = [(ts, v, p, s, f) for n, ts, v, p, s, f in POINTS if n == i]
        assert _points(store, info.id) == want, info
    # Found by name, handle and platform id, as before.
    assert [s.id for s in store.find_series("HEARTSTOPPER")] == [1, 2, 5]
    assert [s.id for s in store.series_named("KitConnor.bsky.social")] == [3]
    assert [s.id for s in store.series_named("jürgen strasse")] == [4]
    assert [s.id for s in store.series_named("did:plc:kit", "bluesky")] == [3]
    assert [s.id for s in store.find_series(None, "netflix", labels={"list": "GB"})] == [1]
    # A label filter matches the value under its own name only, and an unknown value nothing.
    assert [s.id for s in store.find_series(None, labels={"channel": "Kit Connor"})] == [5]
    assert store.find_series(None, labels={"empty": "Kit Connor"}) == []
    assert store.find_series(None, labels={"list": "Atlantis"}) == []


def test_an_existing_database_upgrades_with_every_series_and_value_kept(
    database_url: str,
) -> None:
    store = Database.open(database_url)
    try:
        upgrade(store.engine, "0006")
        _fill_0006(store)
        upgrade(store.engine, "0007")
        with store.engine.connect() as conn:
            created = conn.execute(text("SELECT created FROM series ORDER BY id")).scalars()
            assert list(created) == [T0 + i for i in range(len(SERIES))]
        store.upgrade()
        _check_all_kept(store)
        # Writing to a converted series finds it (no second series); a new one gets a new id.
        src, met, key, subj, label, labels = SERIES[0]
        at = datetime.fromtimestamp(T0 + 2 * WEEK, UTC)
        new = Observation(met, key, 2, at, subj, label, labels, timedelta(weeks=1))
        assert store.write(src, [new, Observation("views", "v2", 1, at, "Other")]) == 2
        assert [s.id for s in store.find_series()] == [1, 2, 3, 4, 5, 6]
        assert _points(store, 1)[-1] == (T0 + 2 * WEEK, 2, WEEK, None, None)
    finally:
        store.close()


def test_a_downgrade_writes_the_series_back_as_text(database_url: str) -> None:
    store = Database.open(database_url)
    try:
        upgrade(store.engine, "0006")
        _fill_0006(store)
        upgrade(store.engine, "0007")
        command.downgrade(alembic_config(store.engine), "0006")
        with store.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, source, metric, key, subject, label, labels, created, "
                    "subject_key, label_key FROM series ORDER BY id"
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            (i + 1, src, met, key, subj, label, json.dumps(labels, sort_keys=True), T0 + i,
             subj.casefold(), label.casefold())
            for i, (src, met, key, subj, label, labels) in enumerate(SERIES)
        ]  # fmt: skip
        store.upgrade()
        _check_all_kept(store)
    finally:
        store.close()


def test_a_series_row_holds_ids_and_each_text_is_stored_once(store: Database) -> None:
    at = datetime.fromtimestamp(T0, UTC)
    labels = {"list": "GB", "category": "TV"}
    store.write(
        "netflix",
        [
            Observation(m, f"Show {i}|GB|TV", 1, at, f"Show {i}", f"Show {i}", labels)
            for i in range(3)
            for m in ("chart_rank", "hours_viewed")
        ],
    )
    with store.engine.connect() as conn:
        names = [r[0] for r in conn.execute(text("SELECT text FROM name"))]
        rows = conn.execute(text("SELECT key, label, labels FROM series")).all()
    assert sorted(names) == sorted(
        ["GB", "TV", '{"category":2,"list":1}', "Show 0", "Show 1", "Show 2"]
    )
    assert len(rows) == 6
    assert all(label is None for _, label, _ in rows)  # the handle is the subject
    # The labels are the layout alone: both values are parts of the key (0008).
    assert all(len(unpack(bytes(key))) == 3 and len(unpack(bytes(b))) == 1 for key, _, b in rows)


@pytest.mark.parametrize("ids", [[], [0], [1, 127, 128, 16_383, 16_384, 2**40]])
def test_packed_ids_come_back(ids: list[int]) -> None:
    assert unpack(pack(ids)) == ids
    assert len(pack([127])) == 1 and len(pack([16_383])) == 2
