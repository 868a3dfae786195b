"""Credentials: read from environment variables or secret files named in the config, and
kept out of every log line, error, status and export.

Every secret read through `secret()` is remembered so `redact()` (and the log filter in
`tracker.log`) can replace it wherever it would appear.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
from pathlib import Path

log = logging.getLogger("tracker.secrets")

MASK = "***"


class _Known:
    """The secret values this process has read; a lock because rounds run in threads too."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if len(value) >= 4:  # shorter strings would mask ordinary words
            with self._lock:
                self._values.add(value)

    def redact(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        return text


_known = _Known()


def secret(env: str, file: str | None = None) -> str | None:
    """The credential from environment variable `env`, else from `file`; None when neither."""
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
    if not value:
        return None
    _known.add(value)
    return value


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
