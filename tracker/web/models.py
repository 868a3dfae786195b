"""The shapes the web API answers with: pydantic models, so the OpenAPI schema states them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """What was wrong with a request (400, 404) or why the store could not answer (503)."""

    detail: str


class Latest(BaseModel):
    ts: int
    time: str
    value: int


class SeriesRecord(BaseModel):
    id: int
    subject: str
    platform: str
    metric: str
    key: str
    label: str
    labels: dict[str, str]
    latest: Latest | None = None


class SeriesPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[SeriesRecord]


class PointRecord(BaseModel):
    """One point. In the API's JSON a field equal to its default is left out (API 2): most
    points are `{"ts": …, "value": …}`; a client reads an absent field as its default."""

    ts: int  # Unix seconds, UTC (the CSV gives ISO times)
    # None in a week a chart's listing was published without the series (`tracker history`'s
    # "not in chart"): never a stale rank, never a gap.
    value: int | None
    status: Literal["value", "not in chart"] = Field(
        "value", description='Left out when "value"; "not in chart" comes with value null.'
    )
    period: int | None = Field(
        None, description="Seconds the value covers (a week's chart rank); left out when none."
    )
    day: int | None = Field(
        None, description="Days since the event asked for (relative_to); left out otherwise."
    )
    backfilled: bool = Field(False, description="Left out when false.")
    sudden: bool = Field(False, description="Left out when false.")


class EventRecord(BaseModel):
    name: str
    date: str


class PointsPage(BaseModel):
    series: SeriesRecord
    event: EventRecord | None = None
    every: int | None = None
    total: int
    offset: int
    limit: int
    next_offset: int | None = None
    points: list[PointRecord]


class ComparisonRecord(BaseModel):
    name: str
    role: str  # baseline or claim
    subject: str
    platform: str
    metric: str
    value: int
    at: str
    citation: str
    # The one verdict `claims` gives (compare never contradicts claims), and the value it rests
    # on: for a figure computed over the claim's window (countries in a chart) there is no
    # single latest value, only this.
    verdict: str = ""
    verdict_value: int | None = None
    measured: Latest | None = None
    series_label: str = ""
    change: int | None = None
    percent: float | None = None


class EvidenceRecord(BaseModel):
    what: str
    start: str
    end: str | None = None
    value: int
    backfilled: bool = False


class VerdictRecord(BaseModel):
    name: str
    subject: str
    platform: str
    metric: str
    claimed: int
    figure: str
    at: str
    text: str
    citation: str
    status: str
    measured: int | None = None
    summary: str
    action: str
    evidence: list[EvidenceRecord]


class SourceRecord(BaseModel):
    source: str
    up: bool
    last_outcome: str
    last_success: str | None = None
    last_failure: str | None = None
    last_cause: str
    failures_in_a_row: int
    next_run: str | None = None


class BudgetRecord(BaseModel):
    key: str
    limit: int
    used: int
    left: int
    window_end: str
    parked_until: str | None = None


class StatusRecord(BaseModel):
    database: str  # the URL with its password masked
    campaign: str | None = None
    events: list[EventRecord]
    sources: list[SourceRecord]
    budgets: list[BudgetRecord]
