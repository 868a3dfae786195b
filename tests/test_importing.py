"""`tracker import`: every value read is stored, already present, or refused with its reason.

Two different films of one title in one country's week (Latvia and Lithuania, "The Mummy",
in the real countries file) share a series and a week: the file has no column to tell them
apart. Both rows are refused and counted, never one silently kept in place of the other.
"""

from __future__ import annotations

import gc
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import entry
from tests.conftest import NETFLIX_COUNTRY_COLUMNS, SHARED, netflix_tsv, tracker_env
from tracker import config as config_module
from tracker.core import Observation
from tracker.errors import UsageError
from tracker.importers import registry as importers
from tracker.importers.base import import_file
from tracker.store import Database

COUNTRIES = SHARED / "data" / "netflix-top10" / "all-weeks-countries.to-2022-11-13.tsv"
real_data = pytest.mark.skipif(
    not COUNTRIES.is_file(), reason=f"real Netflix Top 10 files not found at {COUNTRIES.parent}"
)

ROWS = (
    ("Latvia", "LV", "2022-08-21", "Films", "5", "The Mummy", "N/A", "1"),
    ("Latvia", "LV", "2022-08-21", "Films", "10", "The Mummy", "N/A", "1"),
    ("Latvia", "LV", "2022-08-21", "Films", "1", "Purple Hearts", "N/A", "4"),
    # The same row twice: one value, stored once, the repeat counted as already present.
    ("Latvia", "LV", "2022-08-21", "Films", "2", "Day Shift", "N/A", "2"),
    ("Latvia", "LV", "2022-08-21", "Films", "2", "Day Shift", "N/A", "2"),
    ("Lithuania", "LT", "2022-08-21", "Films", "4", "The Mummy", "N/A", "1"),
    ("Latvia", "LV", "2022-08-28", "Films", "x", "Purple Hearts", "N/A", "5"),
)


