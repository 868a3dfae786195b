"""Snapshot rows in days and with the figures in `flags` (migration 0009), on SQLite and
PostgreSQL: every read gives the rows it gave before, the migration converts both ways, and
a period that is not whole days is refused, never rounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from tracker.bounds import MAX_SIG
from tracker.core import Observation, Sudden, unstorable
from tracker.errors import StoreError, StoreRefused
from tracker.migrate import alembic_config, current, upgrade
from tracker.store import BACKFILLED, Database
from tracker.store.models import SUDDEN

T0 = int(datetime(2022, 4, 18, tzinfo=UTC).timestamp())
DAY, WEEK = 86_400, 604_800
AT = datetime.fromtimestamp(T0, UTC)

# (series, ts, value, period, sig, flags) as the columns before 0009 held them: every
# combination of a period (none, a day, a week, 28 days), figures and flags.
OLD = [
    (1, T0, 3, WEEK, None, None),
    (1, T0 + WEEK, 1, WEEK, None, BACKFILLED),
    (1, T0 + 2 * WEEK, 2, WEEK, 3, SUDDEN),
    (1, T0 + 3 * WEEK, 9, WEEK, 2, BACKFILLED | SUDDEN),
    (2, T0, 1_280_000, None, 3, None),
    (2, T0 + 3600, 1_290_000, None, None, None),
    (2, T0 + 7200, 10**15, None, MAX_SIG, 3),
    (2, T0 + 10_800, 5, None, 1, 0),  # flags 0: no flag (reads back as None, as NULL does)
    (3, T0, 5, DAY, None, None),
    (3, T0 + DAY, 6, 28 * DAY, 19, BACKFILLED),
    (3, T0 + 2 * DAY, 7, None, None, SUDDEN),
]


def _read(row: tuple[int, int, int, int | None, int | None, int | None]) -> tuple[object, ...]:
    """What the store gives for an old row: flags 0 and NULL alike are None (no flag)."""
    _, ts, value, period, sig, flags = row
    return (ts, value, period, sig, flags or None)


def _before_0009(store: Database) -> str:
    """Three series and OLD as the schema of revision 0007 held them, brought to the revision
    0009 follows (0007 itself, or what migrations came between); that revision."""
    upgrade(store.engine, "0007")
    _fill_0007(store)
    config = alembic_config(store.engine)
    before = ScriptDirectory.from_config(config).get_revision("0009").down_revision
    assert isinstance(before, str)
    upgrade(store.engine, before)
    return before


def _fill_0007(store: Database) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO kind (id, source, metric) VALUES (1, 'x', 'm')"))
        for nid, name in ((1, "S"), (2, "k2"), (3, "k3")):  # the subject, the keys' texts
            conn.execute(
                text("INSERT INTO name (id, text, fold) VALUES (:id, :text, :text)"),
                {"id": nid, "text": name.lower()},
            )
        for sid in (1, 2, 3):
            conn.execute(
                text(
                    "INSERT INTO series (id, kind, key, subject, label, labels, created) "
                    "VALUES (:id, 1, :key, 1, NULL, :labels, 0)"
                ),
                {"id": sid, "key": bytes([sid]), "labels": b""},
            )
        conn.execute(
            text(
                "INSERT INTO snapshot (series_id, ts, value, period, sig, flags) "
                "VALUES (:sid, :ts, :value, :period, :sig, :flags)"
            ),
            [
                dict(zip(("sid", "ts", "value", "period", "sig", "flags"), r, strict=True))
                for r in OLD
            ],
        )


def _snapshot_rows(store: Database, columns: str) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(text("SELECT " + columns + " FROM snapshot ORDER BY 1, 2"))
        ]


def _check_reads(store: Database) -> None:
    """Every read of the store gives what the old columns said."""
    for sid in (1, 2, 3):
        assert [tuple(p) for p in store.points(sid)] == [_read(r) for r in OLD if r[0] == sid]
    assert store.alert_history([1, 2, 3]) == {
        sid: [_read(r) for r in OLD if r[0] == sid] for sid in (1, 2, 3)
    }
    assert store.alert_latest([1, 2, 3], T0 + DAY) == {
        1: _read(OLD[0]), 2: _read(OLD[7]), 3: _read(OLD[9])
    }  # fmt: skip
    assert store.latest_values() == [
        (1, T0 + 3 * WEEK, 9, WEEK), (2, T0 + 10_800, 5, None), (3, T0 + 2 * DAY, 7, None)
    ]  # fmt: skip
    assert [tuple(r) for r in store.sudden(T0)] == [
        (1, T0 + 3 * WEEK, 9), (1, T0 + 2 * WEEK, 2), (3, T0 + 2 * DAY, 7), (2, T0 + 7200, 10**15)
    ]  # fmt: skip
    assert store.period_starts([1, 2, 3], WEEK) == [T0 + i * WEEK for i in range(4)]
    assert store.period_starts([1, 2, 3], DAY) == [T0]
    assert store.period_starts([1, 2, 3], 3600) == []
    tails = ("}", ',"b":1}', ',"s":1}', ',"b":1,"s":1}')
    assert store.point_objects(1, None, None, 0, 10, tails) == (
        4,
        f'{{"ts":{T0},"value":3,"period":{WEEK}}},'
        f'{{"ts":{T0 + WEEK},"value":1,"period":{WEEK},"b":1}},'
        f'{{"ts":{T0 + 2 * WEEK},"value":2,"period":{WEEK},"s":1}},'
        f'{{"ts":{T0 + 3 * WEEK},"value":9,"period":{WEEK},"b":1,"s":1}}',
    )
    assert store.point_objects(2, None, None, 0, 10, tails)[1] == (
        f'{{"ts":{T0},"value":1280000}},{{"ts":{T0 + 3600},"value":1290000}},'
        f'{{"ts":{T0 + 7200},"value":{10**15},"b":1,"s":1}},{{"ts":{T0 + 10_800},"value":5}}'
    )


def test_an_existing_database_upgrades_with_every_value_kept(database_url: str) -> None:
    store = Database.open(database_url)
    try:
        _before_0009(store)
        store.upgrade()
        assert _snapshot_rows(store, "series_id, ts, value, days, flags") == [
            (sid, ts, value, None if period is None else period // DAY,
             ((sig or 0) << 2 | (flags or 0)) or None)
            for sid, ts, value, period, sig, flags in OLD
        ]  # fmt: skip
        _check_reads(store)
        if store.is_sqlite:
            with store.engine.connect() as conn:
                sql = conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = 'snapshot'")
                ).scalar_one()
                plan = " ".join(
                    str(r[-1])
                    for r in conn.execute(
                        text("EXPLAIN QUERY PLAN SELECT ts FROM snapshot WHERE (flags & 2) != 0")
                    )
                )
            assert "WITHOUT ROWID" in sql and "ix_snapshot_sudden" in plan
    finally:
        store.close()


def test_a_downgrade_writes_the_columns_back(database_url: str) -> None:
    store = Database.open(database_url)
    try:
        before = _before_0009(store)
        store.upgrade()
        command.downgrade(alembic_config(store.engine), before)
        assert current(store.engine) == before
        assert _snapshot_rows(store, "series_id, ts, value, period, sig, flags") == [
            (*row[:5], row[5] or None) for row in OLD
        ]
        store.upgrade()
        _check_reads(store)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("period", "sig", "flags"),
    [(3600, None, None), (WEEK + 1, 3, None), (None, 0, None), (None, MAX_SIG + 1, None),
     (None, None, 4), (-3600, None, None)],
)  # fmt: skip
def test_a_row_the_new_columns_cannot_hold_stops_the_upgrade_and_changes_nothing(
    database_url: str, period: int | None, sig: int | None, flags: int | None
) -> None:
    store = Database.open(database_url)
    try:
        revision = _before_0009(store)
        with store.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO snapshot VALUES (3, :ts, 8, :period, :sig, :flags)"),
                {"ts": T0 + 9 * DAY, "period": period, "sig": sig, "flags": flags},
            )
        before = _snapshot_rows(store, "series_id, ts, value, period, sig, flags")
        with pytest.raises(StoreError, match=r"1 stored value\(s\) .* series 3 at") as caught:
            store.upgrade()
        assert f"period {period} s, sig {sig}, flags {flags}" in str(caught.value)
        assert "nothing was changed" in str(caught.value)
        store = Database.open(database_url)
        assert current(store.engine) == revision
        assert _snapshot_rows(store, "series_id, ts, value, period, sig, flags") == before
    finally:
        store.close()


def _obs(period: timedelta | None = None, sig: int | None = None, ts: int = T0) -> Observation:
    at = datetime.fromtimestamp(ts, UTC)
    return Observation("m", "k", 5, at, "S", period=period, sig=sig)


def test_a_period_not_of_whole_days_is_refused_never_rounded(store: Database) -> None:
    assert "not a whole number of days" in unstorable(_obs(timedelta(hours=1)))
    assert "not a whole number of days" in unstorable(_obs(timedelta(days=7, seconds=1)))
    assert unstorable(_obs(timedelta(days=28))) == ""
    assert unstorable(_obs(timedelta(0))) == ""
    # Any other writer (an importer) is refused by the store, before a series is made.
    with pytest.raises(StoreRefused, match="a period of 1:00:00 is not a whole number of days"):
        store.write("x", [_obs(timedelta(days=1)), _obs(timedelta(hours=1), ts=T0 + 1)])
    assert store.find_series() == [] and store.count() == 0


@pytest.mark.parametrize(("sig", "fits"), [(0, False), (1, True), (MAX_SIG, True),
                                           (MAX_SIG + 1, False), (-1, False)])  # fmt: skip
def test_significant_figures_the_flags_column_holds(sig: int, fits: bool) -> None:
    why = unstorable(_obs(sig=sig))
    assert (why == "") is fits, why
    assert fits or f"out of range (1 .. {MAX_SIG})" in why


def test_writes_store_days_and_flags_and_read_back_as_before(store: Database) -> None:
    week, day = timedelta(weeks=1), timedelta(days=1)
    rows = [
        Observation("m", "a", 5, AT, "S", period=week),
        Observation("m", "b", 5, AT, "S", period=day, sig=3),
        Observation("m", "c", 1_280_000, AT, "S", sig=MAX_SIG),
        Observation("m", "d", 7, AT, "S"),
    ]
    assert store.write("x", rows, flags=BACKFILLED) == 4
    # A jump beyond the factor: SUDDEN beside BACKFILLED and the figures.
    later = datetime.fromtimestamp(T0 + WEEK, UTC)
    jump = Observation("m", "b", 5000, later, "S", period=day, sig=2)
    assert store.write("x", [jump, Observation("m", "d", 8, later, "S")], sudden=Sudden(2, 1)) == 2
    assert [[tuple(p) for p in store.points(i)] for i in (1, 2, 3, 4)] == [
        [(T0, 5, WEEK, None, BACKFILLED)],
        [(T0, 5, DAY, 3, BACKFILLED), (T0 + WEEK, 5000, DAY, 2, SUDDEN)],
        [(T0, 1_280_000, None, MAX_SIG, BACKFILLED)],
        [(T0, 7, None, None, BACKFILLED), (T0 + WEEK, 8, None, None, None)],
    ]
    assert _snapshot_rows(store, "series_id, ts, days, flags") == [
        (1, T0, 7, 1),
        (2, T0, 1, 3 << 2 | 1),
        (2, T0 + WEEK, 1, 2 << 2 | 2),
        (3, T0, None, MAX_SIG << 2 | 1),
        (4, T0, None, 1),
        (4, T0 + WEEK, None, None),
    ]
    # Written again, with one new value: PostgreSQL's COPY fails on the rows already there and
    # its fallback writes the same stored columns.
    again = [*rows, Observation("m", "a", 6, later, "S", period=week, sig=4)]
    assert store.write("x", again, flags=BACKFILLED) == 1
    assert [tuple(p) for p in store.points(1)][-1] == (T0 + WEEK, 6, WEEK, 4, BACKFILLED)
    assert _snapshot_rows(store, "series_id, ts, days, flags")[1] == (1, T0 + WEEK, 7, 4 << 2 | 1)
    # Bits beyond the two flags are not kept: they would read as significant figures.
    at = datetime.fromtimestamp(T0 + 2 * WEEK, UTC)
    assert store.write("x", [Observation("m", "a", 7, at, "S", sig=2)], flags=4 | SUDDEN) == 1
    assert [tuple(p) for p in store.points(1)][-1] == (T0 + 2 * WEEK, 7, None, 2, SUDDEN)
    assert store.write("x", [Observation("m", "a", 8, at + timedelta(1), "S")], flags=4) == 1
    assert [tuple(p) for p in store.points(1)][-1] == (T0 + 2 * WEEK + DAY, 8, None, None, None)
