"""`tracker serve` under measurement: the points endpoint against raw SQL, and the overview
page's requests per second under a local load generator.

    python -m benchmarks.web            # 10,000-point series out of 10 M rows (SQLite)
    python -m benchmarks.web --quick    # 10,000-point series out of 100,000 rows

1. Points: GET /api/series/{id}/points?limit=10000 over one keep-alive HTTP connection to a
   running `tracker serve` (the real command, a subprocess), against the same rows read by
   raw sqlite3 (`SELECT ts, value, days, flags ... ORDER BY ts`), interleaved, on random
   series; p50 and p99 of each, and the ratio (goal <= 2x). The baseline runs in this process
   on its own connection, with no HTTP and no JSON: the endpoint's time includes the request,
   the same read inside the server, the ~0.9 MB of JSON written, and httpx receiving it all
   (not parsing it).
2. Against Prometheus: the real Netflix global Top 10 file (`tracker import netflix-top10
   --all`, ~10,000 weekly series) loaded into both `tracker serve` and a Prometheus (Debian's,
   its TSDB built by `promtool tsdb create-blocks-from openmetrics`); the points endpoint
   against `query_range` (step one week, every sample) on the same series, both over a
   keep-alive connection (skipped where prometheus, promtool or the file is absent).
3. Shapes of the points (report): bytes per point and the time to write a 10,000-point page
   in this process, API 2's (fields at their defaults left out, the endpoint's writer) and
   others over the same rows, against API 1's every field of every point.
4. Overview: requests/s of `/` (claims, comparisons, source health: a campaign on the same
   data) under Debian's `wrk` (or a Python keep-alive loop where wrk is absent), against
   `/favicon.ico` on the same server in the same run: the framework's floor.

Prints a table and writes benchmarks/results/web.json. Speeds are never asserted.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.data import Shape
from benchmarks.seriesrows import insert_series
from benchmarks.sqlite_bench import history_db
from benchmarks.timing import Measure, percentile

HERE = Path(__file__).parent
WORKDIR = HERE / ".work"
RESULTS = HERE / "results" / "web.json"
POINTS = "SELECT ts, value, days, flags FROM snapshot WHERE series_id = ? ORDER BY ts"
CONFIG = """contact = "bench@example.org"

[campaign]
name = "Benchmark"
launch = 2026-02-01

[[campaign.baselines]]
name = "s1-before"
subject = "s1"
source = "bluesky"
metric = "followers"
value = 1000
at = 2026-01-15

