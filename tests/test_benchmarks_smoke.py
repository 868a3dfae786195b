"""The store benchmarks at a tiny size, SQLite only: keeps them running, never times anything."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks import sqlite_bench
from benchmarks import store as bench
from benchmarks.data import Shape, collection_order, key_order
from benchmarks.history import plan_queries
from benchmarks.timing import Measure

TINY_INSERT = Shape(20, 100)  # 2,000 rows
TINY_HISTORY = Shape(3, 1_000)


def _sane(measures: list[Measure]) -> None:
    for m in measures:
        assert m.store > 0 and m.baseline > 0, m
        assert math.isfinite(m.ratio) and m.ratio > 0, m
        assert m.passed in (True, False, None)


def test_both_orders_hold_the_same_rows() -> None:
    shape = Shape(7, 13)
    by_time = [row for batch in collection_order(shape) for row in batch]
    by_key = [row for batch in key_order(shape) for row in batch]
    assert len(by_time) == shape.rows
    assert sorted(by_time) == by_key
    assert by_time == [row for batch in collection_order(shape) for row in batch]


def test_bulk_insert_and_storage(tmp_path: Path) -> None:
    measures, store_db, raw_db = sqlite_bench.bulk_insert(tmp_path, TINY_INSERT, repeat=2)
    assert [m.unit for m in measures] == ["rows/s", "rows/s"]
    for m in measures:
        assert m.notes["rows"] == m.notes["rows_new_store"] == m.notes["rows_raw"] == 2_000
        assert len(m.notes["seconds_store"]) == len(m.notes["seconds_raw"]) == 2
    sizes = sqlite_bench.storage(store_db, raw_db)
    assert sizes[0].notes["store"]["rows"] == sizes[0].notes["raw"]["rows"] == 2_000
    _sane(measures + sizes)


def test_history_against_cached_table(tmp_path: Path) -> None:
    db = sqlite_bench.history_db(tmp_path, TINY_HISTORY)
    built = db.stat().st_mtime_ns
    assert sqlite_bench.history_db(tmp_path, TINY_HISTORY) == db
    assert db.stat().st_mtime_ns == built  # served from the cache, not rebuilt
    measures = sqlite_bench.history(db, TINY_HISTORY, (100, 1_000), queries=5)
    assert [m.name for m in measures] == [
        "sqlite history 100 pts p50",
        "sqlite history 100 pts p99",
        "sqlite history 1000 pts p50",
        "sqlite history 1000 pts p99",
    ]
    assert all(m.notes["queries"] == 5 for m in measures)
    assert set(measures[0].notes["gc"]) == {"store", "raw"}
    _sane(measures)


def test_a_window_longer_than_the_series_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^a 11-point window does not fit 10 timestamps$"):
        plan_queries(Shape(2, 10), 11, 1)


def test_main_prints_the_table_and_writes_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench, "QUICK", bench.Plan(TINY_INSERT, TINY_HISTORY, (100,), 5, 1))
    out = tmp_path / "store.json"
    argv = ["--quick", "--skip-postgres", "--workdir", str(tmp_path), "--json", str(out)]
    assert bench.main(argv) == 0
    printed = capsys.readouterr().out
    assert "measure" in printed and "pass/fail" in printed and "run time" in printed
    report = json.loads(out.read_text())
    assert report["quick"] is True and "postgres" not in report["machine"]
    names = [m["name"] for m in report["measures"]]
    assert names[:2] == ["sqlite insert 1 call/round (20 rows)", "sqlite insert 1 call, all rows"]
    assert len(names) == 2 + 3 + 2
    for m in report["measures"]:
        assert m["store"] > 0 and m["baseline"] > 0 and m["ratio"] > 0
