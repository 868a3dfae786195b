"""Netflix Top 10: weekly chart positions from the published TSV files.

    GET {base}/all-weeks-global.tsv      global lists, with hours viewed (and views since 2023)
    GET {base}/all-weeks-countries.tsv   one list per country, ranks only

Every file holds the whole history, so one fetch is also a backfill (`tracker backfill
netflix` is one round, keeping the weeks from `--since`). Columns are read by name because
the layout has changed over the years, and the header is checked before any row is read: a
redirect page or `null` must never turn into stored values. The same parser reads the files
`tracker import netflix-top10 FILE` loads (`tracker.importers.netflix`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import ClassVar

from pydantic import field_validator

from tracker.collectors.base import (
    Collector,
    HistoryChunk,
    Observation,
    Parsed,
    Request,
    SourceSettings,
    Target,
    summarize,
)
from tracker.errors import BadPayload, SourceError
from tracker.timeutil import day_start

FILES = {"global": "all-weeks-global.tsv", "countries": "all-weeks-countries.tsv"}
WEEK = timedelta(days=7)
REQUIRED = ("week", "category", "weekly_rank", "show_title", "season_title")
REQUIRED_GLOBAL = ("weekly_hours_viewed",)
REQUIRED_COUNTRIES = ("country_name", "country_iso2")
# Blank in rows from before Netflix started publishing views (mid-2023).
ABSENT = frozenset({"", "N/A"})


class NetflixSettings(SourceSettings):
    base_url: str = "https://www.netflix.com/tudum/top10/data"
    # Netflix refreshes the files weekly (Tuesdays); daily catches an update within a day.
    interval: timedelta = timedelta(days=1)
    files: list[str] = ["global", "countries"]

    @field_validator("files")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in FILES]
        if unknown:
            raise ValueError(f"unknown file(s) {unknown}; choose from {sorted(FILES)}")
        if not value:
            raise ValueError("name at least one file: global, countries")
        return list(dict.fromkeys(value))


class NetflixCollector(Collector):
    name: ClassVar[str] = "netflix"
    settings_model: ClassVar[type[SourceSettings]] = NetflixSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"chart"})
    description: ClassVar[str] = "Netflix Top 10 weekly ranks, hours viewed and views (TSV files)."

    settings: NetflixSettings

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        charts = tuple(t for t in targets if t.kind in self.kinds)
        if not charts:
            return []
        base = self.settings.base_url
        return [Request(targets=charts, url=f"{base}/{FILES[f]}") for f in self.settings.files]

    def history(
        self, targets: Sequence[Target], since: date | None, until: date
    ) -> list[HistoryChunk]:
        """A round's own requests: every file holds every week. Weeks before `since` are
        left out of what is stored."""
        return [HistoryChunk(r.url.rsplit("/", 1)[-1], r, since=since) for r in self.plan(targets)]

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        if 300 <= status < 400:
            # The client follows redirects; one that still reaches us is a loop or a bad hop.
            where = headers.get("location", "nowhere")
            return BadPayload(f"HTTP {status} redirect to {where} not followed{summarize(body)}")
        return super().error(status, headers, body)

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        titles = {t.name: t.subject for t in request.targets}
        return parse_body(body, titles, request.url.rsplit("/", 1)[-1])


def parse_body(body: bytes, titles: Mapping[str, str] | None, source_name: str) -> Parsed:
    """`parse_tsv` of a downloaded or imported file's bytes (UTF-8), decoded a block at a
    time: the whole file as one str would double an import's memory."""
    return _parse(_decoded(body), body[:2000].decode("utf-8", "replace"), titles, source_name)


def parse_file(path: str | Path) -> Parsed:
    """Every row of a Top 10 file on disk (global or countries, told apart by its header)."""
    file = Path(path)
    return parse_tsv(file.read_text(encoding="utf-8"), None, file.name)


def parse_tsv(text: str, titles: Mapping[str, str] | None, source_name: str) -> Parsed:
    """A Top 10 TSV -> observations for the shows in `titles` (show_title -> subject).

    `titles=None` keeps every show, each under its own title as subject. Rows whose numbers
    are malformed are skipped and reported as `failures["row N"]` (N = line number).
    """
    return _parse(_lines(text), text, titles, source_name)


