"""NYT best-seller ranks through the NYT Books API.

    GET {base}/svc/books/v3/lists/current/{list}.json?api-key=KEY

One request per list answers every tracked title on it. A title is matched case-insensitively
against the list (NYT writes titles upper-case) or by its ISBN-13; a title absent from the list
has simply dropped off it, which is not a failure. Each series is keyed by list and ISBN-13, so
a retitled edition keeps its history.

A list answers more books than it prints: entries past `normal_list_ends_at` (15 on the big
lists, 10 on most others) are NYT's extended list, which the printed Book Review does not show.
Their positions are stored as `extended_rank`, never as `chart_rank`, so "a best seller" and
"No. 1" claims count printed ranks only.

NYT allows 5 requests a minute and 500 a day per key. The day is the runner's `day` budget;
the minute is kept by spacing requests `request_gap` apart in `fetch`, because a request spends
one budget only.

`tracker backfill nyt` asks for each tracked list as published each week from `--since`
(default: four weeks before the campaign's launch), spending the same daily budget.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from pydantic import Field, field_validator

from tracker.bounds import bounded, duration_setting
from tracker.collectors.base import (
    Collector,
    Credential,
    HistoryChunk,
    Observation,
    Parsed,
    Request,
    SourceSettings,
    Target,
    as_count,
    error_json,
    load_json,
    one_line,
    require,
)
from tracker.errors import BadPayload, ConfigError, NotFound, RateLimited, SourceError
from tracker.quota import Quota
from tracker.timeutil import day_start, now

if TYPE_CHECKING:
    import httpx

WEEK = timedelta(days=7)
# NYT does not say which sales a monthly list covers; we take the four weeks ending on
# bestsellers_date, as its weekly lists take the one week ending on it.
MONTH = timedelta(days=28)
PERIODS = {"WEEKLY": WEEK, "MONTHLY": MONTH}
PER_MINUTE = 5
PER_DAY = 500
DEFAULT_BASE_URL = "https://api.nytimes.com"
# The longest pause between two requests: more would stretch one list's round past a day.
MAX_GAP = timedelta(hours=1)


class NYTSettings(SourceSettings):
    base_url: str = DEFAULT_BASE_URL
    # Lists change weekly (Wednesday evenings, US Eastern); a daily read catches one in a day.
    interval: timedelta = timedelta(days=1)
    concurrency: int = Field(default=1, ge=1, le=64)
    api_key_env: str = "NYT_API_KEY"
    api_key_file: str | None = None
    # The list of a chart target that names none (list_name_encoded, as in /lists/names.json).
    default_list: str = "young-adult-paperback-monthly"
    # Time between two requests of this process: 60 s / 5 requests a minute.
    request_gap: timedelta = timedelta(seconds=60 / PER_MINUTE)

    @field_validator("request_gap", mode="before")
    @classmethod
    def _gap(cls, value: Any) -> Any:
        return duration_setting(value, zero=True)

    @field_validator("request_gap")
    @classmethod
    def _gap_bounds(cls, value: timedelta) -> timedelta:
        return bounded(value, timedelta(0), MAX_GAP)

    @field_validator("default_list")
    @classmethod
    def _list(cls, value: str) -> str:
        return list_name(value)


def list_name(text: str) -> str:
    """'Young Adult Paperback Monthly' or 'young-adult-paperback-monthly' -> the encoded name."""
    name = "-".join(text.strip().lower().split())
    if not name or not all(c.isalnum() or c == "-" for c in name):
        raise ValueError(f"{text!r} is not an NYT list name like hardcover-fiction")
    return name


def history_url(list_: str, day: date, base_url: str = DEFAULT_BASE_URL) -> str:
    """The URL of `list_` as published on `day` (NYT answers the nearest list on or after it)."""
    name = quote(list_name(list_))
    return f"{base_url.rstrip('/')}/svc/books/v3/lists/{day:%Y-%m-%d}/{name}.json"


def isbn13(text: str) -> str:
    """The ISBN-13 a target names ('978-1-...' allowed), or '' when it names a title."""
    digits = text.replace("-", "").replace(" ", "")
    return digits if len(digits) == 13 and digits.isdigit() else ""


def _fold(title: str) -> str:
    return " ".join(title.split()).casefold()


class NYTBooksCollector(Collector):
    name: ClassVar[str] = "nyt"
    settings_model: ClassVar[type[SourceSettings]] = NYTSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"chart"})
    description: ClassVar[str] = "NYT best-seller list ranks and weeks on list (NYT Books API)."
    credentials: ClassVar[tuple[Credential, ...]] = (Credential("api_key"),)
    quotas: ClassVar[Mapping[str, Quota]] = {
        "day": Quota(PER_DAY),
        # Not spent by the runner (one budget per request): `request_gap` keeps it.
        "minute": Quota(PER_MINUTE, every=timedelta(minutes=1)),
    }

    settings: NYTSettings

    def __init__(self, settings: SourceSettings, clock: Callable[[], datetime] = now) -> None:
        super().__init__(settings, clock)
        self._next_slot = 0.0  # time.monotonic() at which the next request may leave

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        by_list: dict[str, list[Target]] = {}
        for target in targets:
            if target.kind in self.kinds:
                try:
                    name = list_name(target.option("list") or self.settings.default_list)
                except ValueError as exc:
                    raise ConfigError("sources.nyt", target.name, str(exc)) from None
                by_list.setdefault(name, []).append(_on(target, name))
        key = self.credential("api_key") or ""
        base = self.settings.base_url
        return [
            Request(
                targets=tuple(group),
                url=f"{base}/svc/books/v3/lists/current/{quote(name)}.json",
                params=(("api-key", key),),
                budget="day",
                cost=1,
            )
            for name, group in by_list.items()
        ]

    def history_start(self, launch: date | None) -> date | None:
        if launch is None:
            raise ValueError(f"a backfill of {self.name} needs a start date (no [campaign])")
        return launch - 4 * WEEK

    def history(
        self, targets: Sequence[Target], since: date | None, until: date
    ) -> list[HistoryChunk]:
        """Each list the targets are on, as published on each week from `since`."""
        chunks = []
        for request in self.plan(targets):
            name = request.targets[0].option("list")
            day = since or until
            while day <= until:
                url = history_url(name, day, self.settings.base_url)
                chunks.append(HistoryChunk(f"{name} {day}", dataclasses.replace(request, url=url)))
                day += WEEK
        return chunks

    async def fetch(self, client: httpx.AsyncClient, request: Request) -> httpx.Response:
        # Reserve a slot before waiting, so concurrent requests queue up `request_gap` apart.
        gap = self.settings.request_gap.total_seconds()
        moment = time.monotonic()
        slot = max(moment, self._next_slot)
        self._next_slot = slot + gap
        if slot > moment:
            await asyncio.sleep(slot - moment)
        return await super().fetch(client, request)

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        fault, errors = _error_of(body)
        if status == 429:
            wait = super().error(status, headers, body)
            retry = wait.retry_after if isinstance(wait, RateLimited) else None
            # Both limits answer the same 429; NYT's FAQ says to wait 12 s between calls.
            seconds = retry if retry is not None else 60 / PER_MINUTE
            return RateLimited(f"NYT rate limit: {fault or 'HTTP 429'}", seconds)
        if status in (401, 403) and fault:
            return SourceError(
                f"NYT refused the API key ({fault}): check {self.settings.api_key_env} and "
                "that the app has the Books API enabled"
            )
        if status == 404 or (errors and "no list found" in errors.lower()):
            return NotFound(f"NYT: {errors or 'no such list'}")
        if 200 <= status < 300 and errors:
            return SourceError(f"NYT: {errors}")
        return super().error(status, headers, body)

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        results = require(load_json(body), "results")
        books = require(results, "books")
        if not isinstance(books, list):
            raise BadPayload(f"results.books: expected a list, got {type(books).__name__}")
        updated = require(results, "updated")
        if updated not in PERIODS:
            raise BadPayload(f"results.updated: expected WEEKLY or MONTHLY, got {updated!r:.40}")
        period = PERIODS[updated]
        sold_to = _date(require(results, "bestsellers_date"), "results.bestsellers_date")
        published = _date(require(results, "published_date"), "results.published_date")
        start = day_start(sold_to) - period + timedelta(days=1)
        printed = _printed(results)
        parsed = Parsed()
        for target in request.targets:
            name = target.option("list")
            labels = {"list": name, "published_date": published.isoformat()}
            for i, book in enumerate(books):
                if not isinstance(book, dict):
                    raise BadPayload(f"results.books[{i}]: expected an object, got {book!r:.60}")
                if not _is(book, target.name):
                    continue
                try:
                    label, values = _values(book, f"results.books[{i}]", printed)
                except BadPayload as exc:
                    parsed.failures[target.name] = exc.cause
                    continue
                key = f"{name}:{book['primary_isbn13']}"
                parsed.observations.extend(
                    Observation(metric, key, value, start, target.subject, label, labels, period)
                    for metric, value in values
                )
        return parsed


def _is(book: dict[str, Any], wanted: str) -> bool:
    """Whether `book` is the one a target names, by ISBN-13 or by title in any case."""
    isbn = isbn13(wanted)
    if isbn:
        return book.get("primary_isbn13") == isbn
    return _fold(str(book.get("title") or "")) == _fold(wanted)


def _printed(results: dict[str, Any]) -> int | None:
    """The last printed rank (`normal_list_ends_at`); None when the answer does not say."""
    if "normal_list_ends_at" not in results:
        return None
    value = results["normal_list_ends_at"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadPayload(f"results.normal_list_ends_at: expected a rank, got {value!r:.40}")
    return value


def _values(
    book: dict[str, Any], where: str, printed: int | None = None
) -> tuple[str, list[tuple[str, int]]]:
    """The book's title and its (metric, value) pairs; BadPayload when a field has drifted.

    A rank past `printed` (the list's last printed rank) is an `extended_rank`.
    """
    isbn = require(book, "primary_isbn13")
    if not isinstance(isbn, str) or not isbn13(isbn):
        raise BadPayload(f"{where}.primary_isbn13: expected 13 digits, got {isbn!r:.40}")
    rank = as_count(require(book, "rank"), f"{where}.rank")
    if rank == 0:
        raise BadPayload(f"{where}.rank is 0")
    weeks = as_count(require(book, "weeks_on_list"), f"{where}.weeks_on_list")
    # Monthly lists send 0 weeks: they do not count weeks, and 0 is not a count to store.
    metric = "extended_rank" if printed is not None and rank > printed else "chart_rank"
    values = [(metric, rank)] + ([("weeks_on_list", weeks)] if weeks else [])
    return str(require(book, "title")), values


def _on(target: Target, list_: str) -> Target:
    """The target tagged with its list, so the pure parse can key its series."""
    options = tuple(kv for kv in target.options if kv[0] != "list")
    return dataclasses.replace(target, options=(*options, ("list", list_)))


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise BadPayload(f"{where}: expected YYYY-MM-DD, got {value!r:.40}") from None


def _error_of(body: bytes) -> tuple[str, str]:
    """`(fault, errors)`: the gateway's faultstring, and the API's `errors` joined."""
    data = error_json(body)
    fault = data.get("fault")
    faultstring = str(fault.get("faultstring") or "") if isinstance(fault, dict) else ""
    # Apigee names the quota's identifier after the text, which may be the key: cut it off.
    faultstring = faultstring.split(" Identifier")[0]
    errors = data.get("errors")
    joined = "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""
    if data.get("status") == "ERROR" and not joined:
        joined = "status ERROR"
    return one_line(faultstring, 1000), joined
