"""Wikipedia's daily top-1000 articles: a real chart, read from the Wikimedia REST API.

    GET {base}/metrics/pageviews/top/{project}/all-access/{YYYY}/{MM}/{DD}

Every run asks for each of the last `days` complete UTC days, one request per project and
day, so a missed run heals itself. A tracked article outside the day's top 1000 has no rank
that day: nothing is stored and nothing has failed. A day Wikimedia has not published yet is
answered with a 404 problem JSON, which fails that day's request only.
"""

from __future__ import annotations

import dataclasses
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
from tracker.collectors.wikipedia import DAY, DEFAULT_PROJECT, article_path
from tracker.errors import BadPayload, NotFound, SourceError
from tracker.timeutil import day_start

ACCESS = "all-access"


class WikipediaTopSettings(SourceSettings):
    base_url: str = "https://wikimedia.org/api/rest_v1"
    # The chart is daily; reading more often only re-reads the same days.
    interval: timedelta = timedelta(days=1)
    # Complete days fetched on every run, ending yesterday (UTC): one request per day.
    days: int = Field(default=3, ge=1, le=60)


class WikipediaTopCollector(Collector):
    name: ClassVar[str] = "wikitop"
    settings_model: ClassVar[type[SourceSettings]] = WikipediaTopSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"page"})
    description: ClassVar[str] = "Rank in Wikipedia's daily top-1000 most viewed articles."

    settings: WikipediaTopSettings

    def days(self) -> list[date]:
        """The last `days` complete UTC days, oldest first."""
        end = self.clock().date() - DAY
        return [end - i * DAY for i in reversed(range(self.settings.days))]

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        by_project: dict[str, list[Target]] = {}
        for target in targets:
            if target.kind in self.kinds:
                project = target.option("project", DEFAULT_PROJECT)
                by_project.setdefault(project, []).append(_on(target, project))
        base = self.settings.base_url
        return [
            Request(
                targets=tuple(group),
                url=(
                    f"{base}/metrics/pageviews/top/{quote(project, safe='')}/{ACCESS}/"
                    f"{day:%Y/%m/%d}"
                ),
            )
            for day in self.days()
            for project, group in by_project.items()
        ]

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        if status == 404:
            problem = _problem(body)
            if problem is not None:
                detail = " ".join(str(problem.get("detail") or problem.get("title")).split())
                return NotFound(f"no top list for this day (yet): {detail}")
        if status == 403 and b"user-agent" in body.lower():
            return SourceError(
                f"Wikimedia refused the request: set `contact` so the User-Agent names "
                f"you{summarize(body)}"
            )
        return http_error(status, headers, body)

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        data = load_json(body)
        items = require(data, "items")
        if not isinstance(items, list) or not items:
            raise BadPayload("items: expected a list with the day's chart")
        day = _day(require(items, 0))
        articles = require(items, 0, "articles")
        if not isinstance(articles, list):
            raise BadPayload(f"items.0.articles: expected a list, got {type(articles).__name__}")
        ranks: dict[str, int] = {}
        for i, entry in enumerate(articles):
            where = f"items.0.articles.{i}"
            article = require(entry, "article")
            if not isinstance(article, str) or not article:
                raise BadPayload(f"{where}.article: expected a title, got {article!r:.60}")
            rank = as_count(require(entry, "rank"), f"{where}.rank")
            if rank == 0:
                raise BadPayload(f"{where}.rank is 0")
            ranks.setdefault(article, rank)
        parsed = Parsed()
        seen: set[tuple[str, str]] = set()
        for target in request.targets:
            article = article_path(target.name)
            position = ranks.get(article)
            if position is None or (article, target.subject) in seen:
                continue  # outside the top 1000 that day: no rank, and no failure
            seen.add((article, target.subject))
            project = target.option("project", DEFAULT_PROJECT)
            parsed.observations.append(
                Observation(
                    metric="chart_rank",
                    key=f"{project}:{article}",
                    value=position,
                    at=day_start(day),
                    subject=target.subject,
                    label=article,
                    labels={"project": project},
                    period=DAY,
                )
            )
        return parsed


def _on(target: Target, project: str) -> Target:
    """The target tagged with the project asked, so the pure parse can key its series."""
    options = tuple(kv for kv in target.options if kv[0] != "project")
    return dataclasses.replace(target, options=(*options, ("project", project)))


def _day(item: Any) -> date:
    """The chart's day from its `year`, `month`, `day` strings ("2022", "04", "25")."""
    try:
        parts = [int(str(require(item, field))) for field in ("year", "month", "day")]
        return date(parts[0], parts[1], parts[2])
    except ValueError:
        fields = {k: item.get(k) for k in ("year", "month", "day")}
        raise BadPayload(f"items.0: not a day: {fields}") from None


def _problem(body: bytes) -> dict[str, Any] | None:
    """The RFC 7807 problem JSON Wikimedia sends with a 404, if that is what this is."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict) and str(data.get("type", "")).endswith("not_found"):
        return data
    return None
