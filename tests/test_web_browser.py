"""Headless Chromium (Debian's, driven by Playwright: no browser download) loads each page
of `tracker serve` over a database holding the real Netflix Top 10 import and fake-platform
rounds, and checks what the charts drew. Screenshots are saved in the test's tmp dir."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import SHARED
from tests.webserve import Served, fakes_seeded, serve, tracker

DATA = SHARED / "data" / "netflix-top10"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FILES = ("all-weeks-countries.to-2022-11-13.tsv", "all-weeks-global.2022-05-25.tsv")
pytestmark = [
    pytest.mark.skipif(not DATA.is_dir(), reason=f"no Netflix Top 10 files at {DATA}"),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run does)"
    ),
]
# Heartstopper's real launch, renewal and claim, beside the fixture campaign's Kit Connor ones.
LAUNCH = ("launch = 2024-01-15", "launch = 2022-04-22")
EXTRA = """
[[campaign.claims]]
name = "netflix-top10-countries"
subject = "Heartstopper"
source = "netflix"
metric = "countries_in_top10"
value = 54
at = 2022-05-20
citation = "Netflix renewal announcement, 2022-05-20"

[[campaign.events]]
name = "renewal"
date = 2022-05-20
"""
DRAWN = "() => [...document.querySelectorAll('.plot')].every(e => e.dataset.drawn !== undefined)"
# Per chart: each trace's kind, name and the markers Plotly put in the SVG for it.
TRACES = """(id) => {
  const gd = document.getElementById(id);
  const drawn = gd.querySelectorAll('.scatterlayer .trace');
  return gd.data.map((t, i) => ({meta: t.meta, name: t.name, x: t.x, y: t.y,
                                 points: drawn[i].querySelectorAll('path.point').length}));
}"""
# Each layout shape (baselines, events, periods) with its rendered path.
SHAPES = """(id) => {
  const gd = document.getElementById(id);
  const paths = gd.querySelectorAll('.shapelayer path');
  const y = gd._fullLayout.yaxis;
  return gd._fullLayout.shapes.map((s, i) => ({name: s.name || '', type: s.type, y0: s.y0,
      pixel: s.type === 'line' && s.yref === 'y' ? y._offset + y.l2p(s.y0) : null,
      d: paths[i] ? paths[i].getAttribute('d') : null}));
}"""


@dataclass
class Site:
    served: Served
    shots: Path

    def api(self, path: str, **params: Any) -> Any:
        return httpx.get(self.served.url + path, params=params, timeout=60).json()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{workdir / 'tracker.db'}"
    with fakes_seeded() as seeded:
        config = workdir / "tracker.toml"
        config.write_text(seeded.config_text(extra=EXTRA).replace(*LAUNCH), encoding="utf-8")
        tracker(config, url, "run", "--once")
        for name in FILES:
            tracker(config, url, "import", "netflix-top10", str(DATA / name))
        with serve(config, url, workdir) as served:
            yield Site(served, workdir)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    page.close()
    assert errors == [], f"the page logged errors: {errors}"


def load(page: Any, site: Site, path: str, shot: str) -> None:
    """Open a page, wait until every chart is drawn, save a screenshot (and a copy in
    $WEB_SCREENSHOTS, when set, to look at after the run)."""
    page.goto(site.served.url + path)
    page.wait_for_function(DRAWN, timeout=60_000)
    file = site.shots / f"{shot}.png"
    page.screenshot(path=str(file), full_page=True)
    if keep := os.environ.get("WEB_SCREENSHOTS"):
        shutil.copy(file, Path(keep) / file.name)


def test_overview_shows_claims_baselines_and_health(page: Any, site: Site) -> None:
    load(page, site, "/", "overview")
    claims = site.api("/api/claims")
    netflix = next(c for c in claims if c["name"] == "netflix-top10-countries")
    assert netflix["measured"] and netflix["evidence"]  # the real import measures it
    rows = page.locator("#claims tr").all_inner_texts()[1:]
    assert len(rows) == len(claims)
    row = next(r for r in rows if r.startswith("netflix-top10-countries"))
    assert netflix["status"] in row and f"{netflix['measured']}" in row
    assert len(page.locator("#compare tr").all()) - 1 == len(site.api("/api/compare"))
    health = page.locator("#sources tr").all_inner_texts()[1:]
    assert sorted(r.split("\t")[0] for r in health) == ["bluesky", "mastodon", "netflix",
                                                        "wikipedia"]  # fmt: skip
    assert all("\tyes\t" in r for r in health)


def expected_points(site: Site, series_id: int, **params: Any) -> int:
    """The points a chart must draw: every point of the series with a value. A week a chart
    series was "not in chart" (value null) is a gap in its line, never a drawn rank."""
    page = site.api(f"/api/series/{series_id}/points", limit=100_000, **params)
    assert len(page["points"]) == page["total"]
    return sum(p["value"] is not None for p in page["points"])


# The pages plot a week "not in chart" only within this of a value (dashboard.js EVENT_REACH):
# a listing published for a year before a show came out would squash its chart.
REACH = 45 * 86400


def not_in_chart(site: Site, series_id: int, **params: Any) -> int:
    """A series' weeks "not in chart" that its chart plots (as gaps)."""
    page = site.api(f"/api/series/{series_id}/points", limit=100_000, **params)
    values = [p["ts"] for p in page["points"] if p["value"] is not None]
    lo, hi = (min(values) - REACH, max(values) + REACH) if values else (None, None)
    return sum(
        p.get("status") == "not in chart" and (lo is None or lo <= p["ts"] <= hi)
        for p in page["points"]  # status absent: "value"
    )