def _parse(
    lines: Iterator[str], text: str, titles: Mapping[str, str] | None, source_name: str
) -> Parsed:
    """`parse_tsv` of the file's lines; `text` is its start, for messages."""
    columns = _header(next(lines, ""), text, source_name)
    countries = "country_iso2" in columns
    width = len(columns)
    c_week, c_cat, c_rank = columns["week"], columns["category"], columns["weekly_rank"]
    c_show, c_season = columns["show_title"], columns["season_title"]
    c_iso, c_country = columns.get("country_iso2", -1), columns.get("country_name", -1)
    c_hours, c_views = columns.get("weekly_hours_viewed", -1), columns.get("weekly_views", -1)

    parsed = Parsed()
    emit = parsed.observations.append
    weeks: dict[str, datetime] = {}
    ranks: dict[str, int] = {}
    series: dict[tuple[str, str, str, str, str], tuple[str, dict[str, str], str]] = {}
    common: dict[str, str] = {}  # one copy of each country, category and season text
    for number, line in enumerate(lines, start=2):
        line = line.rstrip("\r")
        if not line:
            continue
        cells = line.split("\t")
        if titles is not None and (len(cells) <= c_show or cells[c_show] not in titles):
            continue
        if len(cells) != width:
            parsed.failures[f"row {number}"] = f"{len(cells)} fields, header has {width}"
            continue
        show = cells[c_show]
        try:
            start = weeks.get(cells[c_week])
            if start is None:
                # ~70 distinct weeks in 134k rows: parse each date once.
                start = weeks[cells[c_week]] = _week_start(cells[c_week])
            rank = ranks.get(cells[c_rank])
            if rank is None:  # ten ranks in 134k rows: each text read once
                rank = _count(cells[c_rank], "weekly_rank")
                if rank == 0:
                    raise ValueError("weekly_rank 0")
                ranks[cells[c_rank]] = rank
            hours: int | None = None
            views: int | None = None
            if not countries:
                hours = _count(cells[c_hours], "weekly_hours_viewed")
                if c_views >= 0 and cells[c_views].strip() not in ABSENT:
                    views = _count(cells[c_views], "weekly_views")
        except ValueError as exc:
            parsed.failures[f"row {number}"] = f"{show}: {exc}"
            continue
        category, season = cells[c_cat], cells[c_season]
        chart = cells[c_iso] if countries else "global"
        country = cells[c_country] if countries else ""
        # One key and one labels dict per series, shared by its rows: a countries file has
        # ~2 rows a series, and per-row copies were most of an import's memory.
        found = series.get((show, season, chart, category, country))
        if found is None:
            chart = common.setdefault(chart, chart)
            category = common.setdefault(category, category)
            season = common.setdefault(season, season)
            country = common.setdefault(country, country)
            labels = {"list": chart, "category": category, "season": season}
            if countries:
                labels["country"] = country
            found = series[(show, season, chart, category, country)] = (
                f"{show}|{season}|{chart}|{category}",
                labels,
                show,
            )
        key, labels, show = found
        subject = show if titles is None else titles[show]
        emit(Observation("chart_rank", key, rank, start, subject, show, labels, WEEK))
        if hours is not None:
            emit(Observation("hours_viewed", key, hours, start, subject, show, labels, WEEK))
        if views is not None:
            emit(Observation("views", key, views, start, subject, show, labels, WEEK))
    return parsed


def _lines(text: str, block: int = 1 << 20) -> Iterator[str]:
    """The lines of `text`, split a block at a time: a list of every line of a large file at
    once would double an import's memory."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + block)
        end = len(text) if end < 0 else end
        yield from text[start:end].split("\n")
        start = end + 1


def _decoded(body: bytes, block: int = 1 << 20) -> Iterator[str]:
    """The lines of UTF-8 `body`, decoded a block at a time (a newline byte is never part of
    another character, so a block cut after one decodes on its own)."""
    start = 0
    while start < len(body):
        end = body.find(b"\n", start + block)
        end = len(body) if end < 0 else end
        try:
            text = body[start:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadPayload(f"not UTF-8 text at byte {start + exc.start}") from None
        yield from text.split("\n")
        start = end + 1


def _header(line: str, text: str, source_name: str) -> dict[str, int]:
    """Column name -> index, after refusing everything that is not a Top 10 TSV."""
    head = line.lstrip("\ufeff").strip()
    if not head:
        raise BadPayload(f"{source_name}: empty body")
    if head == "null":
        raise BadPayload(f"{source_name}: body is JSON null, not a TSV")
    if head.startswith("<"):
        raise BadPayload(
            f"{source_name}: HTML where a TSV was expected{summarize(text[:400].encode())}"
        )
    if "\t" not in head:
        raise BadPayload(f"{source_name}: first line is not a tab-separated header: {head[:80]!r}")
    names = [name.strip() for name in head.split("\t")]
    if len(set(names)) != len(names):
        raise BadPayload(f"{source_name}: repeated column in header {names}")
    columns = {name: i for i, name in enumerate(names)}
    countries = "country_iso2" in columns or "country_name" in columns
    needed = REQUIRED + (REQUIRED_COUNTRIES if countries else REQUIRED_GLOBAL)
    missing = [name for name in needed if name not in columns]
    if missing:
        kind = "countries" if countries else "global"
        raise BadPayload(
            f"{source_name}: {kind} header lacks column(s) {', '.join(missing)} "
            f"(has {', '.join(names)})"
        )
    return columns


def _count(text: str, column: str) -> int:
    """A non-negative whole number; Netflix writes them as plain digits."""
    value = text.strip()
    if not value.isascii() or not value.isdigit():
        raise ValueError(f"{column} {text!r} is not a whole number")
    return int(value)


def _week_start(text: str) -> datetime:
    """The `week` column is the Sunday ending the week; series points sit on its Monday."""
    try:
        sunday = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"week {text!r} is not a date") from None
    if sunday.weekday() != 6:
        raise ValueError(f"week {text!r} is not a Sunday")
    return day_start(sunday - timedelta(days=6))