def _import(tmp_path: Path, database_url: str, file: Path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "tracker.toml"
    config.write_text('contact = "tests@example.org"\n', encoding="utf-8")
    return entry.run(
        "import", "netflix-top10", "--all", str(file), env=tracker_env(config, database_url)
    )


def test_a_title_twice_in_one_country_week_is_refused_and_said(
    tmp_path: Path, database_url: str
) -> None:
    file = tmp_path / "countries.tsv"
    file.write_text(netflix_tsv(NETFLIX_COUNTRY_COLUMNS, ROWS), encoding="utf-8")
    first = _import(tmp_path, database_url, file)
    assert first.returncode == 0, first.stderr
    assert first.stdout == (
        "countries.tsv: 7 row(s) read: 3 stored, 1 already present, 3 refused (malformed "
        "row(s): 1; one series and week twice with different values, two titles the file "
        "cannot tell apart (The Mummy|N/A|LV|Films chart_rank at 2022-08-15: 5 vs 10): 2)\n"
    )
    again = _import(tmp_path, database_url, file)
    assert "0 stored, 4 already present, 3 refused" in again.stdout, again.stderr
    store = Database.open(database_url)
    try:
        stored = {
            (s.labels["list"], s.label): [v for _, v in store.history(s.id)]
            for s in store.find_series(source="netflix")
        }
    finally:
        store.close()
    # Lithuania's one film of that title that week is kept; Latvia's two are not stored.
    assert stored == {
        ("LV", "Purple Hearts"): [1],
        ("LV", "Day Shift"): [2],
        ("LT", "The Mummy"): [4],
    }


@real_data
def test_the_real_countries_file_keeps_or_counts_every_row(store: Database, tmp_path: Path) -> None:
    (tmp_path / "tracker.toml").write_text('contact = "tests@example.org"\n', encoding="utf-8")
    config = config_module.load(tmp_path / "tracker.toml")
    tally = import_file(config, store, importers.get("netflix-top10"), COUNTRIES, True)
    rows = COUNTRIES.read_text(encoding="utf-8").count("\n") - 1
    # Latvia's weeks ending 2022-08-21 and 08-28 and Lithuania's ending 08-28: two "The
    # Mummy" films each, 6 rows in 3 clashes.
    assert (tally.values, tally.clashing, tally.malformed) == (rows, 6, 0)
    assert tally.stored + tally.present + sum(tally.refused.values()) == tally.read
    assert store.count() == tally.stored == rows - 6
    assert [c.split(" chart_rank")[0] for c in tally.clashes.split("; ")] == [
        "The Mummy|N/A|LV|Films",
        "The Mummy|N/A|LV|Films",
        "The Mummy|N/A|LT|Films",
    ]
    again = import_file(config, store, importers.get("netflix-top10"), COUNTRIES, True)
    assert (again.stored, again.present, sum(again.refused.values())) == (0, rows - 6, 6)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_first_import_into_postgresql_takes_the_copy_path(
    store: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file's clashes are taken out before the write: they no longer fail the COPY and send
    every import down the slow path (which also kept one of the clashing rows, silently)."""
    from tracker.store.timeseries import PostgresCopy

    slow: list[int] = []
    fallback = PostgresCopy._fallback

    def counted(self: PostgresCopy, cursor: object, rows: list[object]) -> int:
        slow.append(len(rows))
        return fallback(self, cursor, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(PostgresCopy, "_fallback", counted)
    file = tmp_path / "countries.tsv"
    file.write_text(netflix_tsv(NETFLIX_COUNTRY_COLUMNS, ROWS), encoding="utf-8")
    (tmp_path / "tracker.toml").write_text('contact = "tests@example.org"\n', encoding="utf-8")
    config = config_module.load(tmp_path / "tracker.toml")
    first = import_file(config, store, importers.get("netflix-top10"), file, True)
    assert (first.stored, slow) == (3, [])
    again = import_file(config, store, importers.get("netflix-top10"), file, True)
    assert (again.stored, again.present, slow) == (0, 4, [3])


def test_an_import_pauses_the_cyclic_collector_and_gives_it_back(
    store: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Collections of the oldest generation walked every value read; an import runs without
    them, and leaves the collector as it found it, also when the file is refused."""
    (tmp_path / "tracker.toml").write_text('contact = "tests@example.org"\n', encoding="utf-8")
    config = config_module.load(tmp_path / "tracker.toml")
    file = tmp_path / "countries.tsv"
    file.write_text(netflix_tsv(NETFLIX_COUNTRY_COLUMNS, ROWS), encoding="utf-8")
    during: list[bool] = []
    write = store.write

    def watched(*args: object, **kwargs: object) -> int:
        during.append(gc.isenabled())
        return write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "write", watched)
    assert gc.isenabled()
    assert import_file(config, store, importers.get("netflix-top10"), file, True).stored == 3
    assert (during, gc.isenabled()) == ([False], True)
    bad = tmp_path / "bad.tsv"
    bad.write_text("null\n", encoding="utf-8")
    with pytest.raises(UsageError, match="not a Netflix Top 10 file"):
        import_file(config, store, importers.get("netflix-top10"), bad, True)
    assert gc.isenabled()
    gc.disable()
    try:
        import_file(config, store, importers.get("netflix-top10"), file, True)
        assert not gc.isenabled()  # off before, off after: not switched on behind its back
    finally:
        gc.enable()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_analyzes_series_again_once_new_ones_double_them(store: Database) -> None:
    """An import's slices each create thousands of series: the statistics are refreshed when
    those created since the last refresh are as many as there were then (not every slice)."""
    week = datetime(2022, 8, 15, tzinfo=UTC)

    def create(first: int, count: int) -> None:
        store.write(
            "netflix",
            [
                Observation(
                    "chart_rank",
                    f"t{n}|N/A|LV|Films",
                    1,
                    week,
                    f"t{n}",
                    f"t{n}",
                    {"list": "LV"},
                    timedelta(days=7),
                )
                for n in range(first, first + count)
            ],
        )

    def estimated() -> float:
        with store._gateway.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'series'::regclass")
            return float(cursor.fetchone()[0])

    create(0, 1_200)  # past ANALYZE_AFTER: analyzed
    assert estimated() == 1_200
    create(1_200, 600)  # 600 new of 1,200 analyzed: not yet
    assert estimated() == 1_200
    create(1_800, 600)  # 1,200 new since: analyzed again
    assert estimated() == 2_400
