"""Chirp: a whole platform as a third party would ship it, one module plus entry points.

Nothing under tracker/ names Chirp: everything tracker needs to know about it is here, in
the collector's hooks and the importer. The fake it talks to is tests/fakes/chirp.py.

    accounts  handles written ~name (letters, digits, _), followers; 10 names a request
    hashtags  refused: Chirp has none
    history   daily followers, 92 days a request (`tracker backfill chirp`)
    claims    may call it by its old name, "chirper"
    importer  `tracker import chirp-export FILE`: the CSV export (id,name,day,followers)
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import httpx

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
    load_object,
    one_line,
    require,
)
from tracker.errors import BadPayload, NotFound, SourceError
from tracker.importers.base import Importer
from tracker.quota import Quota

DAY = timedelta(days=1)
CHUNK = 92  # days per history request
_HANDLE = re.compile(r"^[a-z0-9_]{1,20}$")
NO_HASHTAGS = "Chirp has no hashtags: its posts are grouped in rooms, never tagged"


class ChirpSettings(SourceSettings):
    base_url: str = "https://api.chirp.example"
    token_env: str = "CHIRP_TOKEN"
    token_file: str | None = None
    calls_per_hour: int = 100


class ChirpCollector(Collector):
    name: ClassVar[str] = "chirp"
    settings_model: ClassVar[type[SourceSettings]] = ChirpSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"account"})
    description: ClassVar[str] = "Chirp followers via the v1 users API"
    credentials: ClassVar[tuple[Credential, ...]] = (Credential("token"),)
    handle_prefix: ClassVar[str] = "~"
    aliases: ClassVar[frozenset[str]] = frozenset({"chirper"})

    settings: ChirpSettings

    # -- hooks ------------------------------------------------------------------------
    @classmethod
    def normalize_handle(cls, handle: str) -> str:
        name = super().normalize_handle(handle).lower()
        if not _HANDLE.match(name):
            raise ValueError("a Chirp handle is ~name: 1 to 20 letters, digits or _")
        return name

    @classmethod
    def refusal(cls, kind: str) -> str | None:
        return NO_HASHTAGS if kind == "hashtag" else super().refusal(kind)

    def history_start(self, launch: date | None) -> date | None:
        if launch is None:
            raise ValueError("a backfill of chirp needs a start date (no [campaign])")
        return launch - 30 * DAY

    def history(
        self, targets: Sequence[Target], since: date | None, until: date
    ) -> list[HistoryChunk]:
        chunks = []
        for target in targets:
            day = since or until
            while day <= until:
                last = min(day + (CHUNK - 1) * DAY, until)
                url = f"{self.settings.base_url}/v1/users/{target.name}/history"
                params = (("from", day.isoformat()), ("to", last.isoformat()))
                request = Request((target,), url, params=params, budget="calls")
                chunks.append(HistoryChunk(f"{target.name} {day}..{last}", request))
                day = last + DAY
        return chunks

    # -- the contract ---------------------------------------------------------------------
    @property
    def quotas(self) -> Mapping[str, Quota]:
        return {"calls": Quota(self.settings.calls_per_hour, every=timedelta(hours=1))}

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        names = sorted({t.name for t in targets})
        return [
            Request(
                tuple(t for t in targets if t.name in batch),
                f"{self.settings.base_url}/v1/users",
                params=(("names", ",".join(batch)),),
                budget="calls",
            )
            for batch in (names[i : i + 10] for i in range(0, len(names), 10))
        ]

    async def fetch(self, client: httpx.AsyncClient, request: Request) -> httpx.Response:
        token = self.credential("token") or ""
        headers = {"Authorization": f"Bearer {token}"}
        return await client.get(request.url, params=list(request.params), headers=headers)

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        err = error_json(body, "error")
        if err.get("code") == "no_user":
            return NotFound(f"Chirp: {one_line(err.get('message'))}")
        if err:
            return SourceError(f"Chirp refused ({status} {err.get('code')}): {err.get('message')}")
        return super().error(status, headers, body)

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        data = load_object(body)
        parsed = Parsed()
        if request.url.endswith("/history"):
            user = require(data, "user")
            for i, entry in enumerate(require(data, "days")):
                day = date.fromisoformat(str(require(entry, "day")))
                count = as_count(require(entry, "followers"), f"days[{i}].followers")
                for target in request.targets:
                    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
                    parsed.observations.append(_point(user, count, moment, target, DAY))
            return parsed
        users = {str(u.get("name")): u for u in require(data, "users") if isinstance(u, dict)}
        for target in request.targets:
            user = users.get(target.name)
            if user is None:
                parsed.failures[target.name] = "not found: Chirp left the user out"
                continue
            count = as_count(require(user, "followers"), "followers")
            parsed.observations.append(_point(user, count, at, target, None))
        return parsed


def _point(
    user: Mapping[str, Any], count: int, at: datetime, target: Target, period: timedelta | None
) -> Observation:
    user_id = require(user, "id")
    label = str(user.get("name") or target.name)
    return Observation("followers", str(user_id), count, at, target.subject, label, period=period)


class ChirpExportImporter(Importer):
    """The CSV file Chirp's "download my data" gives: id,name,day,followers."""

    name: ClassVar[str] = "chirp-export"
    source: ClassVar[str] = "chirp"
    title: ClassVar[str] = "Chirp export"
    kind: ClassVar[str] = "account"
    description: ClassVar[str] = "A Chirp data export (CSV: id,name,day,followers)"
    example: ClassVar[str] = "chirp-export.csv"

    def read(self, body: bytes, targets: Sequence[Target] | None, file_name: str) -> Parsed:
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8", "replace"))))
        if not rows or set(rows[0]) != {"id", "name", "day", "followers"}:
            raise BadPayload(f"{file_name}: the header is not id,name,day,followers")
        subjects = None if targets is None else {t.name: t.subject for t in targets}
        parsed = Parsed()
        for number, row in enumerate(rows, start=2):
            if subjects is not None and row["name"] not in subjects:
                continue
            try:
                day = date.fromisoformat(row["day"])
                count = int(row["followers"])
            except ValueError as exc:
                parsed.failures[f"row {number}"] = str(exc)
                continue
            subject = row["name"] if subjects is None else subjects[row["name"]]
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            parsed.observations.append(
                Observation("followers", row["id"], count, moment, subject, row["name"], period=DAY)
            )
        return parsed
