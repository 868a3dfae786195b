"""Quota budgets: how much of a credential's allowance a round may spend.

A budget belongs to a credential and is shared by every request made with it. Its window is
fixed: a calendar day in some time zone (reset at its midnight), or a span such as 15 minutes.
State lives in the database so the daemon, `tracker run --once` and `tracker status` agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

UTC_ZONE = ZoneInfo("UTC")
PACIFIC = ZoneInfo("America/Los_Angeles")


@dataclass(frozen=True, slots=True)
class Quota:
    """`limit` units per window. A window is either `every` long (aligned to the Unix epoch)
    or one calendar day in `zone` (midnight to midnight)."""

    limit: int
    every: timedelta | None = None
    zone: str = "UTC"

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """Start and end of the window `now` falls in."""
        if self.every is not None:
            size = int(self.every.total_seconds())
            start = int(now.timestamp()) // size * size
            begin = datetime.fromtimestamp(start, UTC_ZONE)
            return begin, begin + self.every
        local = now.astimezone(ZoneInfo(self.zone))
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        # Add a calendar day in local time (a DST day has 23 or 25 hours).
        following = (midnight + timedelta(days=1, hours=2)).replace(hour=0)
        return midnight.astimezone(UTC_ZONE), following.astimezone(UTC_ZONE)


@dataclass(frozen=True, slots=True)
class Budget:
    """A quota as it stands: for `tracker status` and for deferral messages."""

    key: str
    limit: int
    used: int
    window_end: datetime
    parked_until: datetime | None

    @property
    def left(self) -> int:
        return 0 if self.parked_until else max(0, self.limit - self.used)
