"""/api: the records as JSON (and CSV where a table makes sense), read-only.

Every answer carries an ETag (a checksum of its body) and Cache-Control; a poller that sends
the ETag back as If-None-Match gets an empty 304 while nothing changed.

On SQLite the points route runs on the event loop: its work is one indexed range read of a
local file that writes the points' JSON itself (`Store.point_objects`; ~0.36 ms per 1,000
points, load ~2.4), CPU under the GIL either way, and a hop to the thread pool and back cost
more than a small series' whole answer (measured by benchmarks/web.py against Prometheus's
query_range). On a server database the read waits on the network, so it runs in the thread
pool and never stalls the other requests.
"""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from tracker.baselines import DAY
from tracker.errors import UsageError
from tracker.read.records import NOT_IN_CHART
from tracker.store.models import BACKFILLED, FLAG_BITS, SUDDEN
from tracker.timeutil import parse_duration, parse_moment, to_epoch
from tracker.web.models import (
    ComparisonRecord,
    PointsPage,
    Problem,
    SeriesPage,
    StatusRecord,
    VerdictRecord,
)
from tracker.web.records import MAX_LIMIT, PointRows, Records, iso

CACHE_CONTROL = "max-age=5, must-revalidate"
# Day N is at most 100 years from its event (as `tracker compare --at`).
MAX_DAYS = 36500
# The widest int a store holds, so a query bound past it is refused, not a 500.
BIG = 2**62

router = APIRouter(
    prefix="/api",
    responses={
        400: {"model": Problem, "description": "A parameter is wrong; `detail` says which."},
        404: {"model": Problem, "description": "No such series."},
        503: {"model": Problem, "description": "The database could not answer."},
    },
)


def records(request: Request) -> Records:
    found: Records = request.app.state.records
    return found


def cached(request: Request, body: bytes, media_type: str) -> Response:
    """`body` with its ETag, or a 304 when the client already has it. The tag is the body's
    CRC-32 and length: a poller misses a change once in 2**32 (a 0.9 MB body's BLAKE2 took
    ~2% of its answer)."""
    tag = f'"{zlib.crc32(body):08x}-{len(body):x}"'
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    asked = request.headers.get("if-none-match", "")
    if tag in [t.strip() for t in asked.split(",")] or asked.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def as_json(request: Request, value: BaseModel | Sequence[BaseModel]) -> Response:
    if isinstance(value, BaseModel):
        body = value.model_dump_json().encode()
    else:
        body = ("[" + ",".join(v.model_dump_json() for v in value) + "]").encode()
    return cached(request, body, "application/json")


def as_csv(request: Request, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return cached(request, out.getvalue().encode(), "text/csv; charset=utf-8")


def _labels(items: Sequence[str] | None) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"label: {item!r} is not KEY=VALUE (e.g. list=GB)")
        pairs[key] = value
    return pairs


