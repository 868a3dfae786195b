"""Names without a unique index on their text, folded by SQL where it can (migration 0010),
on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import text

from tracker.collectors.base import Observation
from tracker.migrate import alembic_config
from tracker.store import Database
from tracker.store.interned import stored_fold

T0 = datetime(2022, 4, 22, tzinfo=UTC)
# Subjects of every case: ASCII, non-ASCII upper and lower case, and folds beyond lower().
SUBJECTS = ["Kit Connor", "kit connor", "Jürgen Straße", "jürgen", "ÉLITE", "İstanbul", "ǅemal"]


@pytest.mark.parametrize(
    ("name", "fold"),
    [
        ("Kit Connor", None),  # ASCII: SQL's lower() folds it
        ("#Heartstopper", None),
        ("jürgen", None),  # lower case already: casefolding changes nothing lower() leaves
        ("Jürgen", None),  # only an ASCII letter to lower
        ("ÉLITE", "élite"),
        ("Straße", "strasse"),
        ("ǅemal", "ǆemal"),
    ],
)
def test_a_name_keeps_a_fold_only_where_sql_lower_would_miss_it(
    name: str, fold: str | None
) -> None:
    assert stored_fold(name) == fold


def _write(store: Database) -> None:
    store.write(
        "bluesky",
        [Observation("followers", f"k{i}", i, T0, s) for i, s in enumerate(SUBJECTS)],
    )


def _check_found(store: Database) -> None:
    for query, want in [
        ("KIT CONNOR", ["Kit Connor", "kit connor"]),
        ("JÜRGEN STRASSE", ["Jürgen Straße"]),
        ("JÜRGEN", ["jürgen"]),
        ("élite", ["ÉLITE"]),
        ("İSTANBUL", ["İstanbul"]),
        ("ǆemal", ["ǅemal"]),
    ]:
        assert sorted(s.subject for s in store.find_series(query)) == want, query
        assert sorted(s.subject for s in store.series_named(query)) == want, query


def _folds(store: Database) -> dict[str, str | None]:
    with store.engine.connect() as conn:
        return {str(t): f for t, f in conn.execute(text("SELECT text, fold FROM name"))}


def test_names_go_back_a_revision_and_come_back_folded_the_new_way(database_url: str) -> None:
    store = Database.open(database_url)
    try:
        store.upgrade()
        _write(store)
        command.downgrade(alembic_config(store.engine), "-1")  # before 0010
        folds = _folds(store)
        assert folds == {t: t.casefold() for t in folds}  # as before 0010, every name
        with store.engine.begin() as conn, pytest.raises(Exception, match="(?i)unique"):
            conn.execute(text("INSERT INTO name (text, fold) VALUES ('ÉLITE', 'élite')"))
        store.upgrade()
        assert _folds(store) == {t: stored_fold(t) for t in folds}
        assert _folds(store)["Kit Connor"] is None
        assert _folds(store)["Jürgen Straße"] == "jürgen strasse"
        _check_found(store)
        # A text stored before is found again, not added twice.
        _write(store)
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM name")).scalar() == len(folds)
    finally:
        store.close()


def test_writers_at_once_add_each_text_once(database_url: str) -> None:
    """Several stores (as several processes would) interning the same new texts together:
    each text is one row, and every writer finds it."""
    stores = [Database.open(database_url) for _ in range(4)]
    for s in stores:
        s.upgrade()
    start = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def write(store: Database, n: int) -> None:
        try:
            start.wait()
            store.write(
                "bluesky",
                [Observation("followers", f"k{i}", n, T0, f"Subject {i}") for i in range(300)],
            )
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, n)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        with stores[0].engine.connect() as conn:
            twice = conn.execute(
                text("SELECT text FROM name GROUP BY text HAVING count(*) > 1")
            ).all()
            series = conn.execute(text("SELECT count(*) FROM series")).scalar()
        assert twice == [] and series == 300
    finally:
        for s in stores:
            s.close()
