"""The campaign's sections of `tracker.toml`: what is tracked (accounts, hashtags, charts,
pages) and what it is compared with (the launch, events, baselines and claims).

`tracker.config` loads them into its `Config`; each section refuses unknown keys and hostile
values (`tracker.bounds`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tracker.bounds import (
    MAX_KEY,
    MAX_LABEL,
    MAX_METRIC,
    MAX_NAME,
    MAX_SOURCE,
    MAX_SUBJECT,
    dated,
    refuse_hostile,
)
from tracker.core import normalize_tag, parse_amount

Day = date  # inside Event, `date` is the field


class Section(BaseModel):
    """A table of the config file: unknown keys and hostile values are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _total(cls, value: Any) -> Any:
        return refuse_hostile(value)


class Account(Section):
    platform: str = Field(max_length=MAX_SOURCE)
    handle: str = Field(max_length=MAX_LABEL)
    subject: str = Field(max_length=MAX_SUBJECT)
    # The platform's stable id, when known (DID, channel id, user id).
    id: str = Field(default="", max_length=MAX_KEY)

    @field_validator("handle", "subject", "platform")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


class Hashtag(Section):
    tag: str
    platforms: list[str] = Field(min_length=1, max_length=64)
    subject: str = Field(default="", max_length=MAX_SUBJECT)

    @field_validator("tag")
    @classmethod
    def _normal(cls, value: str) -> str:
        return normalize_tag(value)


class Chart(Section):
    source: str = Field(max_length=MAX_SOURCE)
    # The subject when none is given: the same bound.
    title: str = Field(max_length=MAX_SUBJECT)
    subject: str = Field(default="", max_length=MAX_SUBJECT)
    # Which list of the source, for a source with several (e.g. a best-seller list's name).
    list: str = Field(default="", max_length=MAX_NAME)
    # Which page rule of the web source reads this chart (sources.web.pages[].name).
    page: str = Field(default="", max_length=MAX_NAME)


class Page(Section):
    # Empty: the installed source that takes pages by default (`Collector.default_for`).
    source: str = Field(default="", max_length=MAX_SOURCE)
    article: str = Field(max_length=MAX_SUBJECT)
    # Which wiki (or site) of the source; empty: the source's own default.
    project: str = Field(default="", max_length=MAX_NAME)
    subject: str = Field(default="", max_length=MAX_SUBJECT)


class Reference(Section):
    """A baseline or a claim: a figure someone published, with its citation."""

    name: str = Field(max_length=MAX_NAME)
    subject: str = Field(max_length=MAX_SUBJECT)
    source: str = Field(max_length=MAX_SOURCE)
    metric: str = Field(max_length=MAX_METRIC)
    value: int | str
    at: date
    citation: str = ""
    text: str = ""

    @field_validator("at")
    @classmethod
    def _dated(cls, value: date) -> date:
        return dated(value)

    @field_validator("value")
    @classmethod
    def _amount(cls, value: int | str) -> int | str:
        parse_amount(value)
        return value

    @property
    def amount(self) -> tuple[int, int | None]:
        return parse_amount(self.value)


class Event(Section):
    """A dated moment of a campaign besides its launch (a renewal, a second season)."""

    name: str = Field(max_length=MAX_NAME)
    date: date

    @field_validator("date")
    @classmethod
    def _dated(cls, value: Day) -> Day:
        return dated(value)

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        name = value.strip()
        if not re.fullmatch(r"[\w-]+", name):
            raise ValueError(f"{value!r}: an event name is letters, digits, - and _ only")
        return name


class Campaign(Section):
    name: str = Field(max_length=MAX_NAME)
    launch: date
    # More dated moments; "day N" counts from any of them (`--relative-to NAME`).
    events: list[Event] = []
    baselines: list[Reference] = []
    claims: list[Reference] = []

    @field_validator("launch")
    @classmethod
    def _dated(cls, value: date) -> date:
        return dated(value)

    @field_validator("events")
    @classmethod
    def _distinct(cls, value: list[Event]) -> list[Event]:
        seen = {"launch"}
        for event in value:
            if event.name.casefold() in seen:
                raise ValueError(f"event {event.name!r} is named twice ('launch' is implicit)")
            seen.add(event.name.casefold())
        return value

    def dates(self) -> dict[str, date]:
        """Every event by name, the launch first."""
        return {"launch": self.launch, **{e.name: e.date for e in self.events}}
