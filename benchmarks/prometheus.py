"""The peer users would pick instead: the same real Netflix data in Prometheus, one series'
history from each, and the bytes each stores per sample.

    .venv/bin/python -m benchmarks.prometheus [--queries 200]

Both real files (the 2026 global file and the countries file) are read by tracker's own
parser; tracker stores them with `import_file` (SQLite, and PostgreSQL where
TRACKER_TEST_DATABASE_URL is set); Prometheus gets the same samples as OpenMetrics through
`promtool tsdb create-blocks-from openmetrics` and serves them on a port of 127.0.0.1 the OS
chose. One series (Heartstopper's rank in the United Kingdom) is asked for again and again:
Prometheus over one keep-alive HTTP connection (`series[100y]`, every raw sample), tracker
in-process (`find_series` by subject and labels, then its points, on an open store).
Goal: tracker faster than Prometheus. Skipped where Debian's `prometheus` package is absent.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.importing import DATA
from benchmarks.readdata import pg_url
from benchmarks.timing import Measure, frozen_heap, percentile
from tracker.collectors.netflix import parse_file
from tracker.core import Observation
from tracker.store import Database

RESULTS = Path(__file__).parent / "results" / "prometheus.json"
FILES = ("all-weeks-global.2026-07-22.tsv", "all-weeks-countries.to-2022-11-13.tsv")
PG_ENV = "TRACKER_TEST_DATABASE_URL"
WANT = {"show": "Heartstopper", "list": "GB", "category": "TV"}


def _observations() -> list[Observation]:
    """Every value of both files, one per series and week (a clash keeps neither, as the
    import does)."""
    from tracker.importers.base import split_collisions

    found: list[Observation] = []
    for name in FILES:
        found += parse_file(DATA / name).observations
    kept, _, _ = split_collisions(found)
    return kept


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics(observations: list[Observation], path: Path) -> int:
    """The samples as an OpenMetrics file (families apart, series in time order); samples."""
    ordered = sorted(observations, key=lambda o: (o.metric, o.key, o.at))
    with path.open("w", encoding="utf-8") as out:
        metric = None
        for o in ordered:
            if o.metric != metric:
                metric = o.metric
                out.write(f"# TYPE netflix_{metric} gauge\n")
            labels = {"show": o.label, **o.labels}
            text = ",".join(f'{k}="{_quote(v)}"' for k, v in sorted(labels.items()))
            out.write(f"netflix_{metric}{{{text}}} {o.value} {int(o.at.timestamp())}\n")
        out.write("# EOF\n")
    return len(ordered)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class Prometheus:
    """A prometheus server on 127.0.0.1 over the blocks in `data`, no scraping."""

    def __init__(self, data: Path, work: Path) -> None:
        config = work / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\n", encoding="utf-8")
        self.port = _free_port()
        self.log = (work / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                "--storage.tsdb.retention.time=100y",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.conn.request("GET", "/-/ready")
                response = self.conn.getresponse()
                response.read()
                if response.status == 200:
                    return
            except OSError:
                self.conn.close()
            time.sleep(0.2)
        self.close()
        raise RuntimeError(f"prometheus did not get ready: see {work / 'prometheus.log'}")

    def samples(self, selector: str) -> list[tuple[float, str]]:
        query = urllib.parse.urlencode({"query": f"{selector}[100y]", "time": time.time()})
        self.conn.request("GET", f"/api/v1/query?{query}")
        body = json.loads(self.conn.getresponse().read())
        (series,) = body["data"]["result"]
        return [(t, v) for t, v in series["values"]]

    def close(self) -> None:
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def _tracker_store(url: str, observations: list[Observation]) -> tuple[Database, float]:
    store = Database.open(url)
    store.upgrade()
    start = time.perf_counter()
    for first in range(0, len(observations), 20_000):
        store.write("netflix", observations[first : first + 20_000])
    return store, time.perf_counter() - start


def on_disk(file: Path) -> tuple[int, dict[str, int]]:
    """The whole SQLite file's size after VACUUM (WAL checkpointed and truncated, free pages
    gone), and the bytes of each table and index in it (SQLite's `dbstat`, where compiled in)."""
    import sqlite3

    conn = sqlite3.connect(file)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("VACUUM")
        try:
            rows = conn.execute(
                "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
            ).fetchall()
        except sqlite3.OperationalError:  # built without SQLITE_ENABLE_DBSTAT_VTAB
            rows = []
    finally:
        conn.close()
    size = file.stat().st_size + sum(
        extra.stat().st_size
        for extra in (file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm"))
        if extra.exists()
    )
    return size, {str(name): int(used) for name, used in rows}


def _timed_in_turns(fetches: dict[str, Callable[[], int]], count: int) -> dict[str, list[float]]:
    """Seconds of each fetch, `count` times each, one of each in turn."""
    times: dict[str, list[float]] = {name: [] for name in fetches}
    with frozen_heap():
        for _ in range(count):
            for name, fetch in fetches.items():
                start = time.perf_counter()
                fetch()
                times[name].append(time.perf_counter() - start)
    return times


def run(queries: int, work: Path) -> dict[str, Any]:
    observations = _observations()
    om = work / "netflix.om"
    samples = openmetrics(observations, om)
    series = len({(o.metric, o.key) for o in observations})
    blocks = work / "prometheus"
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(om), str(blocks)],
        check=True,
    )
    result: dict[str, Any] = {"samples": samples, "series": series}
    # The blocks as promtool wrote them: the data. A running server adds its WAL and head
    # chunks for new scrapes (none here), counted apart.
    stored = _size(blocks)
    urls = {"sqlite": f"sqlite:///{work / 'tracker.db'}"}
    if os.environ.get(PG_ENV):
        urls["postgresql"] = pg_url(os.environ[PG_ENV], f"bench_prom_{os.getpid()}")
    labels = {"list": WANT["list"], "category": WANT["category"]}
    stores: dict[str, Database] = {}
    notes: dict[str, dict[str, Any]] = {}
    prom = None
    try:
        for db, url in urls.items():
            stores[db], load_s = _tracker_store(url, observations)
            notes[db] = {"load_s": round(load_s, 1)}
        prom = Prometheus(blocks, work)
        selector = "netflix_chart_rank{" + ",".join(f'{k}="{v}"' for k, v in WANT.items()) + "}"
        fetches: dict[str, Callable[[], int]] = {"prometheus": lambda: len(prom.samples(selector))}
        for db, store in stores.items():

            def history(store: Database = store) -> int:
                (found,) = store.find_series(WANT["show"], "netflix", "chart_rank", labels)
                return len(store.points(found.id))

            fetches[db] = history
        want = fetches["prometheus"]()
        for db in stores:
            if (got := fetches[db]()) != want:
                raise AssertionError(f"{db}: tracker has {got} points, prometheus {want}")
            notes[db]["points"] = want
        # Taken in turns, query by query: a load spike on this shared machine hits all alike.
        times = _timed_in_turns(fetches, queries)
    finally:
        if prom is not None:
            prom.close()
        for store in stores.values():
            store.close()
    result["prometheus"] = {
        "bytes_per_sample": round(stored / samples, 1),
        "bytes_per_sample_with_wal": round(_size(blocks) / samples, 1),
    }
    if "sqlite" in stores:
        size, parts = on_disk(Path(urls["sqlite"].removeprefix("sqlite:///")))
        notes["sqlite"]["bytes_per_sample"] = round(size / samples, 1)
        notes["sqlite"]["bytes_per_sample_by_table"] = {
            name: round(used / samples, 1) for name, used in parts.items()
        }
    if "postgresql" in stores:
        _drop_schema(urls["postgresql"])
    prom_s = times["prometheus"]
    for db in stores:
        mine = times[db]
        result[db] = [
            Measure(
                f"one series' history p{q} (vs prometheus over HTTP)",
                "ms",
                percentile(mine, q) * 1e3,
                percentile(prom_s, q) * 1e3,
                "< 1x",
                percentile(mine, q) < percentile(prom_s, q),
                notes[db],
            )
            for q in (50, 99)
        ]
    return result


