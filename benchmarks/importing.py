"""`tracker import netflix-top10 --all` of the real countries file against a 20-line raw loader.

    .venv/bin/python -m benchmarks.importing [--runs 3] [--file PATH]

Both run as their own process into an empty, migrated database (SQLite, and PostgreSQL where
TRACKER_TEST_DATABASE_URL is set), interleaved; wall time and peak memory (the child's own
max RSS, from wait4) are compared in the same run. Goals: rows per second ≥ 0.5× the raw
loader's, peak memory ≤ 2× its. The raw loader keeps the last of two rows that collide
(Latvia's and Lithuania's two "The Mummy" films); tracker refuses and counts them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.readdata import pg_url
from benchmarks.timing import Measure
from tracker.store import Database

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "importing.json"
DATA = HERE.resolve().parents[1] / "shared" / "data" / "netflix-top10"
FILE = DATA / "all-weeks-countries.to-2022-11-13.tsv"
PG_ENV = "TRACKER_TEST_DATABASE_URL"

# What someone would write instead of tracker: the same tables, the same rows, no checks.
RAW = r"""
import csv, datetime as dt, json, sys
url, path = sys.argv[1:3]
pg = not url.startswith("sqlite")
if pg:
    import psycopg; conn = psycopg.connect(url.replace("+psycopg", "")); p = "%s"
else:
    import sqlite3; conn = sqlite3.connect(url.removeprefix("sqlite:///")); p = "?"
def pack(ids):
    out = bytearray()
    for n in ids:
        while n >= 128: out.append(n & 127 | 128); n >>= 7
        out.append(n)
    return bytes(out)
names, ids, points, layouts = {}, {}, {}, {}
name = lambda t: names.setdefault(t, len(names) + 1)
with open(path, encoding="utf-8", newline="") as f:
    for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
        parts = (r["show_title"], r["season_title"], r["country_iso2"], r["category"])
        if parts not in ids:
            labels = (r["category"], r["country_name"], r["country_iso2"], r["season_title"])
            at = tuple(parts.index(v) if v in parts else None for v in labels)
            if at not in layouts:  # a label value that is a key part is stored once
                keys = ("category", "country", "list", "season")
                layouts[at] = name(json.dumps(dict(zip(keys, at)), separators=(",", ":")))
            ids[parts] = (len(ids) + 1, 1, pack(map(name, parts)), name(parts[0]), None,
                          pack([layouts[at], *(name(v) for v, i in zip(labels, at) if i is None)]))
        day = dt.datetime.fromisoformat(r["week"] + "T00:00+00:00") - dt.timedelta(days=6)
        points[(ids[parts][0], int(day.timestamp()))] = int(r["weekly_rank"])
cur = conn.cursor()
cur.executemany(f"INSERT INTO name (id, text, fold) VALUES ({p}, {p}, {p})",
                [(i, t, None if t.isascii() else t.casefold()) for t, i in names.items()])
cur.execute(f"INSERT INTO kind (id, source, metric) VALUES (1, 'netflix', 'chart_rank')")
cur.executemany(f"INSERT INTO series (id, kind, key, subject, label, labels) "
                f"VALUES ({', '.join([p] * 6)})", ids.values())
rows = [(s, t, v, 7) for (s, t), v in points.items()]  # a week's chart: 7 days
if pg:
    with cur.copy("COPY snapshot (series_id, ts, value, days) FROM STDIN") as copy:
        for row in rows: copy.write_row(row)
else:
    cur.executemany("INSERT INTO snapshot (series_id, ts, value, days) VALUES (?, ?, ?, ?)", rows)
conn.commit()
"""


def _child(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in bytes (of that child alone) and stdout of one process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.communicate()[1].decode()
        if proc.returncode:
            raise RuntimeError(f"{command[:4]} exited {proc.returncode}: {err}")
        out.seek(0)
        return wall, usage.ru_maxrss * 1024, out.read()


def _empty(kind: str, place: Path) -> str:
    """A fresh, migrated database of `kind`."""
    name = f"imp_{uuid.uuid4().hex[:10]}"
    if kind == "sqlite":
        url = f"sqlite:///{place / (name + '.db')}"
    else:
        url = pg_url(os.environ[PG_ENV], name)
    store = Database.open(url)
    store.upgrade()
    store.close()
    return url


def _drop(url: str) -> None:
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).unlink()
        return
    import psycopg

    schema = url.rsplit("%3D", 1)[1]
    with psycopg.connect(os.environ[PG_ENV].replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def measure(kind: str, file: Path, runs: int, place: Path) -> list[Measure]:
    with file.open(encoding="utf-8") as lines:
        rows = sum(1 for _ in lines) - 1
    config = place / "tracker.toml"
    config.write_text('contact = "bench@example.org"\n', encoding="utf-8")
    env = {**os.environ, "TRACKER_CONFIG": str(config)}
    sides = {
        "tracker": [sys.executable, "-m", "tracker", "import", "netflix-top10", "--all"],
        "raw": [sys.executable, "-c", RAW],
    }
    walls: dict[str, list[float]] = {"tracker": [], "raw": []}
    peaks: dict[str, list[int]] = {"tracker": [], "raw": []}
    said = ""
    for i in range(runs):
        for side in ("tracker", "raw") if i % 2 == 0 else ("raw", "tracker"):
            url = _empty(kind, place)
            args = [str(file)] if side == "tracker" else [url, str(file)]
            wall, peak, out = _child(sides[side] + args, {**env, "TRACKER_DATABASE_URL": url})
            _drop(url)
            walls[side].append(wall)
            peaks[side].append(peak)
            said = out.strip() if side == "tracker" else said
    wall = {side: statistics.median(v) for side, v in walls.items()}
    peak = {side: max(v) for side, v in peaks.items()}
    notes: dict[str, Any] = {"rows": rows, "runs": runs, "tracker said": said}
    speed = Measure(
        f"import rows/s, {rows:,} rows (median wall)",
        "rows/s",
        rows / wall["tracker"],
        rows / wall["raw"],
        ">= 0.5x",
        wall["raw"] / wall["tracker"] >= 0.5,
        notes | {"wall_s": {k: round(v, 3) for k, v in wall.items()}},
    )
    memory = Measure(
        "import peak memory (max RSS)",
        "MiB",
        peak["tracker"] / 2**20,
        peak["raw"] / 2**20,
        "<= 2x",
        peak["tracker"] <= 2 * peak["raw"],
        notes,
    )
    return [speed, memory]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--file", type=Path, default=FILE)
    args = parser.parse_args()
    if not args.file.is_file():
        raise SystemExit(f"no Netflix countries file at {args.file}: give one with --file")
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])
    results: dict[str, Any] = {"file": args.file.name}
    print(f"{'measure':<44}{'tracker':>14}{'raw loader':>14}{'ratio':>8}  goal")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            print(f"{kind}:", flush=True)
            measures = measure(kind, args.file, args.runs, Path(tmp))
            for m in measures:
                print(
                    f"  {m.name:<42}{m.store:>14,.0f}{m.baseline:>14,.0f}{m.ratio:>7.2f}×  "
                    f"{m.goal} {'pass' if m.passed else 'MISS'}"
                )
            print(f"  tracker said: {measures[0].notes['tracker said']}")
            results[kind] = [m.as_dict() for m in measures]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
