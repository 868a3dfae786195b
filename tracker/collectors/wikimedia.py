"""What the Wikimedia REST API collectors (`wikipedia`, `wikitop`) share: the API's address,
its article spelling, and how it answers errors.

Not a collector itself (no entry point): each Wikimedia collector subclasses
`WikimediaCollector` and sets `no_data`, the words for a 404 problem of its endpoint.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from tracker.collectors.base import (
    Collector,
    SourceSettings,
    Target,
    error_json,
    one_line,
    summarize,
)
from tracker.errors import NotFound, SourceError

BASE_URL = "https://wikimedia.org/api/rest_v1"
DEFAULT_PROJECT = "en.wikipedia"
DAY = timedelta(days=1)


class WikimediaSettings(SourceSettings):
    base_url: str = BASE_URL
    # The data are daily; reading more often only re-reads the same days.
    interval: timedelta = timedelta(days=1)


def article_path(name: str) -> str:
    """The title as the API spells it: underscores for spaces."""
    return name.strip().replace(" ", "_")


def project_of(target: Target) -> str:
    """The wiki a `[[pages]]` target names (`project`), English Wikipedia by default."""
    return target.option("project") or DEFAULT_PROJECT


def on_project(target: Target, project: str) -> Target:
    """The target tagged with the project asked, so a pure parse can key its series."""
    options = tuple(kv for kv in target.options if kv[0] != "project")
    return dataclasses.replace(target, options=(*options, ("project", project)))


def problem(body: bytes) -> dict[str, Any]:
    """The RFC 7807 problem JSON Wikimedia sends with a 404; {} when the body is not one."""
    data = error_json(body)
    return data if str(data.get("type", "")).endswith("not_found") else {}


class WikimediaCollector(Collector):
    """The Wikimedia error answers, for every collector of the REST API."""

    # A 404 problem means "no data" for this endpoint: the words for it, e.g.
    # "no pageviews for this range".
    no_data: ClassVar[str] = "no data"

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        if status == 404:
            found = problem(body)
            if found:
                detail = one_line(found.get("detail") or found.get("title") or "no data", 400)
                return NotFound(f"{self.no_data}: {detail}")
        if status == 403 and b"user-agent" in body.lower():
            return SourceError(
                f"Wikimedia refused the request: set `contact` so the User-Agent names "
                f"you{summarize(body)}"
            )
        return super().error(status, headers, body)
