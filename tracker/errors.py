"""One exception tree for tracker.

    TrackerError                  anything tracker raises on purpose
    ├── ConfigError               a bad config file, key or value (exit 2)
    ├── UsageError                bad command-line input (exit 2)
    ├── UnknownName               a subject, platform or metric nothing is stored under
    │                             (exit 1); the message says what is spelled close to it
    ├── StoreError                the database refused or is unreachable
    │   ├── LockHeld              another daemon already runs against this database
    │   └── StoreRefused          the database is there but refused these values (a value out
    │       │                     of range, too long): not spooled, the round's failure
    │       └── Clashed           one series and time twice with different values in one
    │                             write: those refused, the rest stored (`stored`)
    └── SourceError               a collection attempt failed; `cause` is one short line
        ├── TemporaryError        worth retrying: timeouts, 5xx, 429, connection errors
        │   └── RateLimited       429 / reset headers; `retry_after` in seconds
        ├── QuotaExhausted        the credential's quota is spent until `reset_at`
        ├── NotFound              the target does not exist on the platform
        └── BadPayload            the body is not what the platform sends (HTML, null, drift)

Exceptions never log and never print: the CLI is the one place they become a message
and an exit code.
"""

from __future__ import annotations

from datetime import datetime


class TrackerError(Exception):
    """Base of every error tracker raises on purpose."""


class ConfigError(TrackerError):
    """A config file that cannot be used: names the file, the key and what is wrong."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {reason}")


class UsageError(TrackerError):
    """Bad command-line input: names the option and what is wrong."""


class UnknownName(TrackerError):
    """A name the store holds nothing under: says what it holds that is spelled close.
    `field` is what the name was given as: subject, platform or metric."""

    def __init__(self, message: str, field: str = "subject") -> None:
        self.field = field
        super().__init__(message)


class StoreError(TrackerError):
    """The database could not be used."""


class LockHeld(StoreError):
    """Another daemon holds the database."""


class StoreRefused(StoreError):
    """The database answered and refused the values: waiting (spooling) would not help."""


class Clashed(StoreRefused):
    """Values of one write that name one series at one time with different values: which
    one the series holds cannot be told, so all of them are refused; the write's other
    values were stored (`stored` of them new), and `refused` says how many were not."""

    def __init__(self, message: str, stored: int, refused: int) -> None:
        self.stored = stored
        self.refused = refused
        super().__init__(message)


class SourceError(TrackerError):
    """A collection attempt failed. `cause` is a one-line reason fit for `tracker status`."""

    kind = "error"

    def __init__(self, cause: str) -> None:
        self.cause = cause
        super().__init__(cause)


class TemporaryError(SourceError):
    """Worth retrying later: the platform or the network may recover."""

    kind = "temporary"


class RateLimited(TemporaryError):
    """The platform asked us to slow down; `retry_after` is seconds from now, if it said."""

    kind = "rate_limited"

    def __init__(self, cause: str, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.retry_after = retry_after


class QuotaExhausted(SourceError):
    """The credential's quota is spent; nothing to do until `reset_at`."""

    kind = "quota"

    def __init__(self, cause: str, reset_at: datetime | None = None) -> None:
        super().__init__(cause)
        self.reset_at = reset_at


class NotFound(SourceError):
    """The platform says the target does not exist (or is suspended or hidden)."""

    kind = "not_found"


class BadPayload(SourceError):
    """The answer is not in the platform's format: HTML, `null`, empty, or drifted schema."""

    kind = "bad_payload"
