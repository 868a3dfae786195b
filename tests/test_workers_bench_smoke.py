"""benchmarks/workers.py at a tiny size: keeps it running, never times anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import workers as bench
from tests.rabbit import broker_url, pg_url  # noqa: F401


@pytest.mark.slow
def test_the_workers_benchmark_runs(
    tmp_path: Path,
    pg_url: str,  # noqa: F811
    broker_url: str,  # noqa: F811
) -> None:
    run = bench.distributed(1, 4, tmp_path, threads=1, batch=2)
    assert (run["snapshots"], run["requests"], run["exit_codes"]) == (4, 4, [0, 0])
    assert run["targets_per_s"] > 0 and run["cpu_ms_per_snapshot"] > 0
    base = bench.daemon(4, tmp_path)
    assert (base["snapshots"], base["requests"], base["exit_code"]) == (4, 4, 0)