[[campaign.claims]]
name = "s2-claim"
subject = "s2"
source = "bluesky"
metric = "followers"
value = "1M"
at = 2026-03-01
"""


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def with_series(db: Path, shape: Shape) -> None:
    """Name every series of the cached table (the store benchmark needs only snapshots)."""
    conn = sqlite3.connect(db)
    have = conn.execute("SELECT count(*) FROM series").fetchone()[0]
    if have != shape.series:
        for table in ("series", "name", "kind"):
            conn.execute(f"DELETE FROM {table}")
        insert_series(
            conn.cursor(),
            [
                (i, "bluesky", "followers", f"did:bench:{i}", f"s{i}", f"s{i}.bsky.social", {})
                for i in range(1, shape.series + 1)
            ],
            pg=False,
        )
        conn.commit()
    conn.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(db: Path, workdir: Path, config: Path | None = None) -> Iterator[str]:
    """`tracker serve` on `db`, as a user starts it; stopped on leaving."""
    if config is None:
        config = workdir / "web-bench.toml"
        config.write_text(CONFIG, encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env |= {"TRACKER_CONFIG": str(config), "TRACKER_DATABASE_URL": f"sqlite:///{db}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tracker", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit("tracker serve exited")
            try:
                httpx.get(url + "/api/status", timeout=5)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("tracker serve never answered") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def points(url: str, db: Path, shape: Shape, queries: int) -> list[Measure]:
    """p50/p99 of the points endpoint against raw SQL on the same random series."""
    rng = random.Random(shape.seed)
    plan = [rng.randint(1, shape.series) for _ in range(queries + 10)]
    raw = sqlite3.connect(db)
    samples: dict[str, list[float]] = {"web": [], "raw": []}
    with httpx.Client(base_url=url, timeout=60) as client:
        for n, sid in enumerate(plan):
            start = time.perf_counter()
            answer = client.get(f"/api/series/{sid}/points", params={"limit": shape.times})
            web = time.perf_counter() - start  # the whole body read; parsing it is the client's
            body = answer.json()
            start = time.perf_counter()
            rows = raw.execute(POINTS, (sid,)).fetchall()
            sql = time.perf_counter() - start
            if n < 10:  # warm-up: both sides agree
                got = [(p["ts"], p["value"]) for p in body["points"]]
                if got != [(r[0], r[1]) for r in rows] or len(rows) != shape.times:
                    raise AssertionError(f"series {sid}: the endpoint and SQL disagree")
                continue
            samples["web"].append(web)
            samples["raw"].append(sql)
    raw.close()
    notes = {"queries": queries, "points": shape.times, "rows": shape.rows}
    out = []
    for q in (50, 99):
        web, sql = percentile(samples["web"], q), percentile(samples["raw"], q)
        out.append(
            Measure(
                f"points {shape.times} pts of {shape.rows:,} rows p{q}",
                "ms",
                web * 1e3,
                sql * 1e3,
                "<= 2x",
                web / sql <= 2.0,
                notes,
            )  # fmt: skip
        )
    return out


# Other shapes of a page's points, for the comparison `shapes` prints (the API writes API 2's,
# tracker.web.api.points_json): API 1's every field of every point, Prometheus's query_range
# pairs (the exceptions would go in lists apart), and columns (what a plotly trace takes).
_FLAGS = ('"backfilled":false,"sudden":false', '"backfilled":true,"sudden":false',
          '"backfilled":false,"sudden":true', '"backfilled":true,"sudden":true')  # fmt: skip
SHAPES: dict[str, Callable[[Sequence[tuple[Any, ...]]], str]] = {
    "every field (API 1)": lambda rows: ",".join([
        f'{{"ts":{ts},"value":{value},"status":"value",'
        f'"period":{"null" if period is None else period},"day":null,{_FLAGS[(bits or 0) & 3]}}}'
        for ts, value, period, _, bits in rows
    ]),
    "pairs [[ts, value], ...]": lambda rows: ",".join([f"[{r[0]},{r[1]}]" for r in rows]),
    "columns {ts: [...], value: [...]}": lambda rows: '{"ts":['
    + ",".join([str(r[0]) for r in rows]) + '],"value":['
    + ",".join([str(r[1]) for r in rows]) + "]}",
}  # fmt: skip


def shapes(db: Path, shape: Shape, queries: int) -> list[Measure]:
    """Bytes per point and the time to write a page's points in each shape, in this process,
    against API 1's (every field): API 2 is the endpoint's own writer over the server's own
    read (`Records.point_rows`), the others are written from the same rows."""
    from tracker.store import Database
    from tracker.web.api import points_json
    from tracker.web.records import Records

    store = Database.open(f"sqlite:///{db}")
    records = Records(store, None, f"sqlite:///{db}")
    rng = random.Random(shape.seed + 1)
    took: dict[str, list[float]] = {"omitted defaults (API 2)": [], **{k: [] for k in SHAPES}}
    size: dict[str, int] = {}
    for _ in range(queries):
        found = records.point_rows(rng.randint(1, shape.series), limit=shape.times)
        start = time.perf_counter()
        body = points_json(found)
        took["omitted defaults (API 2)"].append(time.perf_counter() - start)
        size["omitted defaults (API 2)"] = len(body) - len(found.page.model_dump_json())
        for name, write in SHAPES.items():
            start = time.perf_counter()
            text = write(found.rows).encode()
            took[name].append(time.perf_counter() - start)
            size[name] = len(text)
    store.close()
    old = "every field (API 1)"
    base_ms, base_b = percentile(took[old], 50) * 1e3, size[old] / shape.times
    out = []
    for name, times in took.items():
        notes = {"points": shape.times, "queries": queries, "baseline": old}
        out.append(Measure(f"body {name}", "B/pt", size[name] / shape.times, base_b,
                           "report", None, notes))  # fmt: skip
        out.append(Measure(f"write {name} p50", "ms", percentile(times, 50) * 1e3, base_ms,
                           "report", None, notes))  # fmt: skip
    return out


NETFLIX = HERE.resolve().parents[1] / "shared" / "data" / "netflix-top10"
NETFLIX_FILE = "all-weeks-global.2026-07-22.tsv"
WEEK = 7 * 86400
SEED_PROM = 20261129


def netflix_db(workdir: Path, rows: int | None = None) -> tuple[Path, Path]:
    """The real global file imported whole into a SQLite store; with its config. With `rows`,
    only the file's first `rows` rows (its latest weeks), for a smoke test."""
    part = "" if rows is None else f"-{rows}"
    db, config = workdir / f"web-netflix{part}.db", workdir / "web-netflix.toml"
    config.write_text('contact = "bench@example.org"\n', encoding="utf-8")
    source = NETFLIX / NETFLIX_FILE
    if rows is not None:
        source = workdir / f"{NETFLIX_FILE}{part}"
        with (NETFLIX / NETFLIX_FILE).open(encoding="utf-8") as whole:
            source.write_text("".join(itertools.islice(whole, rows + 1)), encoding="utf-8")
    if not db.exists():
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        env |= {"TRACKER_CONFIG": str(config), "TRACKER_DATABASE_URL": f"sqlite:///{db}"}
        subprocess.run(
            [sys.executable, "-m", "tracker", "import", "netflix-top10", "--all",
             str(source)],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return db, config


def prometheus_tsdb(db: Path, workdir: Path) -> Path:
    """Every stored value as `tracker_series_value{series="ID"}`, in a Prometheus TSDB."""
    tsdb = workdir / f"{db.stem}-tsdb"
    if tsdb.exists():
        return tsdb
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT series_id, ts, value FROM snapshot ORDER BY series_id, ts")
    text = workdir / f"{db.stem}.om"
    with text.open("w", encoding="utf-8") as out:
        out.write("# TYPE tracker_series_value gauge\n")
        for sid, ts, value in rows:
            out.write(f'tracker_series_value{{series="{sid}"}} {value} {ts}\n')
        out.write("# EOF\n")
    conn.close()
    building = workdir / f"{db.stem}-tsdb.building"
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(text), str(building)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    building.rename(tsdb)
    return tsdb


@contextmanager
def prometheus(tsdb: Path, workdir: Path) -> Iterator[str]:
    """A Prometheus on the TSDB (retention long enough to keep 2021's weeks), no scraping."""
    config = workdir / "web-prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\n", encoding="utf-8")
    port = free_port()
    process = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
         "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/-/ready", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("prometheus did not start")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def against_prometheus(workdir: Path, queries: int, rows: int | None = None) -> list[Measure]:
    """The points endpoint against Prometheus's query_range on the same real series (of the
    file's first `rows` rows where given: the smoke test's size)."""
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        log("prometheus or promtool is not installed: the comparison is skipped")
        return []
    if not (NETFLIX / NETFLIX_FILE).exists():
        log(f"no {NETFLIX / NETFLIX_FILE}: the Prometheus comparison is skipped")
        return []
    db, config = netflix_db(workdir, rows)
    conn = sqlite3.connect(db)
    longest = conn.execute(
        "SELECT series_id, min(ts), max(ts), count(*) FROM snapshot GROUP BY series_id "
        "ORDER BY count(*) DESC, series_id LIMIT 40"
    ).fetchall()
    conn.close()
    tsdb = prometheus_tsdb(db, workdir)
    rng = random.Random(SEED_PROM)
    plan = [rng.choice(longest) for _ in range(queries + 10)]
    samples: dict[str, list[float]] = {"web": [], "prometheus": []}
    with served(db, workdir, config) as url, prometheus(tsdb, workdir) as prom:
        with httpx.Client(base_url=url, timeout=60) as web, httpx.Client(timeout=60) as pq:
            for n, (sid, first, last, count) in enumerate(plan):
                start = time.perf_counter()
                mine = web.get(f"/api/series/{sid}/points")
                took_web = time.perf_counter() - start
                params = {"query": f'tracker_series_value{{series="{sid}"}}', "start": first,
                          "end": last, "step": f"{WEEK}s"}  # fmt: skip
                start = time.perf_counter()
                theirs = pq.get(prom + "/api/v1/query_range", params=params)
                took_prom = time.perf_counter() - start
                if n < 10:  # warm-up: both answer every stored week of the series
                    # (tracker's answer also holds the weeks a chart series was "not in
                    # chart", value null: Prometheus has no sample for them)
                    stored = [p for p in mine.json()["points"] if p["value"] is not None]
                    got = [(p["ts"], p["value"]) for p in stored]
                    (result,) = theirs.json()["data"]["result"]
                    want = [(int(t), int(v)) for t, v in result["values"]]
                    if got != want or len(got) != count:
                        raise AssertionError(f"series {sid}: tracker and Prometheus disagree")
                    continue
                samples["web"].append(took_web)
                samples["prometheus"].append(took_prom)
    notes = {
        "queries": queries,
        "series": len(longest),
        "points_per_answer": [min(c for *_, c in longest), max(c for *_, c in longest)],
        "file": NETFLIX_FILE if rows is None else f"{NETFLIX_FILE}, first {rows} rows",
    }
    out = []
    for q in (50, 99):
        web_s, prom_s = percentile(samples["web"], q), percentile(samples["prometheus"], q)
        out.append(Measure(f"points vs prometheus query_range p{q}", "ms", web_s * 1e3,
                           prom_s * 1e3, "<= 1x", web_s <= prom_s, notes))  # fmt: skip
    return out


