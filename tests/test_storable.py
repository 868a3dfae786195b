"""`unstorable`: why the store cannot hold a value, checked for every value a round parses.

The common case (four short ASCII strings) is answered at once; everything else takes the
long way and says which field is wrong, first in the order metric, id, subject, label.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tracker.bounds import MAX_KEY
from tracker.core import Observation, unstorable

AT = datetime(2026, 11, 2, 12, tzinfo=UTC)


def obs(**change: Any) -> Observation:
    fields: dict[str, Any] = {
        "metric": "followers", "key": "123", "value": 5, "at": AT, "subject": "S", "label": "s"
    }  # fmt: skip
    return Observation(**(fields | change))


@pytest.mark.parametrize(
    "value",
    [
        obs(),
        obs(subject="Zoë Saldaña", label="zoë"),  # not ASCII, valid Unicode
        obs(key="k" * MAX_KEY),
        obs(label="", subject="東京"),
        obs(period=timedelta(days=1), sig=3, labels={"country": "GB"}),
    ],
)
def test_values_the_store_holds(value: Observation) -> None:
    assert unstorable(value) == ""


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (obs(label="a\x00b"), "label contains a NUL character"),
        (obs(subject="S\x00"), "subject contains a NUL character"),
        (obs(subject="bad \udc80 half"), "subject is not valid Unicode text"),
        (obs(key="k" * (MAX_KEY + 1)), f"id is {MAX_KEY + 1} characters, the store holds at most"),
        (obs(metric=5), "metric 5 is not text"),
        (obs(label=None), "label None is not text"),
        # Two faults: the first in the order metric, id, subject, label is the one said.
        (obs(key="a\x00", label="b\x00"), "id contains a NUL character"),
        (obs(value=True), "followers: value True is not an integer"),
        (obs(value=2**63), "does not fit in 64 bits"),
        (obs(labels={"country": "G\x00B"}), "label 'country' contains a NUL character"),
        (obs(at=AT.replace(tzinfo=None)), "has no timezone"),
        (obs(sig=-1), "significant figures is out of range"),
    ],
)
def test_values_the_store_cannot_hold_say_why(value: Observation, why: str) -> None:
    assert why in unstorable(value)


class _Text(str):
    """A str subclass: takes the long way, and is text all the same."""


def test_a_str_subclass_is_text() -> None:
    assert unstorable(obs(label=_Text("s"), subject=_Text("Zoë"))) == ""
