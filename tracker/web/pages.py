"""The dashboard pages: campaign overview, subject page, launch-relative overlay.

Rendered with Jinja2 from the same records the API serves; the charts are drawn in the
browser by plotly.js, served from the plotly wheel installed here (no CDN: works offline).
The pages poll the API (with ETags) and redraw when a new round lands.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tracker.baselines import human
from tracker.read.periods import CHART
from tracker.web.models import SeriesRecord
from tracker.web.records import NotFound, Records, iso

HERE = Path(__file__).parent
STATIC = {"dashboard.js": "text/javascript", "style.css": "text/css"}
# A chart draws at most this many series; the page says how many more there are.
MAX_TRACES = 12
# Rows of the daily-change table, and how many series it covers.
DAYS_SHOWN = 14
TABLE_SERIES = 6
POLL_SECONDS = 30

router = APIRouter(include_in_schema=False)
_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["human"] = human


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _records(request: Request) -> Records:
    found: Records = request.app.state.records
    return found


def _page(name: str, **context: Any) -> HTMLResponse:
    html = _env.get_template(name).render(poll=POLL_SECONDS, **context)
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)


@router.get("/static/plotly.min.js")
def plotly_js() -> Response:
    return FileResponse(_plotly_js(), media_type="text/javascript")


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        raise NotFound(f"no static file {name!r}")
    return FileResponse(HERE / "static" / name, media_type=STATIC[name])


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    records = _records(request)
    comparisons = records.compare()
    subjects = records.subjects()
    return _page(
        "overview.html",
        campaign=records.campaign_name(),
        claims=records.claims(),
        comparisons=comparisons,
        status=records.status(),
        subjects=subjects,
    )


@router.get("/subjects/{subject}", response_class=HTMLResponse)
def subject(request: Request, subject: str) -> HTMLResponse:
    records = _records(request)
    found = records.series(subject, limit=1000).items
    if not found:
        raise NotFound(f"no recorded series for {subject!r}")
    charts = _charts(records, found)
    return _page(
        "subject.html",
        subject=found[0].subject,
        charts=charts,
        tables=_daily_tables(records, found),
        events=[e.model_dump() for e in records.status().events],
    )


@router.get("/overlay", response_class=HTMLResponse)
def overlay(
    request: Request,
    series: Annotated[list[int] | None, Query()] = None,
    relative_to: str = "launch",
    from_day: Annotated[int, Query(ge=-3650, le=3650)] = -30,
    to_day: Annotated[int, Query(ge=-3650, le=3650)] = 90,
) -> HTMLResponse:
    records = _records(request)
    on = records.event(relative_to)
    if series:
        chosen = [records.record(records.series_info(i)) for i in series[:MAX_TRACES]]
    else:
        chosen = _campaign_series(records)
    return _page(
        "overlay.html",
        event={"name": on[0], "date": on[1].isoformat()},
        series=[s.model_dump() for s in chosen],
        from_day=from_day,
        to_day=to_day,
    )


def _campaign_series(records: Records) -> list[SeriesRecord]:
    """Default overlay: the series the campaign's baselines and claims are about."""
    out: list[SeriesRecord] = []
    for c in records.compare():
        for s in records.series(c.subject, c.platform, c.metric, limit=MAX_TRACES).items:
            if all(s.id != o.id for o in out):
                out.append(s)
    return out[:MAX_TRACES]


def _charts(records: Records, found: list[SeriesRecord]) -> list[dict[str, Any]]:
    """One chart per (platform, metric): its series, baselines, claims and events."""
    groups: dict[tuple[str, str], list[SeriesRecord]] = {}
    for s in found:
        groups.setdefault((s.platform, s.metric), []).append(s)
    refs = records.compare(subjects=[found[0].subject])
    charts = []
    for n, ((platform, metric), members) in enumerate(sorted(groups.items())):
        members.sort(key=lambda s: (-(s.latest.ts if s.latest else 0), s.key, s.id))
        drawn = members[:MAX_TRACES]
        mine = [r for r in refs if r.platform == platform and r.metric == metric]
        charts.append(
            {
                "id": f"chart-{n}",
                "title": f"{platform} · {metric}",
                "metric": metric,
                "series": [{"id": s.id, "name": _name(s, members)} for s in drawn],
                "more": len(members) - len(drawn),
                "baselines": [
                    {"name": r.name, "value": r.value, "at": r.at}
                    for r in mine
                    if r.role == "baseline"
                ],  # fmt: skip
                "claims": [
                    {"name": r.name, "value": r.value, "at": r.at}
                    for r in mine
                    if r.role == "claim"
                ],  # fmt: skip
            }
        )
    return charts


def _name(s: SeriesRecord, members: list[SeriesRecord]) -> str:
    """A series' name in its chart: its label, and the labels that tell it from the others."""
    differ = [k for k, v in s.labels.items() if any(o.labels.get(k) != v for o in members)]
    parts = [f"{k}={s.labels[k]}" for k in differ]
    if len({o.label or o.key for o in members}) > 1 or not parts:
        parts.insert(0, s.label or s.key)
    return " ".join(parts)


def _daily_tables(records: Records, found: list[SeriesRecord]) -> list[dict[str, Any]]:
    """Social Blade's table: the last value of each day, and its change from the day before."""
    day = int(timedelta(days=1).total_seconds())
    tables = []
    recent = sorted(found, key=lambda s: -(s.latest.ts if s.latest else 0))
    for s in recent[:TABLE_SERIES]:
        if s.latest is None:
            continue
        since = s.latest.ts - (DAYS_SHOWN + 1) * day
        points = records.points(s.id, since=since, every=day).points
        rows = []
        for before, after in zip([None, *points], points, strict=False):
            # A week "not in chart" has no value: no change into it, nor out of it.
            change = None
            if before is not None and before.value is not None and after.value is not None:
                change = after.value - before.value
            # A rank that falls (2 -> 1) is the good news: green, as a count that grows.
            better = change is not None and change != 0 and (change < 0) == (s.metric == CHART)
            trend = "" if not change else ("up" if better else "down")
            rows.append({"day": (iso(after.ts) or "")[:10], "value": after.value,
                         "status": after.status, "change": change, "trend": trend})  # fmt: skip
        tables.append({"series": s, "rows": list(reversed(rows[-DAYS_SHOWN:]))})
    return tables