def _drop_schema(url: str) -> None:
    import psycopg

    schema = url.rsplit("%3D", 1)[1]
    with psycopg.connect(os.environ[PG_ENV].replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    missing = [tool for tool in ("prometheus", "promtool") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"skipped: {', '.join(missing)} not found (apt-get install prometheus)")
    if not all((DATA / name).is_file() for name in FILES):
        raise SystemExit(f"skipped: the real Netflix files are not in {DATA}")
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.queries, Path(tmp))
    print(f"{result['samples']:,} samples in {result['series']:,} series")
    print(f"{'measure':<52}{'tracker':>10}{'prometheus':>12}{'ratio':>8}  goal")
    out: dict[str, Any] = {k: v for k, v in result.items() if k not in ("sqlite", "postgresql")}
    for db in ("sqlite", "postgresql"):
        if db not in result:
            continue
        print(f"{db}:")
        for m in result[db]:
            print(
                f"  {m.name:<50}{m.store:>8.3f}ms{m.baseline:>10.3f}ms{m.ratio:>7.2f}×  "
                f"{m.goal} {'pass' if m.passed else 'MISS'}"
            )
        out[db] = [m.as_dict() for m in result[db]]
    tracker_b = out["sqlite"][0]["notes"]["bytes_per_sample"]
    print(
        f"bytes per sample on disk: tracker's SQLite file after VACUUM {tracker_b}, "
        f"prometheus blocks {out['prometheus']['bytes_per_sample']} (goal ≤ 45)"
    )
    parts = out["sqlite"][0]["notes"]["bytes_per_sample_by_table"]
    print("  by table and index: " + ", ".join(f"{k} {v}" for k, v in parts.items() if v >= 0.1))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
