"""The read-path, import and Prometheus benchmarks at a tiny size, SQLite only: keeps them
running, never times anything."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks import importing, prometheus, readpath
from benchmarks.readdata import ReadShape, build
from benchmarks.timing import Measure
from tests.conftest import NETFLIX_COUNTRY_COLUMNS, netflix_tsv
from tracker.core import Observation


def _sane(measures: list[Measure]) -> None:
    for m in measures:
        assert m.store > 0 and m.baseline > 0, m
        assert math.isfinite(m.ratio) and m.ratio > 0, m


def test_read_path_measures_every_side_on_the_same_points(tmp_path: Path) -> None:
    shape = ReadShape(tracked=3, points=1_000, names=500)
    url = f"sqlite:///{tmp_path / 'read.db'}"
    measures = readpath.run(url, shape, queries=6, runs=1)
    assert build(url, shape) == 0.0  # built once, then reused
    assert [m.name.split(",")[0].strip() for m in measures] == [
        "subject lookup p50",
        "subject lookup p99",
        "tracker history p50",
        "tracker history p99",
        "its store part p50",
        "its store part p99",
        "its CPU time p50",
        "--format csv p50",
        "--format table p50",
        "whole process",
    ]
    assert measures[0].notes == {"series": 503, "lookups": 200}
    _sane(measures)


def test_import_against_the_raw_loader(tmp_path: Path) -> None:
    rows = [
        ("Latvia", "LV", "2022-08-21", "Films", str(rank), f"Film {rank}", "N/A", "1")
        for rank in range(1, 11)
    ]
    file = tmp_path / "countries.tsv"
    file.write_text(netflix_tsv(NETFLIX_COUNTRY_COLUMNS, tuple(rows)), encoding="utf-8")
    speed, memory = importing.measure("sqlite", file, runs=1, place=tmp_path)
    assert speed.notes["rows"] == 10
    assert speed.notes["tracker said"].startswith("countries.tsv: 10 row(s) read: 10 stored")
    assert memory.unit == "MiB"
    _sane([speed, memory])


def test_openmetrics_holds_each_family_once_and_escapes_labels(tmp_path: Path) -> None:
    t0 = datetime(2022, 4, 18, tzinfo=UTC)
    labels = {"list": "GB", "season": 'Say "hi"'}
    found = [
        Observation("chart_rank", "k", rank, t0 + timedelta(weeks=rank), "S", "S", labels)
        for rank in (2, 1)
    ] + [Observation("hours_viewed", "k", 9, t0, "S", "S", labels)]
    path = tmp_path / "x.om"
    assert prometheus.openmetrics(found, path) == 3
    assert path.read_text().splitlines() == [
        "# TYPE netflix_chart_rank gauge",
        'netflix_chart_rank{list="GB",season="Say \\"hi\\"",show="S"} 1 1650844800',
        'netflix_chart_rank{list="GB",season="Say \\"hi\\"",show="S"} 2 1651449600',
        "# TYPE netflix_hours_viewed gauge",
        'netflix_hours_viewed{list="GB",season="Say \\"hi\\"",show="S"} 9 1650240000',
        "# EOF",
    ]
