"""A local webhook receiver that Apprise posts to (`json://127.0.0.1:PORT/PATH`)."""

from __future__ import annotations

import json
from typing import Any

from .server import FakePlatform, Reply, Seen


class FakeWebhook(FakePlatform):
    """Answers 200 to every POST (unless a fault is queued) and keeps what was delivered."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[dict[str, Any]] = []

    def route(self, seen: Seen) -> Reply:
        if seen.method != "POST":
            return Reply(405)
        self.delivered.append(json.loads(seen.body))
        return Reply.json({"ok": True})

    def apprise_url(self, path: str = "hook") -> str:
        return self.url.replace("http://", "json://", 1) + "/" + path

    @property
    def messages(self) -> list[str]:
        return [str(d["message"]) for d in self.delivered]
