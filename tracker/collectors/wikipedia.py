"""Wikipedia daily pageviews per article, from the Wikimedia REST API.

    GET {base}/metrics/pageviews/per-article/{project}/{access}/{agent}/{Article}/daily/{YMD}/{YMD}

Every run asks for the last `days` complete days, so the first run is also a backfill and a
missed run heals itself. The API leaves out days with zero views and answers a range with
no data at all with a 404 problem JSON; neither is turned into a stored zero.

`tracker backfill wikipedia` asks the same endpoint for a year per request, from the first
day Wikimedia kept (2015-07-01); a year whose every day is stored is not asked again.
`[[pages]]` entries that name no source are Wikipedia's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import Field

from tracker.collectors.base import (
    HistoryChunk,
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
    project_of,
)
from tracker.errors import BadPayload
from tracker.timeutil import day_start

# Wikimedia's per-article pageviews start here.
START = date(2015, 7, 1)
# Days per backfill request.
CHUNK_DAYS = 365


class WikipediaSettings(WikimediaSettings):
    # Days fetched on every run (ending yesterday): a first run backfills this window.
    days: int = Field(default=30, ge=1, le=3650)
    # all-access | desktop | mobile-app | mobile-web
    access: str = "all-access"
    # user | spider | automated | all-agents; "user" keeps crawlers out of the figure.
    agent: str = "user"


class WikipediaCollector(WikimediaCollector):
    name: ClassVar[str] = "wikipedia"
    settings_model: ClassVar[type[SourceSettings]] = WikipediaSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"page"})
    description: ClassVar[str] = "Daily Wikipedia pageviews per article (Wikimedia REST API)."
    default_for: ClassVar[frozenset[str]] = frozenset({"page"})
    no_data: ClassVar[str] = "no pageviews for this range"

    settings: WikipediaSettings

    def window(self) -> tuple[date, date]:
        """The last `days` complete UTC days: today's figures are not published yet."""
        end = self.clock().date() - DAY
        return end - (self.settings.days - 1) * DAY, end

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        return self._requests(targets, *self.window())

    def history_start(self, launch: date | None) -> date | None:
        return START

    def history(
        self, targets: Sequence[Target], since: date | None, until: date
    ) -> list[HistoryChunk]:
        """A year per request and article, from `since` (or the start of the data)."""
        chunks = []
        start = max(since or START, START)
        while start <= until:
            end = min(start + (CHUNK_DAYS - 1) * DAY, until)
            for request in self._requests(targets, start, end):
                target = request.targets[0]
                article = article_path(target.name)
                series = ("pageviews", f"{project_of(target)}:{article}")
                label = f"{article} {start}..{end}"
                chunks.append(HistoryChunk(label, request, series, (start, end)))
            start = end + DAY
        return chunks

    def _requests(self, targets: Sequence[Target], start: date, end: date) -> list[Request]:
        grouped: dict[tuple[str, str], list[Target]] = {}
        for target in targets:
            if target.kind not in self.kinds:
                continue
            grouped.setdefault((project_of(target), article_path(target.name)), []).append(target)
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

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        if not request.targets:
            return Parsed()
        project = project_of(request.targets[0])
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
