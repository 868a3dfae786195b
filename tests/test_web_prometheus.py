"""A real Prometheus (Debian's `prometheus`) scrapes a running `tracker serve`; values stored
by real rounds are read back through Prometheus's own query API."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.webserve import TIMEOUT, fakes_seeded, serve, tracker

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None, reason="Debian's prometheus is not installed (.ci/run installs it)"
)
KIT = 'tracker_series_value{subject="Kit Connor",platform="bluesky",metric="followers"}'


def start_prometheus(target: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Prometheus on a free loopback port, scraping `target` (host:port) every second."""
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: tracker\n"
        f"    static_configs:\n      - targets: ['{target}']\n",
        encoding="utf-8",
    )
    port = free_port()
    assert PROMETHEUS is not None
    with (workdir / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=log,
        )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def read_back(prometheus: str, promql: str, want: str, process: subprocess.Popen[bytes]) -> None:
    """Poll Prometheus's /api/v1/query until `promql` has the value `want`."""
    deadline = time.monotonic() + TIMEOUT
    seen: object = None
    while time.monotonic() < deadline:
        assert process.poll() is None, "prometheus exited"
        try:
            answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=10)
            result = answer.json()["data"]["result"]
            seen = [r["value"][1] for r in result]
            if seen == [want]:
                return
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.1)  # a query costs Prometheus little; a scrape comes every second
    raise AssertionError(f"prometheus never answered {promql} = {want} (last: {seen})")


def test_prometheus_scrapes_tracker_serve(tmp_path: Path) -> None:
    prometheus_dir = tmp_path
    url = f"sqlite:///{prometheus_dir / 'tracker.db'}"
    with fakes_seeded() as seeded:
        config = seeded.write_config(prometheus_dir / "tracker.toml")
        tracker(config, url, "run", "--once")
        with serve(config, url, prometheus_dir) as served:
            process, prometheus = start_prometheus(
                served.url.removeprefix("http://"), prometheus_dir
            )
            try:
                read_back(prometheus, 'up{job="tracker"}', "1", process)
                read_back(prometheus, KIT, "1800", process)
                read_back(prometheus, 'tracker_source_up{source="wikipedia"}', "1", process)
                # A new round lands: the next scrapes carry its value.
                seeded.bluesky.add("kit.bsky.social", 2345)
                time.sleep(1)  # a new second: the round's value is a new point
                tracker(config, url, "run", "--once")
                read_back(prometheus, KIT, "2345", process)
                read_back(prometheus, 'tracker_source_failures_in_a_row{source="bluesky"}', "0",
                          process)  # fmt: skip
            finally:
                process.terminate()
                process.wait(timeout=30)