def _moment(option: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return to_epoch(parse_moment(text))
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _every(text: str | None) -> int | None:
    if not text:
        return None
    try:
        step = int(parse_duration(text).total_seconds())
    except ValueError as exc:
        raise UsageError(f"every: {exc}") from None
    return step


Subject = Annotated[
    str | None, Query(min_length=1, max_length=200, description="Who or what (any case).")
]
Platform = Annotated[str | None, Query(max_length=40, description="A source's name.")]
Metric = Annotated[str | None, Query(max_length=40, description="e.g. followers")]
Offset = Annotated[int, Query(ge=0, le=BIG)]


@router.get("/series", response_model=SeriesPage, summary="Series, with filters")
def series(
    request: Request,
    subject: Subject = None,
    platform: Platform = None,
    metric: Metric = None,
    label: Annotated[list[str] | None, Query(description="KEY=VALUE, repeatable")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    page = records(request).series(subject, platform, metric, _labels(label), offset, limit)
    return as_json(request, page)


class PointsQuery(BaseModel):
    """The query parameters the points' JSON and CSV share, validated by one pydantic call:
    FastAPI's validation one parameter at a time was ~22% of a small answer's CPU. The
    routes' OpenAPI parameters are written from this model (`POINTS_PARAMETERS`)."""

    since: str | None = Field(None, max_length=40, description="30d, 2022-04-01 ...")
    until: str | None = Field(None, max_length=40, description="A date or time (exclusive).")
    every: str | None = Field(None, max_length=20, description="Last value per 1h, 1d, 1w ...")
    relative_to: str | None = Field(
        None, max_length=100, description="launch or an event: add `day` to points"
    )
    from_day: int | None = Field(None, ge=-MAX_DAYS, le=MAX_DAYS)
    to_day: int | None = Field(None, ge=-MAX_DAYS, le=MAX_DAYS)
    offset: int = Field(0, ge=0, le=BIG)
    limit: int = Field(10_000, ge=1, le=MAX_LIMIT)


# The most points a page read on the event loop may hold (the default page, ~6 ms on SQLite).
ON_LOOP = 10_000

POINTS_PARAMETERS = {
    "parameters": [
        {"name": name, "in": "query", "required": False, "schema": schema}
        | ({"description": schema["description"]} if "description" in schema else {})
        for name, schema in PointsQuery.model_json_schema()["properties"].items()
    ]
}


async def _points(request: Request, series_id: int) -> PointRows:
    """The points as rows (the CSV's)."""
    return await _read(request, series_id, None)


async def _point_text(request: Request, series_id: int) -> PointRows:
    """The points for the JSON: a plain series' as the database writes them (`_TAILS`)."""
    return await _read(request, series_id, _TAILS)


async def _read(request: Request, series_id: int, tails: Sequence[str] | None) -> PointRows:
    """The points a request asks for (its query as `PointsQuery`; a bad one is a 422 naming
    the parameter, as FastAPI's own).

    On the event loop for a SQLite file (see the module's docstring); in the thread pool for
    a server database, or when the series index must be re-read first (a new or unknown id,
    or its 5 min are up), so that re-read never stalls the other requests; and for a page of
    more than ON_LOOP points (up to MAX_LIMIT: ~150 ms of reading)."""
    try:
        query = PointsQuery.model_validate(request.query_params)
    except ValidationError as exc:
        raise RequestValidationError(
            [error | {"loc": ("query", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None
    found = records(request)
    read = partial(
        found.point_rows,
        series_id,
        _moment("since", query.since),
        _moment("until", query.until),
        _every(query.every),
        query.relative_to,
        query.from_day,
        query.to_day,
        query.offset,
        query.limit,
        tails,
    )
    if found.local and query.limit <= ON_LOOP and found.indexed(series_id):
        return read()
    return await run_in_threadpool(read)


# What a point's flag bits add to its JSON: only the flags that are set (false is the
# schema's default, left out).
_TRUE_FLAGS = tuple(
    "".join(f',"{name}":true' for bit, name in ((BACKFILLED, "backfilled"), (SUDDEN, "sudden"))
            if bits & bit)
    for bits in range(FLAG_BITS + 1)
)  # fmt: skip
_NOT_IN_CHART = f'null,"status":"{NOT_IN_CHART}"'
# What closes a point's object written by the database, by its flag bits.
_TAILS = tuple(flags + "}" for flags in _TRUE_FLAGS)


def _point(ts: int, value: int | None, period: int | None, bits: int, day: int | None) -> str:
    """One point's JSON, every field equal to its default left out (the general case)."""
    text = f'{{"ts":{ts},"value":{_NOT_IN_CHART if value is None else value}'
    if period is not None:
        text += f',"period":{period}'
    if day is not None:
        text += f',"day":{day}'
    return text + _TRUE_FLAGS[bits & FLAG_BITS] + "}"


def points_json(found: PointRows) -> bytes:
    """The PointsPage JSON, its points written straight from the rows (the schema's shape,
    checked against it by tests/test_web_schema.py): pydantic per point costs ~10x more.

    A point leaves out each field equal to its schema default (API 2: `status` "value",
    `period` and `day` null, the flags false), so most are `{"ts":…,"value":…}`, ~34 bytes
    against ~107 with every field (benchmarks/web.py; README, "Web and /metrics"). A plain
    series' rows with no period and no flag, the common case, take one f-string each; the
    rest `_point`. A page read as text (`found.text`: a plain series, asked for by this
    route) comes written by the database, in the same shape (`_TAILS`; the test compares
    them byte for byte)."""
    head = found.page.model_dump_json()
    assert head.endswith('"points":[]}')
    zero = found.day_zero
    if found.text is not None:  # written by the database, as `_point` would (_TAILS)
        body = found.text
    elif found.chart or zero is not None:
        body = ",".join([
            _point(ts, value, period, bits or 0, None if zero is None else ts // DAY + zero)
            for ts, value, period, _, bits in found.rows
        ])  # fmt: skip
    else:  # no chart: never a "not in chart" week (value None)
        body = ",".join([
            f'{{"ts":{ts},"value":{value}}}' if period is None and not bits
            else _point(ts, value, period, bits or 0, None)
            for ts, value, period, _, bits in found.rows
        ])  # fmt: skip
    return (head[:-2] + body + "]}").encode()


@router.get(
    "/series/{series_id}/points",
    response_model=PointsPage,
    summary="Points of a series",
    openapi_extra=POINTS_PARAMETERS,
)
async def points(request: Request, found: Annotated[PointRows, Depends(_point_text)]) -> Response:
    return cached(request, points_json(found), "application/json")


@router.get(
    "/series/{series_id}/points.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    summary="Points of a series as CSV",
    openapi_extra=POINTS_PARAMETERS,
)
def points_csv(request: Request, found: Annotated[PointRows, Depends(_points)]) -> Response:
    header = ["time", "value", "day", "period", "backfilled", "sudden", "status"]
    rows = [
        (iso(ts), value, day, period, int(late), int(swing), status)
        for ts, value, status, period, day, late, swing in found.points()
    ]
    return as_csv(request, header, rows)


@router.get("/compare", response_model=list[ComparisonRecord], summary="Baselines and claims")
def compare(
    request: Request,
    subject: Annotated[
        list[str] | None, Query(description="Only these (repeatable)", min_length=1)
    ] = None,
    platform: Platform = None,
    metric: Metric = None,
) -> Response:
    return as_json(request, records(request).compare(subject or [], platform, metric))


@router.get(
    "/compare.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    summary="Baselines and claims as CSV",
)
def compare_csv(
    request: Request,
    subject: Annotated[
        list[str] | None, Query(description="Only these (repeatable)", min_length=1)
    ] = None,
    platform: Platform = None,
    metric: Metric = None,
) -> Response:
    rows = records(request).compare(subject or [], platform, metric)
    header = ["name", "role", "subject", "platform", "metric", "value", "at", "verdict",
              "verdict_value", "measured", "measured_at", "change", "percent"]  # fmt: skip
    return as_csv(
        request,
        header,
        [
            (
                r.name,
                r.role,
                r.subject,
                r.platform,
                r.metric,
                r.value,
                r.at,
                r.verdict,
                r.verdict_value,
                r.measured.value if r.measured else None,
                r.measured.time if r.measured else None,
                r.change,
                None if r.percent is None else f"{r.percent:.1f}",
            )  # fmt: skip
            for r in rows
        ],
    )


@router.get("/claims", response_model=list[VerdictRecord], summary="Claims and their verdicts")
def claims(request: Request) -> Response:
    return as_json(request, records(request).claims())


@router.get("/status", response_model=StatusRecord, summary="Source health and budgets")
def status(request: Request) -> Response:
    return as_json(request, records(request).status())
