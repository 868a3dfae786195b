"""A fake of the Wikimedia REST pageviews API (per-article, daily), in the real format."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import unquote

from tests.fakes.server import FakePlatform, Reply, Seen

PREFIX = "/metrics/pageviews/per-article/"
# What wikimedia.org answers (403, text/plain) to a request without a User-Agent.
NO_AGENT = b"Please set a user-agent and respect our robot policy https://w.wiki/4wJS.\n"
NOT_FOUND_DETAIL = (
    "The date(s) you used are valid, but we either do not have data for those date(s), "
    "or the project you asked for is not loaded yet. Please check documentation for more "
    "information."
)


class FakeWikimedia(FakePlatform):
    """`views[(project, article)][day] = n`; days with 0 views are left out, as the API does."""

    def __init__(self, views: dict[tuple[str, str], dict[date, int]] | None = None) -> None:
        super().__init__()
        self.views: dict[tuple[str, str], dict[date, int]] = views or {}

    def route(self, seen: Seen) -> Reply:
        if not seen.headers.get("user-agent"):
            return Reply(403, {"Content-Type": "text/plain"}, NO_AGENT)
        if not seen.path.startswith(PREFIX):
            return self._problem(seen, 404, "not_found", "Not found.", "no such route")
        # project / access / agent / article / granularity / start / end
        parts = seen.path[len(PREFIX) :].split("/")
        if len(parts) != 7:
            return self._problem(seen, 404, "not_found", "Not found.", "no such route")
        project, access, agent, raw_article, granularity, first, last = parts
        article = unquote(raw_article)
        start, end = _stamp(first), _stamp(last)
        if granularity != "daily" or start is None or end is None or end < start:
            return self._problem(
                seen, 400, "invalid_request", "Invalid parameters", "start/end or granularity"
            )
        series = self.views.get((project, article), {})
        items = []
        day = start
        while day <= end:
            views = series.get(day, 0)
            if views:
                items.append(
                    {
                        "project": project,
                        "article": article,
                        "granularity": "daily",
                        "timestamp": f"{day:%Y%m%d}00",
                        "access": access,
                        "agent": agent,
                        "views": views,
                    }
                )
            day += timedelta(days=1)
        if not items:
            return self._problem(seen, 404, "not_found", "Not found.", NOT_FOUND_DETAIL)
        return Reply.json({"items": items})

    @staticmethod
    def _problem(seen: Seen, status: int, kind: str, title: str, detail: str) -> Reply:
        body = {
            "type": f"https://mediawiki.org/wiki/HyperSwitch/errors/{kind}",
            "title": title,
            "method": "get",
            "detail": detail,
            "uri": f"/analytics.wikimedia.org/v1{seen.path.removeprefix('/metrics')}",
        }
        return Reply.json(body, status, {"Content-Type": "application/problem+json"})


def _stamp(text: str) -> date | None:
    """The API takes YYYYMMDD or YYYYMMDDHH."""
    if len(text) not in (8, 10) or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
