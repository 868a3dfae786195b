"""Wikipedia daily pageviews per article, from the Wikimedia REST API.

    GET {base}/metrics/pageviews/per-article/{project}/{access}/{agent}/{Article}/daily/{YMD}/{YMD}

Every run asks for the last `days` complete days, so the first run is also a backfill and a
missed run heals itself. The API leaves out days with zero views and answers a range with
no data at all with a 404 problem JSON; neither is turned into a stored zero.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import Field

from tracker.collectors.base import (
    Collector,
    Observation,
    Parsed,
    Request,
    SourceSettings,
    Target,
    as_count,
    http_error,
    load_json,
    require,
    summarize,
)
from tracker.errors import BadPayload, NotFound, SourceError
from tracker.timeutil import day_start

DEFAULT_PROJECT = "en.wikipedia"
DAY = timedelta(days=1)


class WikipediaSettings(SourceSettings):
    base_url: str = "https://wikimedia.org/api/rest_v1"
    # The data are daily; asking more often only re-reads the same numbers.
    interval: timedelta = timedelta(days=1)
    # Days fetched on every run (ending yesterday): a first run backfills this window.
    days: int = Field(default=30, ge=1, le=3650)
    # all-access | desktop | mobile-app | mobile-web
    access: str = "all-access"
    # user | spider | automated | all-agents; "user" keeps crawlers out of the figure.
    agent: str = "user"


def article_path(name: str) -> str:
    """The title as the API spells it: underscores for spaces."""
    return name.strip().replace(" ", "_")


class WikipediaCollector(Collector):
    name: ClassVar[str] = "wikipedia"
    settings_model: ClassVar[type[SourceSettings]] = WikipediaSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"page"})
    description: ClassVar[str] = "Daily Wikipedia pageviews per article (Wikimedia REST API)."

    settings: WikipediaSettings

    def window(self) -> tuple[date, date]:
        """The last `days` complete UTC days: today's figures are not published yet."""
        end = self.clock().date() - DAY
        return end - (self.settings.days - 1) * DAY, end

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        start, end = self.window()
        grouped: dict[tuple[str, str], list[Target]] = {}
        for target in targets:
            if target.kind not in self.kinds:
                continue
            project = target.option("project", DEFAULT_PROJECT)
            grouped.setdefault((project, article_path(target.name)), []).append(target)
        s = self.settings
        requests = []
        for (project, article), group in grouped.items():
            # safe="" because a "/" inside a title must not become a path separator.
            url = (
                f"{s.base_url}/metrics/pageviews/per-article/{quote(project, safe='')}/"
                f"{s.access}/{s.agent}/{quote(article, safe='')}/daily/"
                f"{start:%Y%m%d}/{end:%Y%m%d}"
            )
            requests.append(Request(targets=tuple(group), url=url))
        return requests

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        if status == 404:
            problem = _problem(body)
            if problem is not None:
                detail = problem.get("detail") or problem.get("title") or "no data"
                return NotFound(f"no pageviews for this range: {' '.join(str(detail).split())}")
        if status == 403 and b"user-agent" in body.lower():
            return SourceError(
                f"Wikimedia refused the request: set `contact` so the User-Agent names "
                f"you{summarize(body)}"
            )
        return http_error(status, headers, body)

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        if not request.targets:
            return Parsed()
        project = request.targets[0].option("project", DEFAULT_PROJECT)
        data = load_json(body)
        items = require(data, "items")
        if not isinstance(items, list):
            raise BadPayload(f"items is {type(items).__name__}, expected a list")
        subjects = _subjects(request.targets)
        parsed = Parsed()
        for i in range(len(items)):
            article = require(data, "items", i, "article")
            if not isinstance(article, str) or not article:
                raise BadPayload(f"items.{i}.article: expected a title, got {article!r}")
            day = _day(require(data, "items", i, "timestamp"), f"items.{i}.timestamp")
            views = as_count(require(data, "items", i, "views"), f"items.{i}.views")
            for subject, label in subjects:
                parsed.observations.append(
                    Observation(
                        metric="pageviews",
                        key=f"{project}:{article}",
                        value=views,
                        at=day_start(day),
                        subject=subject,
                        label=label,
                        labels={"project": project},
                        period=DAY,
                    )
                )
        return parsed


def _subjects(targets: Sequence[Target]) -> list[tuple[str, str]]:
    """One (subject, label) per distinct subject: two config lines may share an article."""
    seen: dict[str, str] = {}
    for target in targets:
        seen.setdefault(target.subject, target.name)
    return list(seen.items())


def _day(value: Any, where: str) -> date:
    """'2022042200' (YYYYMMDDHH, hour 00 for daily data) -> the date."""
    text = value if isinstance(value, str) else ""
    if len(text) != 10 or not text.isdigit():
        raise BadPayload(f"{where}: expected YYYYMMDDHH, got {value!r}")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise BadPayload(f"{where}: not a date: {value!r}") from None


def _problem(body: bytes) -> dict[str, Any] | None:
    """The RFC 7807 problem JSON Wikimedia sends with a 404, if that is what this is."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict) and str(data.get("type", "")).endswith("not_found"):
        return data
    return None
