"""The web's points are the read model's rows: a chart series' "not in chart" weeks appear
in the API (JSON and CSV, ranges, pages, resampled, relative to an event) exactly as
`tracker history --format json` gives them — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.test_read import WEEK, chart, monday
from tests.webserve import serve, tracker
from tracker.core import Observation
from tracker.read import NOT_IN_CHART, VALUE
from tracker.store import Store
from tracker.timeutil import from_epoch, to_epoch
from tracker.web.models import PointRecord

CONFIG = """contact = "test@example.org"

[campaign]
name = "Web read"
launch = 2022-04-22
"""
WEEKS = [date(2022, 4, 18) + k * WEEK for k in range(6)]


def seed(store: Store) -> None:
    """Show is in GB's list in weeks 0 and 5; the listing is known (from Other, never asked
    for) to be published in weeks 0..3 and 5; nothing is stored for week 4 (unknown: no
    point, not "not in chart"). Kit's followers are instants: no chart."""
    store.write("netflix", chart("Show", "GB", {WEEKS[0]: 5, WEEKS[5]: 9}))
    store.write("netflix", chart("Other", "FR", {WEEKS[0]: 1, WEEKS[1]: 1, WEEKS[2]: 1}))
    store.write("netflix", chart("Other", "GB", {WEEKS[3]: 2}))
    start = datetime(2022, 4, 20, 12, tzinfo=UTC)
    store.write("bluesky", [
        Observation("followers", "did:plc:kit", 100 + k, start + k * timedelta(hours=9), "Kit",
                    "kit.bsky.social")
        for k in range(30)
    ])  # fmt: skip


def stamp(ts: int) -> str:
    return from_epoch(ts).isoformat()


def points(page: dict[str, Any]) -> list[dict[str, Any]]:
    """A page's points with every field, an absent one read as its schema default (API 2
    leaves them out), as a client reads them."""
    return [PointRecord.model_validate(p).model_dump() for p in page["points"]]


def test_points_are_history_rows_not_in_chart_included(
    database_url: str, store: Store, tmp_path: Path
) -> None:
    seed(store)
    config = tmp_path / "tracker.toml"
    config.write_text(CONFIG, encoding="utf-8")
    cli = json.loads(tracker(config, database_url, "history", "Show", "--format", "json").stdout)
    (series,) = cli["series"]
    want = [(p["start"], p["value"], p["status"]) for p in series["points"]]
    starts = [stamp(to_epoch(monday(d))) for d in WEEKS]
    assert want == [
        (starts[0], 5, VALUE),
        (starts[1], None, NOT_IN_CHART),
        (starts[2], None, NOT_IN_CHART),
        (starts[3], None, NOT_IN_CHART),
        (starts[5], 9, VALUE),
    ]
    with serve(config, database_url, tmp_path) as served:

        def get(path: str, **params: Any) -> httpx.Response:
            answer = httpx.get(served.url + path, params=params, timeout=60)
            assert answer.status_code == 200, answer.text
            return answer

        (show,) = get("/api/series", subject="Show", metric="chart_rank").json()["items"]
        url = f"/api/series/{show['id']}/points"
        answer = get(url)
        page = answer.json()
        got = [(stamp(p["ts"]), p["value"], p["status"]) for p in points(page)]
        assert got == want and page["total"] == len(want)
        assert [p["period"] for p in points(page)] == [7 * 86400] * len(want)
        # Its ETag still answers a poller with an empty 304.
        again = httpx.get(served.url + url, headers={"If-None-Match": answer.headers["ETag"]})
        assert again.status_code == 304 and again.content == b""

        # CSV: the same rows, the value empty and the status said.
        rows = list(csv.DictReader(io.StringIO(get(url + ".csv").text)))
        assert [(r["value"], r["status"]) for r in rows] == [
            ("" if v is None else str(v), s) for _, v, s in want
        ]
        # A range asks the listing within it; pages count the not-in-chart weeks.
        since, until = to_epoch(monday(WEEKS[1])), to_epoch(monday(WEEKS[3]))
        part = get(url, since=stamp(since), until=stamp(until)).json()
        assert [(stamp(p["ts"]), p["status"]) for p in points(part)] == [
            (starts[1], NOT_IN_CHART), (starts[2], NOT_IN_CHART),
        ]  # fmt: skip
        one = get(url, offset=1, limit=2).json()
        assert (one["total"], one["next_offset"]) == (5, 3)
        assert [(stamp(p["ts"]), p["value"]) for p in points(one)] == [
            (starts[1], None), (starts[2], None),
        ]  # fmt: skip
        # Resampled by week: each week's last row, "not in chart" when it is.
        weekly = points(get(url, every="1w").json())
        assert [(stamp(p["ts"]), p["value"], p["status"]) for p in weekly] == want
        # Relative to the launch (Friday 2022-04-22): day N of each week's start.
        relative = get(url, relative_to="launch", from_day=0, to_day=20).json()
        assert [(p["day"], p["value"], p["status"]) for p in points(relative)] == [
            (3, None, NOT_IN_CHART), (10, None, NOT_IN_CHART), (17, None, NOT_IN_CHART),
        ]  # fmt: skip
        assert relative["points"] == [
            p for p in get(url, relative_to="launch").json()["points"] if 0 <= p["day"] <= 20
        ]

        # A series that is no chart's: every point a value, as stored.
        (kit,) = get("/api/series", subject="Kit").json()["items"]
        kit_points = points(get(f"/api/series/{kit['id']}/points").json())
        assert [(p["value"], p["status"]) for p in kit_points] == [
            (100 + k, VALUE) for k in range(30)
        ]
        kit_cli = json.loads(tracker(config, database_url, "history", "Kit", "--format", "json")
                             .stdout)["series"][0]["points"]  # fmt: skip
        assert [(stamp(p["ts"]), p["value"], p["status"]) for p in kit_points] == [
            (p["start"], p["value"], p["status"]) for p in kit_cli
        ]
