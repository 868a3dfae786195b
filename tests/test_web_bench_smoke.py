"""benchmarks/web.py at a tiny size: keeps the benchmark code working, never times anything."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks import web
from benchmarks.data import Shape
from benchmarks.sqlite_bench import history_db


def test_points_and_overview_measure(tmp_path: Path) -> None:
    shape = Shape(3, 200)
    db = history_db(tmp_path, shape)
    web.with_series(db, shape)
    with web.served(db, tmp_path) as url:
        measures = web.points(url, db, shape, queries=3)
        measures.append(web.overview(url, seconds=1))
    assert [m.name for m in measures] == [
        "points 200 pts of 600 rows p50",
        "points 200 pts of 600 rows p99",
        "overview page",
    ]
    assert all(m.store > 0 and m.baseline > 0 and math.isfinite(m.ratio) for m in measures)
    shapes = {m.name: m for m in web.shapes(db, shape, queries=2)}
    assert list(shapes) == [f"{what} {name}{p50}" for name in [
        "omitted defaults (API 2)", "every field (API 1)", "pairs [[ts, value], ...]",
        "columns {ts: [...], value: [...]}"] for what, p50 in (("body", ""), ("write", " p50"))
    ]  # fmt: skip
    # The synthetic rows have no period and no flag: API 2 writes `{"ts":…,"value":…}` each.
    assert shapes["body omitted defaults (API 2)"].ratio < 0.4


@pytest.mark.slow
def test_against_prometheus_agrees_on_the_real_file(tmp_path: Path) -> None:
    import shutil

    import pytest

    if not (shutil.which("prometheus") and shutil.which("promtool")):
        pytest.skip("Debian's prometheus is not installed (.ci/run installs it)")
    if not (web.NETFLIX / web.NETFLIX_FILE).exists():
        pytest.skip(f"no {web.NETFLIX / web.NETFLIX_FILE}")
    # The file's latest 20 weeks (800 rows): the same import, TSDB and both servers, at a
    # size that keeps the smoke test short. The warm-up compares every answer of both.
    measures = web.against_prometheus(tmp_path, queries=2, rows=800)
    assert [m.name for m in measures] == [
        "points vs prometheus query_range p50",
        "points vs prometheus query_range p99",
    ]
