"""schemathesis against the OpenAPI schema of a running `tracker serve`: whatever the
parameters, no 5xx, and every answer matches the schema (status, content type, body)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import checks  # noqa: E402

from tests.conftest import PG_ENV, _pg_schema_url  # noqa: E402
from tests.webserve import fakes_seeded, serve, tracker  # noqa: E402


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`tracker serve` on a round's data: SQLite, and PostgreSQL when configured."""
    workdir: Path = tmp_path_factory.mktemp("schema")
    if request.param == "sqlite":
        yield from _served(workdir, f"sqlite:///{workdir / 'tracker.db'}")
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: the PostgreSQL schema run skipped")
    for url in _pg_schema_url(base):
        yield from _served(workdir, url)


def _served(workdir: Path, url: str) -> Iterator[str]:
    with fakes_seeded() as seeded:
        config = seeded.write_config(workdir / "tracker.toml")
        tracker(config, url, "run", "--once")
        with serve(config, url, workdir) as served:
            yield served.url


@pytest.fixture(scope="module")
def api_schema(served_url: str) -> Any:
    return schemathesis.openapi.from_url(served_url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_schema(case: Any) -> None:
    # Every default check but two about what the server accepts, not what it answers: the
    # schema types a duration or a moment as a string and a malformed one gets a 400 naming
    # it (a documented answer, which status_code_conformance checks); a query parameter given
    # twice is taken once, as FastAPI does, not refused.
    excluded = [checks.positive_data_acceptance, checks.negative_data_rejection]
    case.call_and_validate(excluded_checks=excluded, timeout=60)
