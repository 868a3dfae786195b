"""Wikipedia's daily top-1000 articles: a real chart, read from the Wikimedia REST API.

    GET {base}/metrics/pageviews/top/{project}/all-access/{YYYY}/{MM}/{DD}

Every run asks for each of the last `days` complete UTC days, one request per project and
day, so a missed run heals itself. A tracked article outside the day's top 1000 has no rank
that day: nothing is stored and nothing has failed. A day Wikimedia has not published yet is
answered with a 404 problem JSON, which fails that day's request only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import Field

from tracker.collectors.base import (
    Observation,
    Parsed,
    Request,
    SourceSettings,
    Target,
    as_count,
    load_json,
    require,
)
from tracker.collectors.wikimedia import (
    DAY,
    WikimediaCollector,
    WikimediaSettings,
    article_path,
    on_project,
    project_of,
)
from tracker.errors import BadPayload
from tracker.timeutil import day_start

ACCESS = "all-access"


class WikipediaTopSettings(WikimediaSettings):
    # Complete days fetched on every run, ending yesterday (UTC): one request per day.
    days: int = Field(default=3, ge=1, le=60)


class WikipediaTopCollector(WikimediaCollector):
    name: ClassVar[str] = "wikitop"
    settings_model: ClassVar[type[SourceSettings]] = WikipediaTopSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"page"})
    description: ClassVar[str] = "Rank in Wikipedia's daily top-1000 most viewed articles."
    no_data: ClassVar[str] = "no top list for this day (yet)"

    settings: WikipediaTopSettings

    def days(self) -> list[date]:
        """The last `days` complete UTC days, oldest first."""
        end = self.clock().date() - DAY
        return [end - i * DAY for i in reversed(range(self.settings.days))]

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        by_project: dict[str, list[Target]] = {}
        for target in targets:
            if target.kind in self.kinds:
                project = project_of(target)
                by_project.setdefault(project, []).append(on_project(target, project))
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
            project = project_of(target)
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


def _day(item: Any) -> date:
    """The chart's day from its `year`, `month`, `day` strings ("2022", "04", "25")."""
    try:
        parts = [int(str(require(item, field))) for field in ("year", "month", "day")]
        return date(parts[0], parts[1], parts[2])
    except ValueError:
        fields = {k: item.get(k) for k in ("year", "month", "day")}
        raise BadPayload(f"items.0: not a day: {fields}") from None
