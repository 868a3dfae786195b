"""The FastAPI app: the API, the pages and /metrics over one `Records`, read-only."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from tracker import __version__
from tracker.errors import ConfigError, StoreError, UnknownName, UsageError
from tracker.web import api, pages
from tracker.web.metrics import MAX_SERIES, StoreCollector
from tracker.web.records import NotFound, Records

# The JSON API's own version (OpenAPI `info.version`), raised when an answer's shape changes
# for its clients. 2: a point leaves out each field equal to its default (README, "Web and
# /metrics"); 1 wrote every field of every point.
API_VERSION = "2"
# The cyclic collector's young-generation threshold while the app is served (Python's is 700
# new container objects). A 10,000-point page reads a tuple per row: at 700 that set off ~14
# young passes and a middle one per answer, and moved the rows along to the old generation,
# whose full passes walk the whole app (~126,000 objects); ~1-4 ms per 10,000-point answer
# in the server (gc callbacks, 200 answers, load 5-9). The rows are freed when the answer is
# written, so at this threshold no pass meets them; cyclic garbage waits a little longer.
GC_THRESHOLD = 50_000


@asynccontextmanager
async def _collector(_: FastAPI) -> AsyncIterator[None]:
    """While served (uvicorn runs the lifespan), the collector at GC_THRESHOLD."""
    before = gc.get_threshold()
    gc.set_threshold(max(GC_THRESHOLD, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def create_app(
    records: Records,
    cors_origins: Sequence[str] = (),
    max_series: int = MAX_SERIES,
) -> FastAPI:
    """The app. CORS stays off unless origins are given; every route only reads."""
    app = FastAPI(
        title="tracker",
        version=API_VERSION,
        description=f"Read-only: series, points, baselines, claims and source health "
        f"(tracker {__version__}). A point leaves out the fields equal to their defaults.",
        lifespan=_collector,
    )
    app.state.records = records
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET"],
            allow_headers=["If-None-Match"],
            expose_headers=["ETag"],
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(records, max_series))

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(UsageError)
    def usage(_: Request, exc: UsageError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(ConfigError)
    def config(_: Request, exc: ConfigError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(UnknownName)
    def unknown(_: Request, exc: UnknownName) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(NotFound)
    def missing(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(StoreError)
    def store(_: Request, exc: StoreError) -> JSONResponse:
        # The store's messages carry the URL with its password masked.
        return JSONResponse({"detail": str(exc)}, status_code=503)

    app.include_router(api.router)
    app.include_router(pages.router)
    return app
