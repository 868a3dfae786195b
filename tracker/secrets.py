"""Credentials: read from environment variables or secret files named in the config, and
kept out of every log line, error, status and export.

Every secret read through `secret()` is remembered so `redact()` (and the log filter in
`tracker.log`) can replace it wherever it would appear.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import threading
from pathlib import Path

log = logging.getLogger("tracker.secrets")

MASK = "***"
# A run of this many characters of a secret is masked wherever it appears (a secret cut by
# someone's truncation); at the very start or end of a text, FRAGMENT_EDGE characters are.
FRAGMENT = 8
FRAGMENT_EDGE = 4
_MASKS = re.compile(r"(?:\*\*\*){2,}")


class _Known:
    """The secret values this process has read; a lock because rounds run in threads too."""

    def __init__(self) -> None:
        self._values: dict[str, re.Pattern[str]] = {}
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        # Shorter strings would mask ordinary words. A value known already is not shaped
        # again: collectors read their credential for every request.
        if len(value) >= 4 and value not in self._values:
            shapes = _shapes(value)
            with self._lock:
                self._values.setdefault(value, shapes)

    def redact(self, text: str) -> str:
        with self._lock:
            known = list(self._values.items())
        if not known:
            return text
        # Every secret's spans are found in the text as given, then masked at once: masking
        # one secret first would cut another that shares a run with it into pieces too short
        # to be found, and leave them readable.
        spans: list[tuple[int, int]] = []
        for value, shapes in known:
            spans.extend(
                match.span() for match in shapes.finditer(text) if match.end() > match.start()
            )
            spans.extend(_fragment_spans(text, value))
        return _MASKS.sub(MASK, _masked(text, spans))


_known = _Known()


def secret(env: str, file: str | None = None) -> str | None:
    """The credential from environment variable `env`, else from `file`; None when neither."""
    value = unmasked(env, file)
    if value:
        _known.add(value)
    return value


def remember(value: str) -> None:
    """Mask `value` from now on: a part of a credential read with `unmasked` (a URL's token,
    where masking the whole URL would mask every 'https://' too)."""
    _known.add(value)


def unmasked(env: str, file: str | None = None) -> str | None:
    """Like `secret`, but the caller registers (`remember`) the parts that are secret."""
    value = os.environ.get(env, "").strip() if env else ""
    if not value and file:
        path = Path(file).expanduser()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        mode = path.stat().st_mode
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            log.warning(
                "secret file %s is readable by other users (mode %o): chmod 600 it",
                path,
                stat.S_IMODE(mode),
            )
    return value or None


def redact(text: str) -> str:
    """`text` with every known secret replaced by ***."""
    return _known.redact(text)


def fingerprint(value: str) -> str:
    """A short, stable, non-reversible name for a credential (quota budgets are per credential)."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


class RedactingFilter(logging.Filter):
    """Masks known secrets in every record a handler emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _shapes(value: str) -> re.Pattern[str]:
    """The secret whole, in the shapes an echo takes: any character percent-encoded (or a
    space as '+'), JSON-escaped, and whitespace or an escaped line break between characters."""
    parts = []
    for char in value:
        encoded = "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        options = [re.escape(char), "(?i:" + re.escape(encoded) + ")"]
        if char == " ":
            options.append(r"\+")
        if char in '/"\\':
            options.append(re.escape("\\" + char))
        parts.append("(?:" + "|".join(options) + ")")
    return re.compile(r"(?:\s|\\[nrt])*".join(parts))


def _fragment_spans(text: str, value: str) -> list[tuple[int, int]]:
    """Where what is left of a secret cut short stands: any run of FRAGMENT characters of it,
    and a shorter piece of it where the text starts or stops (a truncation's edge)."""
    spans: list[tuple[int, int]] = []
    if len(value) > FRAGMENT:
        for i in range(len(value) - FRAGMENT + 1):
            window = value[i : i + FRAGMENT]
            at = text.find(window)
            while at != -1:
                spans.append((at, at + FRAGMENT))
                at = text.find(window, at + 1)
    for size in range(min(len(value) - 1, FRAGMENT), FRAGMENT_EDGE - 1, -1):
        if text.endswith(value[:size]):
            spans.append((len(text) - size, len(text)))
            break
    for size in range(min(len(value) - 1, FRAGMENT), FRAGMENT_EDGE - 1, -1):
        if text.startswith(value[-size:]):
            spans.append((0, size))
            break
    return spans


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each span, overlapping or touching ones merged, replaced by one MASK."""
    if not spans:
        return text
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        out.append(text[last:start] + MASK)
        last = end
    return "".join(out) + text[last:]