def requests_per_second(url: str, seconds: int) -> tuple[float, str]:
    """Requests/s of GET `url`: wrk (2 threads, 8 connections) where installed."""
    wrk = shutil.which("wrk")
    if wrk:
        out = subprocess.run(
            [wrk, "-t2", "-c8", f"-d{seconds}s", url], capture_output=True, text=True, check=True
        ).stdout
        match = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if match is None:
            raise SystemExit(f"wrk printed no Requests/sec:\n{out}")
        return float(match.group(1)), "wrk -t2 -c8"
    done, end = 0, time.monotonic() + seconds
    with httpx.Client(timeout=60) as client:
        while time.monotonic() < end:
            client.get(url).raise_for_status()
            done += 1
    return done / seconds, "python keep-alive loop, 1 connection"


def overview(url: str, seconds: int) -> Measure:
    page, tool = requests_per_second(url + "/", seconds)
    floor, _ = requests_per_second(url + "/favicon.ico", seconds)
    return Measure("overview page", "req/s", page, floor, "report", None,
                   {"tool": tool, "seconds": seconds, "baseline": "/favicon.ico"})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.web", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 rows, fewer queries")
    parser.add_argument("--workdir", type=Path, default=WORKDIR, help="cache of built tables")
    parser.add_argument("--skip-prometheus", action="store_true", help="no Prometheus part")
    parser.add_argument("--json", type=Path, default=None, help="where to write the results")
    args = parser.parse_args()
    shape = Shape(10, 10_000) if args.quick else Shape(1_000, 10_000)
    queries, seconds = (30, 3) if args.quick else (200, 10)
    args.workdir.mkdir(parents=True, exist_ok=True)
    log(f"building (or reusing) {shape.rows:,} rows in {args.workdir}")
    db = history_db(args.workdir, shape)
    with_series(db, shape)
    with served(db, args.workdir) as url:
        measures = points(url, db, shape, queries)
        measures.append(overview(url, seconds))
    measures += shapes(db, shape, min(queries, 50))
    if not args.skip_prometheus:
        measures += against_prometheus(args.workdir, queries)
    load = [round(x, 1) for x in os.getloadavg()]
    for m in measures:
        m.notes["load_average_1_5_15"] = load  # a shared machine: read the ratios
    print(f"{'measure':<50} {'unit':>6} {'serve':>10} {'baseline':>10} {'ratio':>7}  goal")
    for m in measures:
        print(f"{m.name:<50} {m.unit:>6} {m.store:>10.2f} {m.baseline:>10.2f} "
              f"{m.ratio:>7.2f}  {m.goal}")  # fmt: skip
    out = args.json or (None if args.quick else RESULTS)
    if out is not None:
        out.write_text(json.dumps([m.as_dict() for m in measures], indent=2) + "\n")
        log(f"results written to {out}")


if __name__ == "__main__":
    main()
