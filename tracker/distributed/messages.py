"""The broker, the queue and the message: a part of a slot, the targets a worker collects.

A message carries the targets themselves, not names to look up: a worker collects what the
dispatcher planned, whatever config it was started with. The source's settings (base URL,
credentials, retries) are the worker's own config's.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tracker.core import Target
from tracker.errors import UsageError

BROKER_ENV = "TRACKER_BROKER_URL"
QUEUE_ENV = "TRACKER_QUEUE"
DEFAULT_QUEUE = "tracker"
ACTOR = "collect"
# Retries of a message whose part could not be written (the database away): then it is dead.
MAX_RETRIES = 3
MIN_BACKOFF_MS = 500
MAX_BACKOFF_MS = 10_000
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def broker_url(given: str | None) -> str:
    """The broker URL from --broker or TRACKER_BROKER_URL; a UsageError when neither or bad."""
    url = given or os.environ.get(BROKER_ENV, "")
    where = "--broker" if given else f"environment variable {BROKER_ENV}"
    if not url:
        raise UsageError(
            f"no broker: set {BROKER_ENV} (or --broker) to the RabbitMQ URL, "
            "e.g. amqp://guest:guest@127.0.0.1:5672/%2F"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        raise UsageError(
            f"{where}: {mask(url)!r} is not a RabbitMQ URL (amqp://user:password@host:5672/vhost)"
        )
    return url


def mask(url: str) -> str:
    """The URL fit for logs and messages: the password replaced."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{netloc[1]}").geturl()


def queue_name(given: str | None) -> str:
    """The queue from --queue or TRACKER_QUEUE (default 'tracker'); UsageError when unusable."""
    name = given or os.environ.get(QUEUE_ENV) or DEFAULT_QUEUE
    if not _QUEUE_NAME.match(name) or name.endswith((".DQ", ".XQ")):
        raise UsageError(
            f"queue {name!r}: use 1-100 letters, digits, '_', '-' or '.' (not ending .DQ/.XQ)"
        )
    return name


def make_broker(url: str, middleware: list[Any] | None = None) -> Any:
    """A Dramatiq RabbitMQ broker that waits for RabbitMQ to confirm each message."""
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    broker = RabbitmqBroker(url=url, confirm_delivery=True, middleware=middleware)
    return broker


@dataclass(frozen=True, slots=True)
class Part:
    """Targets of one source for one slot: what one message asks a worker to collect."""

    source: str
    slot: int  # the slot's start, epoch seconds: instantaneous values are stored at it
    part: int  # its number within the slot
    every: int  # the source's interval: a part older than this is dropped, not run late
    sent: int  # when the dispatcher sent it
    targets: tuple[Target, ...]

    def payload(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "slot": self.slot,
            "part": self.part,
            "every": self.every,
            "sent": self.sent,
            "targets": [
                [t.kind, t.name, t.subject, [list(o) for o in t.options]] for t in self.targets
            ],
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Part:
        targets = tuple(
            Target(str(kind), str(name), str(subject), tuple((str(k), str(v)) for k, v in options))
            for kind, name, subject, options in data["targets"]
        )
        return cls(
            str(data["source"]),
            int(data["slot"]),
            int(data["part"]),
            int(data["every"]),
            int(data["sent"]),
            targets,
        )
