"""Platform fakes with their look-ups indexed, for benchmarks of tracker's own cost.

The test fakes find a handle by scanning every account they hold: fine for a test's handful,
but with 1,000-10,000 accounts the scan is the fake's time, not tracker's, and a benchmark
would count it as the platform's answer time (which is `delay` and only `delay` in the ideal).
Call `index()` once the accounts are added.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.bluesky import FakeBluesky
from tests.fakes.x import FakeX


class IndexedBluesky(FakeBluesky):
    """The fake with its handle look-up indexed. Its scan of every profile per handle (25 a
    request, ~3 ms with 1,000 profiles) would count as the platform's answer time, which is
    `delay` and only `delay` in the ideal."""

    def index(self) -> None:
        self._by_handle = {p["handle"].lower(): p for p in self.profiles.values()}

    def lookup(self, actor: str) -> dict[str, Any] | None:
        return self.profiles.get(actor) or self._by_handle.get(actor.lower())


class IndexedX(FakeX):
    """The fake with its username look-up indexed (its scan costs ~15 ms per 100 names)."""

    def index(self) -> None:
        self._by_name = {u["username"].lower(): u for u in self.users.values()}

    def _lookup(self, value: str, parameter: str) -> dict[str, Any] | None:
        if parameter == "ids":
            return self.users.get(value)
        return self._by_name.get(value.lower())
