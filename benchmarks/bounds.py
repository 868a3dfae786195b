"""Measure what the bounds cost and what they save, every baseline in the same run.

    .venv/bin/python -m benchmarks.bounds [--quick]

1. Memory: the peak RSS a process reaches fetching a gzip bomb and an endless chunked stream
   from a local server through tracker's client (bounded by http.max_body), against a plain
   httpx client on a smaller bomb (the baseline grows with the bomb; ours stops at the limit).
   Each fetch runs in its own process so ru_maxrss is its own.
2. Time: a round's write of N values through `Store.write` with the sudden-change rule
   against the same write without it, on SQLite (and PostgreSQL when
   TRACKER_TEST_DATABASE_URL is set): as a fresh process writes (one look-up of the previous
   values per write) and as the daemon does (the store remembers them: no look-up).
   `--writes-only` skips the memory part.

Prints the numbers and writes benchmarks/results/bounds.json. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "bounds.json"

_FETCH = r"""
import asyncio, resource, sys, threading, zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import httpx

kind, mib, bounded = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
zeros = b"\0" * (1 << 20)
bomb = b"".join(packer.compress(zeros) for _ in range(mib)) + packer.flush()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200)
        if kind == "bomb":
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(bomb)))
            self.end_headers()
            self.wfile.write(bomb)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b" " * 65536
        try:
            for _ in range(mib * 16):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/"
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

async def main():
    if bounded:
        from tracker.config import HttpSettings
        from tracker.http import make_client
        client = make_client(HttpSettings(deadline=600))
    else:
        client = httpx.AsyncClient(timeout=600)
    async with client:
        try:
            response = await client.get(url)
            return f"read {len(response.content):,} bytes"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"

started = __import__("time").perf_counter()
outcome = asyncio.run(main())
took = __import__("time").perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{(after - before) / 1024:.1f}|{len(bomb)}|{took:.2f}|{outcome}")
"""


def fetch(kind: str, mib: int, bounded: bool) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _FETCH, kind, str(mib), "1" if bounded else "0"],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    ).stdout.strip()
    grown, sent, took, outcome = out.split("|", 3)
    return {
        "kind": kind,
        "decoded_mib": mib,
        "client": "tracker (max_body 32 MiB)" if bounded else "plain httpx",
        "sent_bytes": int(sent) if kind == "bomb" else mib << 20,
        "peak_rss_growth_mib": float(grown),
        "seconds": float(took),
        "outcome": outcome[:120],
    }


def writes(url: str, series: int, rounds: int) -> dict[str, Any]:
    """ms per round's write: plain; with the sudden rule as any process but the daemon writes
    (`run --once`, a worker: the previous values looked up each write); and with the rule in
    the store of the daemon (holding the daemon lock), which remembers each series' newest
    value."""
    from tracker.core import Observation, Sudden
    from tracker.store import Database

    results: dict[str, Any] = {"series": series, "rounds": rounds}
    rule = Sudden(5.0, 100)
    for label, sudden, daemon in (
        ("plain", None, False),
        ("sudden_fresh", rule, False),
        ("sudden", rule, True),
    ):
        store = Database.open(url)
        store.upgrade()
        if daemon:
            store.acquire_lock()
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        spent = 0.0
        for r in range(rounds):
            at = t0 + timedelta(hours=r)
            batch = [
                Observation("followers", f"did:{label}:{i}", 1000 + i + r, at, f"S{i}")
                for i in range(series)
            ]
            started = time.perf_counter()
            store.write("bench", batch, sudden=sudden)
            spent += time.perf_counter() - started
        if daemon:
            store.release_lock()
        store.close()
        results[f"{label}_ms_per_round"] = round(spent / rounds * 1e3, 2)
    plain = results["plain_ms_per_round"]
    results["ratio_fresh"] = round(results["sudden_fresh_ms_per_round"] / plain, 2)
    results["ratio"] = round(results["sudden_ms_per_round"] / plain, 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--writes-only", action="store_true")
    args = parser.parse_args()
    big, small = (512, 128) if args.quick else (2048, 256)
    memory = (
        []
        if args.writes_only
        else [
            fetch("bomb", small, bounded=False),
            fetch("bomb", big, bounded=True),
            fetch("endless", small, bounded=False),
            fetch("endless", big, bounded=True),
        ]
    )
    for row in memory:
        print(json.dumps(row))
    series, rounds = (300, 10) if args.quick else (1000, 30)
    time_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        time_rows.append({"database": "sqlite", **writes(f"sqlite:///{tmp}/b.db", series, rounds)})
    base = os.environ.get("TRACKER_TEST_DATABASE_URL")
    if base:
        import uuid

        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            url = f"{base}?options=-csearch_path%3D{schema}"
            time_rows.append({"database": "postgresql", **writes(url, series, rounds)})
        finally:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    for row in time_rows:
        print(json.dumps(row))
    RESULTS.parent.mkdir(exist_ok=True)
    if not memory and RESULTS.exists():  # keep the last memory figures
        memory = json.loads(RESULTS.read_text())["memory"]
    RESULTS.write_text(json.dumps({"memory": memory, "writes": time_rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
