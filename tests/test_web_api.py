"""`tracker serve` over a real socket: the JSON API, CSV, ETags, errors, CORS and /metrics,
against a database that a real `tracker run --once` filled from the platform fakes."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import entry
from tests.conftest import Seeded, tracker_env
from tests.webserve import Served, fakes_seeded, serve, tracker
from tracker import read
from tracker.baselines import days_since
from tracker.config import load
from tracker.core import MONDAY, WEEK, Observation
from tracker.store import Database
from tracker.timeutil import day_start, from_epoch, to_epoch
from tracker.web.records import SERIES_TTL, Records


@dataclass
class Site:
    served: Served
    seeded: Seeded
    config: Path
    database_url: str
    workdir: Path

    def get(self, path: str, **params: object) -> httpx.Response:
        return httpx.get(self.served.url + path, params=params, timeout=60)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{workdir / 'tracker.db'}"
    with fakes_seeded() as seeded:
        config = seeded.write_config(workdir / "tracker.toml")
        tracker(config, url, "run", "--once")
        with serve(config, url, workdir) as served:
            yield Site(served, seeded, config, url, workdir)


def one_series(site: Site, **filters: str) -> dict[str, object]:
    (item,) = site.get("/api/series", **filters).json()["items"]
    assert isinstance(item, dict)
    return item


def test_series_lists_what_the_round_stored(site: Site) -> None:
    answer = site.get("/api/series", subject="kit connor")
    assert answer.status_code == 200
    body = answer.json()
    platforms = {(i["platform"], i["metric"]) for i in body["items"]}
    assert ("bluesky", "followers") in platforms and ("wikipedia", "pageviews") in platforms
    kit = one_series(site, subject="Kit Connor", platform="bluesky")
    assert kit["latest"]["value"] == 1800  # type: ignore[index]
    page = site.get("/api/series", limit=1, offset=1).json()
    assert page["total"] > 2 and len(page["items"]) == 1 and page["offset"] == 1


def weekly_lasts(rows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The last (week start, value) of each Monday-aligned UTC week."""
    lasts: dict[int, int] = {}
    for ts, value in rows:
        lasts[ts - (ts - MONDAY) % WEEK] = value
    return sorted(lasts.items())


def test_points_range_resample_event_and_pages(site: Site) -> None:
    views = one_series(site, subject="Heartstopper", platform="wikipedia")
    path = f"/api/series/{views['id']}/points"
    points = site.get(path).json()["points"]
    today = site.seeded.today
    expected = {(today - timedelta(days=k)).isoformat(): 100 * k + 7 for k in range(1, 11)}
    assert {from_epoch(p["ts"]).date().isoformat(): p["value"] for p in points} == expected
    # A range: the last three days (since is inclusive, until exclusive).
    since = (today - timedelta(days=3)).isoformat()
    ranged = site.get(path, since=since, until=today.isoformat()).json()["points"]
    assert [p["value"] for p in ranged] == [307, 207, 107]
    # Resampled by week: the last value of each Monday-aligned week.
    weekly = site.get(path, every="1w").json()
    assert weekly["every"] == 7 * 86400
    assert [p["value"] for p in weekly["points"]] == [
        v for _, v in weekly_lasts([(p["ts"], p["value"]) for p in points])
    ]
    # Relative to the campaign's launch (2024-01-15): day numbers counted from it.
    relative = site.get(path, relative_to="LAUNCH").json()
    assert relative["event"] == {"name": "launch", "date": "2024-01-15"}
    assert [p["day"] for p in relative["points"]] == [
        days_since(p["ts"], date(2024, 1, 15)) for p in points
    ]
    # Pages: three at a time, next_offset until the end.
    seen, offset = [], 0
    while offset is not None:
        page = site.get(path, limit=3, offset=offset).json()
        assert page["total"] == 10
        seen += page["points"]
        offset = page["next_offset"]
    assert seen == points