def test_subject_page_draws_every_point_and_the_periods(page: Any, site: Site) -> None:
    load(page, site, "/subjects/Heartstopper", "subject-heartstopper")
    charts = page.locator(".plot[data-chart]").all()
    assert len(charts) == 3  # netflix chart_rank, netflix hours_viewed, wikipedia pageviews
    for chart in charts:
        spec = chart.get_attribute("data-chart")
        ids = [s["id"] for s in json.loads(spec)["series"]]
        traces = page.evaluate(TRACES, chart.get_attribute("id"))
        series = [t for t in traces if t["meta"] == "series"]
        assert [t["points"] for t in series] == [expected_points(site, i) for i in ids]
        assert int(chart.get_attribute("data-drawn")) == sum(t["points"] for t in series)
        # A "not in chart" week is in the trace's data as a gap (y null), never a marker.
        assert [sum(y is None for y in t["y"]) for t in series] == [
            not_in_chart(site, i) for i in ids
        ]
    # The real import has weeks Heartstopper's per-country lists were published without it.
    (ranks,) = [c for c in charts if "chart_rank" in (c.get_attribute("data-chart") or "")]
    rank_ids = [s["id"] for s in json.loads(ranks.get_attribute("data-chart"))["series"]]
    assert sum(not_in_chart(site, i) for i in rank_ids) > 0
    # Weekly chart points are periods: drawn as spans behind the first series' drawn points.
    netflix = page.evaluate(SHAPES, "chart-0")
    spans = [s for s in netflix if s["type"] == "rect"]
    first = page.evaluate(TRACES, "chart-0")[0]
    assert len(spans) == first["points"] and all(s["d"] for s in spans)
    # The launch and the renewal are within the Netflix data's weeks: their lines are drawn.
    assert [s["name"] for s in netflix if s["type"] == "line"] == ["event launch", "event renewal"]
    assert all(s["d"] for s in netflix)
    table = page.locator("table.daily").first.inner_text()
    assert "change" in table


def test_baseline_line_and_claim_marker(page: Any, site: Site) -> None:
    load(page, site, "/subjects/" + quote("Kit Connor"), "subject-kit-connor")
    bluesky = next(
        c.get_attribute("id")
        for c in page.locator(".plot[data-chart]").all()
        if "bluesky" in (c.get_attribute("data-chart") or "")
    )
    shapes = page.evaluate(SHAPES, bluesky)
    (baseline,) = [s for s in shapes if s["name"].startswith("baseline")]
    assert baseline["y0"] == 1200 and baseline["d"]
    # Drawn as a horizontal line across the plot at the pixel row of 1,200 on the y axis.
    match = re.fullmatch(r"M([\d.]+),([\d.]+)L([\d.]+),([\d.]+)", baseline["d"])
    assert match, baseline["d"]
    x0, y0, x1, y1 = (float(v) for v in match.groups())
    assert y0 == y1 and abs(y0 - baseline["pixel"]) < 1 and x1 - x0 > 500
    traces = page.evaluate(TRACES, bluesky)
    (claim,) = [t for t in traces if t["meta"] == "claim"]
    assert claim["points"] == 1
    (measured,) = [t for t in traces if t["meta"] == "series"]
    assert measured["points"] == 1


def test_launch_relative_overlay(page: Any, site: Site) -> None:
    global_hours = site.api("/api/series", subject="Heartstopper", metric="hours_viewed")
    ranks = site.api("/api/series", subject="Heartstopper", metric="chart_rank", limit=3)
    ids = [s["id"] for s in global_hours["items"] + ranks["items"]]
    query = "&".join(f"series={i}" for i in ids)
    load(page, site, f"/overlay?{query}&relative_to=launch&from_day=-30&to_day=90", "overlay")
    traces = page.evaluate(TRACES, "overlay")
    window = {"relative_to": "launch", "from_day": -30, "to_day": 90, "every": "1d"}
    assert [t["points"] for t in traces] == [expected_points(site, i, **window) for i in ids]
    assert all(-30 <= x <= 90 for t in traces for x in t["x"])
    assert sum(t["points"] for t in traces) > 0
