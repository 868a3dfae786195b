"""A fake of the Wikimedia REST top-articles endpoint (daily top 1000), in the real format."""

from __future__ import annotations

from datetime import date

from tests.fakes.server import FakePlatform, Reply, Seen
from tests.fakes.wikipedia import NO_AGENT, NOT_FOUND_DETAIL, FakeWikimedia

PREFIX = "/metrics/pageviews/top/"


class FakeWikiTop(FakePlatform):
    """`charts[(project, day)]` = article titles, most viewed first; a missing day is a 404."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[tuple[str, date], list[tuple[str, int]]] = {}

    def add_day(self, project: str, day: date, articles: list[str]) -> None:
        """The day's chart: views fall with rank, as they do."""
        self.charts[(project, day)] = [(a, 1_000_000 // (i + 1)) for i, a in enumerate(articles)]

    def route(self, seen: Seen) -> Reply:
        if not seen.headers.get("user-agent"):
            return Reply(403, {"Content-Type": "text/plain"}, NO_AGENT)
        parts = seen.path.removeprefix(PREFIX).split("/")
        if not seen.path.startswith(PREFIX) or len(parts) != 5:
            return FakeWikimedia._problem(seen, 404, "not_found", "Not found.", "no such route")
        project, access, year, month, day = parts
        try:
            when = date(int(year), int(month), int(day))
        except ValueError:
            return FakeWikimedia._problem(
                seen, 400, "invalid_request", "Invalid parameters", "year, month or day"
            )
        chart = self.charts.get((project, when))
        if chart is None:
            return FakeWikimedia._problem(seen, 404, "not_found", "Not found.", NOT_FOUND_DETAIL)
        item = {
            "project": project,
            "access": access,
            "year": year,
            "month": month,
            "day": day,
            "articles": [
                {"article": article, "views": views, "rank": i + 1}
                for i, (article, views) in enumerate(chart[:1000])
            ],
        }
        return Reply.json({"items": [item]})