def test_points_csv_and_compare_csv(site: Site) -> None:
    kit = one_series(site, subject="Kit Connor", platform="bluesky")
    answer = site.get(f"/api/series/{kit['id']}/points.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    header, row = answer.text.splitlines()
    assert header == "time,value,day,period,backfilled,sudden,status"
    assert row.split(",")[1] == "1800" and row.split(",")[-1] == "value"
    lines = site.get("/api/compare.csv").text.splitlines()
    assert lines[0].startswith("name,role,subject")
    assert any(line.startswith("kit-bluesky-prelaunch,baseline,Kit Connor") for line in lines)


def test_etag_answers_304_while_nothing_changed(site: Site) -> None:
    first = site.get("/api/compare")
    tag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("max-age=")
    again = httpx.get(site.served.url + "/api/compare", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    other = httpx.get(site.served.url + "/api/compare", headers={"If-None-Match": '"x"'})
    assert other.status_code == 200 and other.json() == first.json()


def test_compare_and_claims_are_the_cli_records(site: Site) -> None:
    compared = site.get("/api/compare", subject="Kit Connor").json()
    baseline = next(c for c in compared if c["name"] == "kit-bluesky-prelaunch")
    assert baseline["value"] == 1200 and baseline["measured"]["value"] == 1800
    assert baseline["change"] == 600 and baseline["percent"] == pytest.approx(50.0)
    config = load(str(site.config), database_url=site.database_url)
    store = Database.open(site.database_url)
    try:
        verdicts = read.claims(config, store)
    finally:
        store.close()
    claims = site.get("/api/claims").json()
    assert [(c["name"], c["status"], c["measured"]) for c in claims] == [
        (v.name, v.verdict, v.measured) for v in verdicts
    ]
    # compare never contradicts claims: the same verdict on every claim, in JSON and CSV.
    every = {c["name"]: c for c in site.get("/api/compare").json()}
    assert [(c["name"], c["status"], c["measured"]) for c in claims] == [
        (c["name"], every[c["name"]]["verdict"], every[c["name"]]["verdict_value"]) for c in claims
    ]
    rows = list(csv.DictReader(io.StringIO(site.get("/api/compare.csv").text)))
    assert {r["name"]: r["verdict"] for r in rows} == {
        name: c["verdict"] for name, c in every.items()
    }


def test_status_health_and_events(site: Site) -> None:
    status = site.get("/api/status").json()
    assert status["campaign"] == "Test campaign"
    assert status["events"] == [{"name": "launch", "date": "2024-01-15"}]
    sources = {s["source"]: s for s in status["sources"]}
    assert set(sources) == {"bluesky", "mastodon", "wikipedia", "netflix"}
    assert all(s["up"] and s["failures_in_a_row"] == 0 for s in sources.values())


def test_bad_requests_name_what_is_wrong(site: Site) -> None:
    missing = site.get("/api/series/999999/points")
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]
    kit = one_series(site, subject="Kit Connor", platform="bluesky")
    bad = site.get(f"/api/series/{kit['id']}/points", every="soon")
    assert bad.status_code == 400 and bad.json()["detail"].startswith("every:")
    event = site.get(f"/api/series/{kit['id']}/points", relative_to="premiere")
    assert event.status_code == 400 and "launch" in event.json()["detail"]
    days = site.get(f"/api/series/{kit['id']}/points", from_day=-3)
    assert days.status_code == 400 and "relative_to" in days.json()["detail"]
    label = site.get("/api/series", label="nolabel")
    assert label.status_code == 400 and "KEY=VALUE" in label.json()["detail"]
    assert httpx.post(site.served.url + "/api/series").status_code == 405  # read-only


def test_cors_is_off_unless_configured(site: Site) -> None:
    asked = {"Origin": "http://dashboard.test"}
    plain = httpx.get(site.served.url + "/api/status", headers=asked)
    assert "access-control-allow-origin" not in plain.headers


def test_another_host_warns_and_cors_when_asked(site: Site) -> None:
    with serve(
        site.config, site.database_url, site.workdir, "--cors-origin", "http://dashboard.test",
        host="0.0.0.0",
    ) as other:  # fmt: skip
        answer = httpx.get(other.url + "/api/status", headers={"Origin": "http://dashboard.test"})
        assert answer.headers["access-control-allow-origin"] == "http://dashboard.test"
        assert "serving on 0.0.0.0" in other.stderr()


def test_no_secret_in_status() -> None:
    store = Database.open("sqlite://")
    try:
        store.upgrade()
        records = Records(store, None, "postgresql://tracker:hunter2secret@db:5432/tracker")
        assert "hunter2secret" not in records.status().model_dump_json()
        assert records.status().database.startswith("postgresql://tracker:***@db")
    finally:
        store.close()


def metrics(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = httpx.get(url + "/metrics").text
    return {
        family.name: [(s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_metrics_latest_values_health_and_labels(site: Site) -> None:
    found = metrics(site.served.url)
    values = found["tracker_series_value"]
    kit = [v for labels, v in values if labels["subject"] == "Kit Connor"
           and labels["platform"] == "bluesky" and labels["metric"] == "followers"]  # fmt: skip
    assert kit == [1800.0]
    # The fakes' Top 10 weeks are from 2022: a chart that ended long ago is no current rank
    # (tests/test_web_metrics.py: what is exported while current, labels and all).
    assert not [labels for labels, _ in values if labels["platform"] == "netflix"]
    ended = {labels["metric"]: v for labels, v in found["tracker_series_ended"]
             if labels["platform"] == "netflix"}  # fmt: skip
    assert ended["chart_rank"] >= 3  # Heartstopper's global, GB and BR ranks at least
    assert {labels["source"]: v for labels, v in found["tracker_source_up"]} == {
        "bluesky": 1.0, "mastodon": 1.0, "netflix": 1.0, "wikipedia": 1.0,
    }  # fmt: skip
    assert all(v == 0 for _, v in found["tracker_source_failures_in_a_row"])
    assert {labels["source"] for labels, _ in found["tracker_round_duration_seconds"]} == {
        "bluesky", "mastodon", "netflix", "wikipedia",
    }  # fmt: skip
    (total,) = found["tracker_series"]
    assert len(values) == len(found["tracker_series_observed_timestamp_seconds"])
    assert total[1] == len(values) + sum(v for _, v in found["tracker_series_ended"])


def test_metrics_cardinality_is_capped_and_counted(site: Site) -> None:
    with serve(site.config, site.database_url, site.workdir, "--max-series", "3") as capped:
        found = metrics(capped.url)
    (total,) = found["tracker_series"]
    assert len(found["tracker_series_value"]) == 3
    ended = sum(v for _, v in found["tracker_series_ended"])
    assert sum(v for _, v in found["tracker_series_omitted"]) == total[1] - ended - 3


def test_latest_values_in_one_query(store: Database) -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [Observation("followers", f"k{i}", 10 * i + d, t0 + timedelta(days=d), "S")
            for i in range(5) for d in range(3)]  # fmt: skip
    store.write("bluesky", rows)
    ids = {s.key: s.id for s in store.find_series(source="bluesky")}
    last = to_epoch(day_start(date(2024, 1, 3)))
    assert sorted(store.latest_values()) == sorted((ids[f"k{i}"], last, 10 * i + 2, None)
                                                   for i in range(5))  # fmt: skip
    week = Observation("chart_rank", "w", 3, t0, "S", period=timedelta(days=7))
    store.write("netflix", [week])
    (rank,) = store.find_series(source="netflix")
    assert (rank.id, to_epoch(t0), 3, 7 * 86400) in store.latest_values()


def test_buckets_keep_the_last_value_and_any_sudden_change() -> None:
    from tracker.store.models import BACKFILLED, SUDDEN
    from tracker.web.records import _buckets

    day = 86400
    rows = [(0, 1, day, None, SUDDEN), (100, 2, day, 3, None), (day, 3, None, None, 0),
            (day + 5, 4, None, None, BACKFILLED)]  # fmt: skip
    assert _buckets(rows, day) == [(0, 2, None, 3, SUDDEN), (day, 4, None, None, BACKFILLED)]


def serve_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "tracker.toml"
    config.write_text('contact = "tests@example.org"\n', encoding="utf-8")
    return entry.run("serve", *args, env=tracker_env(config, f"sqlite:///{tmp_path / 'absent.db'}"))


def test_serve_refuses_bad_input_with_a_message(tmp_path: Path) -> None:
    port = serve_cli(tmp_path, "--port", "70000")
    assert port.returncode == 2 and port.stderr.startswith("error: --port: 70000")
    host = serve_cli(tmp_path, "--host", "not a host")
    assert host.returncode == 2 and host.stderr.startswith("error: --host: 'not a host'")
    origin = serve_cli(tmp_path, "--cors-origin", "grafana")
    assert origin.returncode == 2 and origin.stderr.startswith("error: --cors-origin: 'grafana'")
    missing = serve_cli(tmp_path)
    assert missing.returncode == 1 and "no database at" in missing.stderr
    assert "Traceback" not in port.stderr + missing.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "tracker.toml"]  # created nothing
    shown = serve_cli(tmp_path, "--help")
    assert shown.returncode == 0 and "tracker serve --port" in shown.stdout


def test_serve_says_when_its_port_is_taken(site: Site) -> None:
    port = site.served.url.rsplit(":", 1)[1]
    taken = subprocess.run(
        [sys.executable, "-m", "tracker", "serve", "--port", port],
        env=tracker_env(site.config, site.database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert taken.returncode != 0 and "Traceback" not in taken.stderr
    assert port in taken.stderr


def test_indexed_says_when_a_look_up_reads_no_series(store: Database) -> None:
    store.write(
        "bluesky", [Observation("followers", "k", 1, datetime(2024, 1, 1, tzinfo=UTC), "S")]
    )
    (only,) = store.find_series()
    records = Records(store, None, "sqlite://")
    assert not records.indexed(only.id)  # nothing read yet: the route re-reads off the loop
    assert records.point_rows(only.id).page.total == 1
    assert records.indexed(only.id) and not records.indexed(only.id + 1)
    records._loaded -= SERIES_TTL + 1  # the index is older than its 5 minutes
    assert not records.indexed(only.id)


def test_points_query_is_checked_and_documented_as_one_model(site: Site) -> None:
    sid = one_series(site, subject="Kit Connor", platform="bluesky")["id"]
    for path in (f"/api/series/{sid}/points", f"/api/series/{sid}/points.csv"):
        bad = site.get(path, limit=0)
        assert bad.status_code == 422
        (error,) = bad.json()["detail"]
        assert error["loc"] == ["query", "limit"] and error["ctx"] == {"ge": 1}
        long = site.get(path, since="x" * 41)
        assert long.status_code == 422 and long.json()["detail"][0]["loc"] == ["query", "since"]
        assert site.get(path, limit=1, unknown="ignored").status_code == 200
    page = site.get(f"/api/series/{sid}/points", limit=1, offset=1, since="2000-01-01").json()
    assert (page["limit"], page["offset"], page["total"]) == (1, 1, 1)
    schema = site.get("/openapi.json").json()["paths"]
    for path in ("/api/series/{series_id}/points", "/api/series/{series_id}/points.csv"):
        params = {p["name"]: p for p in schema[path]["get"]["parameters"]}
        assert list(params) == ["series_id", "since", "until", "every", "relative_to",
                                "from_day", "to_day", "offset", "limit"]  # fmt: skip
        assert params["limit"]["schema"]["maximum"] == 100_000
        assert params["since"]["in"] == "query" and "422" in schema[path]["get"]["responses"]


def test_points_wait_on_a_server_database_in_the_thread_pool(
    store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a SQLite file's read of a default-sized page runs on the event loop: a server
    database's read waits on the network, and a big page reads for long."""
    import asyncio

    from tracker.web import api
    from tracker.web.app import create_app

    hops: list[str] = []
    real = api.run_in_threadpool

    async def counted(func, *args, **kwargs):  # type: ignore[no-untyped-def]
        hops.append(getattr(func, "__name__", "read"))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(api, "run_in_threadpool", counted)
    store.write(
        "bluesky", [Observation("followers", "k", 1, datetime(2024, 1, 1, tzinfo=UTC), "S")]
    )
    (only,) = store.find_series()
    records = Records(store, None, str(store.url))
    records.all_series()  # the index is fresh: only the database decides
    local = store.url.get_backend_name() == "sqlite"
    path = f"/api/series/{only.id}/points"

    async def ask(limit: int) -> int:
        transport = httpx.ASGITransport(app=create_app(records))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            total: int = (await client.get(path, params={"limit": limit})).json()["total"]
            return total

    assert asyncio.run(ask(10)) == 1
    assert len(hops) == (0 if local else 1)
    assert asyncio.run(ask(api.ON_LOOP + 1)) == 1
    assert len(hops) == (1 if local else 2)


def test_a_point_with_every_field_set_round_trips(store: Database, tmp_path: Path) -> None:
    """The points' JSON leaves out each field equal to its default (API 2), and what it writes
    reads back, absent fields as their defaults, as the read model's point: a chart week
    backfilled and sudden, weeks "not in chart", periods and days since an event; a plain
    series' point is its time and value alone."""
    import asyncio

    from tests.test_read import chart
    from tracker.store.models import BACKFILLED, SUDDEN
    from tracker.web.app import create_app
    from tracker.web.models import PointRecord

    weeks = [date(2022, 4, 18) + k * timedelta(days=7) for k in range(6)]
    store.write("netflix", chart("Show", "GB", {weeks[0]: 5}), flags=BACKFILLED | SUDDEN)
    store.write("netflix", chart("Show", "GB", {weeks[5]: 9}))
    # Other is in GB's list in weeks 1..3: Show is "not in chart" then.
    store.write("netflix", chart("Other", "GB", dict.fromkeys(weeks[1:4], 1)))
    at = datetime(2022, 4, 20, 12, tzinfo=UTC)
    store.write("bluesky", [Observation("followers", "k", 100 + k, at + k * timedelta(hours=9),
                                        "Kit") for k in range(5)])  # fmt: skip
    config = tmp_path / "tracker.toml"
    config.write_text(
        'contact = "t@example.org"\n[campaign]\nname = "C"\nlaunch = 2022-04-22\n',
        encoding="utf-8",
    )
    records = Records(store, load(config), str(store.url))
    (show,) = store.find_series(subject="Show")
    (kit,) = store.find_series(subject="Kit")
    asks = [{}, {"relative_to": "launch"}, {"relative_to": "launch", "every": "1w"},
            {"relative_to": "launch", "from_day": 0, "to_day": 20}, {"every": "1d"}]  # fmt: skip

    async def fetch(series_id: int, params: dict[str, object]) -> list[dict[str, object]]:
        transport = httpx.ASGITransport(app=create_app(records))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answer = await client.get(f"/api/series/{series_id}/points", params=params)
            assert answer.status_code == 200, answer.text
            got: list[dict[str, object]] = answer.json()["points"]
            return got

    seen: set[str] = set()
    for params in asks:
        written = asyncio.run(fetch(show.id, params))
        want = records.points(show.id, **_options(params)).points
        assert len(written) == len(want) > 0
        assert [PointRecord.model_validate(p) for p in written] == want, params
        for point, model in zip(written, want, strict=True):
            # A field is written exactly when it is not its default.
            defaults = {k: f.default for k, f in PointRecord.model_fields.items() if k != "ts"}
            shown = {k for k, v in model.model_dump().items() if k not in defaults or
                     k == "value" or v != defaults[k]}  # fmt: skip
            assert set(point) == shown, (params, point)
        seen |= {k for p in written for k in p}
    assert seen == set(PointRecord.model_fields)  # every field, away from its default, somewhere
    first = asyncio.run(fetch(show.id, {"relative_to": "launch"}))[0]
    start = to_epoch(datetime(2022, 4, 18, tzinfo=UTC))
    assert first == {"ts": start, "value": 5, "period": 7 * 86400, "day": -4,
                     "backfilled": True, "sudden": True}  # fmt: skip
    plain = asyncio.run(fetch(kit.id, {}))
    assert plain == [{"ts": to_epoch(at + k * timedelta(hours=9)), "value": 100 + k}
                     for k in range(5)]  # fmt: skip


def _options(params: dict[str, object]) -> dict[str, object]:
    """The API's query as `Records.point_rows` options (`every` in seconds)."""
    steps = {"1w": 7 * 86400, "1d": 86400}
    return {k: steps[str(v)] if k == "every" else v for k, v in params.items()}


def test_served_app_collects_young_objects_less_often_and_restores() -> None:
    """While the app is served (its lifespan), the collector's young threshold is GC_THRESHOLD:
    a 10,000-point read's rows are freed before a pass meets them; afterwards, as it was."""
    import asyncio
    import gc

    from tracker.web.app import GC_THRESHOLD, create_app

    store = Database.open("sqlite://")
    try:
        store.upgrade()
        app = create_app(Records(store, None, "sqlite://"))
        before = gc.get_threshold()

        async def served() -> tuple[int, int, int]:
            async with app.router.lifespan_context(app):
                return gc.get_threshold()

        assert asyncio.run(served()) == (max(GC_THRESHOLD, before[0]), *before[1:])
        assert gc.get_threshold() == before
    finally:
        store.close()


def test_database_written_points_are_the_rows_written_in_python(store: Database) -> None:
    """A plain series' JSON points come written by the database (`Store.point_objects`):
    the same text, byte for byte, as the rows written by the API's own writer, for points
    with periods and every combination of flags, over ranges and pages (past the end
    included), with the same totals."""
    from tracker.store.models import BACKFILLED, SUDDEN
    from tracker.web.api import _TAILS, points_json

    at = datetime(2024, 3, 1, tzinfo=UTC)
    hour = timedelta(hours=1)
    for k, flags in enumerate([None, BACKFILLED, SUDDEN, BACKFILLED | SUDDEN, None, SUDDEN]):
        period = timedelta(days=7) if k % 2 else None
        observation = Observation("views", "k", 10**12 + k, at + k * hour, "Kit", period=period)
        store.write("bluesky", [observation], flags=flags)
    (kit,) = store.find_series(subject="Kit")
    records = Records(store, None, str(store.url))
    start = to_epoch(at)
    asks = [{}, {"since": start + 3600}, {"until": start + 4 * 3600},
            {"since": start + 3600, "until": start + 5 * 3600, "offset": 1, "limit": 2},
            {"limit": 1}, {"offset": 5}, {"offset": 6}, {"offset": 50, "limit": 1},
            {"since": start + 99 * 3600}]  # fmt: skip
    for ask in asks:
        options: dict[str, object] = {"limit": 10_000} | ask
        rows = records.point_rows(kit.id, **options)  # type: ignore[arg-type]
        text = records.point_rows(kit.id, **options, tails=_TAILS)  # type: ignore[arg-type]
        assert rows.text is None and text.text is not None and text.rows == ()
        assert text.page == rows.page, ask
        assert points_json(text) == points_json(rows), ask
    whole = json_points(points_json(records.point_rows(kit.id, tails=_TAILS)))
    assert whole[1] == {"ts": start + 3600, "value": 10**12 + 1, "period": 7 * 86400,
                        "backfilled": True}  # fmt: skip
    assert whole[3]["sudden"] is whole[3]["backfilled"] is True and len(whole) == 6


def json_points(body: bytes) -> list[dict[str, object]]:
    import json

    points: list[dict[str, object]] = json.loads(body)["points"]
    return points
