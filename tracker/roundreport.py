"""What one round of one source came to: counts, failures with their causes, one log line."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tracker.secrets import redact

# The round's loggers keep one name, whichever module of the round speaks.
log = logging.getLogger("tracker.round")


@dataclass(slots=True)
class SourceReport:
    """What one round of one source came to."""

    source: str
    outcome: str  # ok | partial | failed | skipped | spooled
    targets: int = 0
    collected: int = 0
    stored: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # target -> cause
    kind: str = ""
    reason: str = ""  # why it was skipped
    note: str = ""  # what became of the values when the store refused them
    duration: float = 0.0  # seconds the round took

    def fields(self) -> dict[str, object]:
        """The summary as fields, for JSON log lines."""
        return {
            "source": self.source,
            "outcome": self.outcome,
            "targets": self.targets,
            "values": self.collected,
            "new": self.stored,
            "failed": len(self.failures),
            "kind": self.kind,
            "cause": redact(self.cause),
            "duration": round(self.duration, 3),
        }

    @property
    def cause(self) -> str:
        if self.reason:
            return self.reason
        return "; ".join(part for part in (self.note, self._failed()) if part)

    def _failed(self) -> str:
        if not self.failures:
            return ""
        shown = "; ".join(f"{name}: {why}" for name, why in list(self.failures.items())[:5])
        extra = len(self.failures) - 5
        return shown + (f"; and {extra} more" if extra > 0 else "")

    def line(self) -> str:
        if self.outcome == "skipped":
            return f"{self.source}: skipped — {self.reason}"
        head = (
            f"{self.source}: {self.outcome} — {self.targets} target(s), "
            f"{self.collected} value(s), {self.stored} new"
        )
        if self.note:
            head += f"; {self.note}"
        if self.failures:
            head += f"; {len(self.failures)} failed: {self._failed()}"
        return head

    def summary(self) -> None:
        """The one line per source per round: info when it went well, warning when not."""
        level = logging.INFO if self.outcome == "ok" else logging.WARNING
        log.log(level, "%s (%.1fs)", self.line(), self.duration, extra=self.fields())
