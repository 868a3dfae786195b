"""What the alert tests share: a clock, the local webhook, a config of rules, crafted series."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes.webhook import FakeWebhook
from tracker import config as config_module
from tracker.alerts import deliver
from tracker.config import Config
from tracker.core import Observation
from tracker.store import Database

SOURCE = "exampletube"  # a platform is only ever a config value to the alerts
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
WEEK = timedelta(days=7)
CAMPAIGN = """
[campaign]
name = "Alerts"
launch = 2026-03-02

[[campaign.baselines]]
name = "kit-before"
subject = "Kit Connor"
source = "exampletube"
metric = "followers"
value = 1000
at = 2026-03-01

[[campaign.claims]]
name = "kit-claim"
subject = "Kit Connor"
source = "exampletube"
metric = "followers"
value = 5000
at = 2026-03-10
"""


class Clock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, span: timedelta) -> None:
        self.now += span


def running_webhook() -> Iterator[FakeWebhook]:
    """The `webhook` fixture of the alert tests: a started local receiver."""
    hook = FakeWebhook()
    hook.start()
    yield hook
    hook.stop()


def destination(monkeypatch: pytest.MonkeyPatch, webhook: FakeWebhook) -> str:
    """The variable holding the webhook's Apprise URL (a secret, like any destination)."""
    name = f"ALERT_TEST_{uuid.uuid4().hex[:8].upper()}"
    monkeypatch.setenv(name, webhook.apprise_url(f"token-{uuid.uuid4().hex}"))
    return name


def rules_config(tmp_path: Path, env: str, rules: str, campaign: str = "") -> Config:
    text = "".join(
        f'[[alerts]]\n{block.strip()}\nurl_env = "{env}"\n\n' for block in rules.split("\n\n")
    )
    path = tmp_path / "tracker.toml"
    path.write_text(campaign + "\n" + text, encoding="utf-8")
    return config_module.load(path)


def observe(
    store: Database,
    values: Sequence[int],
    clock: Clock,
    config: Config,
    *,
    metric: str = "followers",
    key: str = "kit",
    sig: int | None = None,
    step: timedelta = timedelta(hours=1),
) -> None:
    """Store each value at the clock's time, then evaluate and deliver, as after a round."""
    for value in values:
        obs = Observation(metric, key, value, clock(), "Kit Connor", sig=sig)
        store.write(SOURCE, [obs])
        deliver.run(config, store, clock)
        clock.advance(step)
