"""Alert rules on crafted series, evaluated and delivered through Apprise to a local webhook.

Every rule kind fires once and not again while its condition holds; hysteresis keeps a
flapping value to one alert; a rounded value's noise never alerts; a transient failure
before N in a row never alerts. On SQLite and PostgreSQL (the `store` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.alerting import (
    CAMPAIGN,
    SOURCE,
    START,
    WEEK,
    Clock,
    destination,
    observe,
    rules_config,
    running_webhook,
)
from tests.fakes.webhook import FakeWebhook
from tracker.alerts import deliver
from tracker.core import Observation
from tracker.quota import Quota
from tracker.store import Database
from tracker.store.models import Attempt
from tracker.timeutil import to_epoch


@pytest.fixture
def webhook() -> Iterator[FakeWebhook]:
    yield from running_webhook()


@pytest.fixture
def alert_env(monkeypatch: pytest.MonkeyPatch, webhook: FakeWebhook) -> str:
    return destination(monkeypatch, webhook)


def test_threshold_fires_once_and_not_again_while_true(
    store: Database, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    rules = 'name = "kit-1k"\nkind = "threshold"\nsubject = "Kit Connor"\nabove = 1000'
    config = rules_config(tmp_path, alert_env, rules)
    clock = Clock()
    observe(store, [800, 900, 1001, 1200, 1500, 1400], clock, config)
    assert len(webhook.delivered) == 1
    assert webhook.delivered[0]["title"] == "tracker alert: kit-1k"
    assert "Kit Connor exampletube followers: 1,001, at or above 1,000" in webhook.messages[0]
    [log] = store.alert_deliveries()
    assert (log.rule, log.outcome, log.destination) == ("kit-1k", "sent", f"env {alert_env}")


def test_a_flapping_value_fires_once_then_again_after_the_hysteresis(
    store: Database, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    rules = 'name = "flap"\nkind = "threshold"\nabove = 1000\nhysteresis = 0.05'
    config = rules_config(tmp_path, alert_env, rules)
    clock = Clock()
    observe(store, [990, 1010, 995, 1005, 998, 1002, 960, 1003], clock, config)
    assert len(webhook.delivered) == 1
    observe(store, [940, 1001], clock, config)  # under 950: re-armed, and it fires again
    assert len(webhook.delivered) == 2
    assert [s.episode for s in store.alert_states("flap")] == [2]


def test_threshold_down(
    store: Database, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    config = rules_config(tmp_path, alert_env, 'name = "low"\nkind = "threshold"\nbelow = 100')
    observe(store, [150, 99, 80, 101, 90, 200, 50], Clock(), config)
    assert [m.split(": ", 1)[1] for m in webhook.messages] == [
        "99, at or below 100",
        "50, at or below 100",
    ]


def test_a_change_smaller_than_the_precision_never_alerts(
    store: Database, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    """1.28M at 3 significant figures is anything from 1,275,000 to 1,285,000."""
    rules = (
        'name = "line"\nkind = "threshold"\nabove = 1_280_000\n\n'
        'name = "step"\nkind = "growth"\nby = 5000\nwindow = "1h"'
    )
    config = rules_config(tmp_path, alert_env, rules)
    clock = Clock()
    observe(store, [1_270_000, 1_280_000, 1_270_000, 1_280_000], clock, config, sig=3)
    assert webhook.delivered == []
    observe(store, [1_300_000], clock, config, sig=3)  # certainly above, and up 10,000+
    assert sorted(d["title"] for d in webhook.delivered) == [
        "tracker alert: line",
        "tracker alert: step",
    ]


def test_growth_in_a_window_fires_once(
    store: Database, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    rules = 'name = "surge"\nkind = "growth"\npercent = 50\nwindow = "2h"'
    config = rules_config(tmp_path, alert_env, rules)
    # +10%, +10%, then 1000 -> 1600 within two hours, and it stays up.
    observe(store, [1000, 1050, 1100, 1600, 1700, 1750, 1800], Clock(), config)
    assert len(webhook.delivered) == 1
    assert "up 52.4%" in webhook.messages[0] and "(rule: 50%)" in webhook.messages[0]


def test_a_multiple_of_a_campaign_baseline_fires_once(
    store: Database, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    from tracker.baselines import references

    rules = 'name = "kit-10x"\nkind = "growth"\ntimes = 10\nbaseline = "kit-before"'
    config = rules_config(tmp_path, alert_env, rules, CAMPAIGN)
    assert config.campaign is not None
    store.sync_baselines(config.campaign.name, references(config))
    observe(store, [5000, 9999, 10_000, 12_000, 11_000], Clock(), config)
    assert len(webhook.delivered) == 1
    assert "10.0x the baseline 1,000" in webhook.messages[0]


def chart_week(store: Database, week: int, ranks: dict[str, int]) -> None:
    """One weekly chart: the shows in it and their ranks."""
    at = START + week * WEEK
    store.write(
        SOURCE,
        [
            Observation("chart_rank", show, rank, at, show, labels={"country": "GB"}, period=WEEK)
            for show, rank in ranks.items()
        ],
    )


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("enters", ["entered the chart at #3", "entered the chart at #2"]),
        ("leaves", ["left the chart (last #1"]),
        ("best", ["new best rank #2", "new best rank #1"]),
        ("top", ["reached #1"]),
    ],
)
def test_chart_events_fire_once_each(
    store: Database,
    tmp_path: Path,
    alert_env: str,
    webhook: FakeWebhook,
    event: str,
    expected: list[str],
) -> None:
    rules = (
        f'name = "chart-{event}"\nkind = "chart"\nevent = "{event}"\nsubject = "Show"\n'
        'metric = "chart_rank"\nlabels = { country = "GB" }'
    )
    config = rules_config(tmp_path, alert_env, rules)
    clock = Clock()
    weeks = [{"Show": 3}, {"Show": 2}, {"Show": 1}, {"Show": 1}, {}, {}, {"Show": 2}]
    for week, ranks in enumerate(weeks):
        chart_week(store, week, {"Other": 5, **ranks})
        for _ in range(2):  # evaluated twice a week: nothing fires twice
            clock.now = START + week * WEEK + timedelta(days=1)
            deliver.run(config, store, clock)
    assert len(webhook.messages) == len(expected), webhook.messages
    for message, start in zip(webhook.messages, expected, strict=True):
        assert message.startswith("Show exampletube chart_rank (country=GB): " + start)


def test_a_claim_verdict_change_fires_once(
    store: Database, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    config = rules_config(tmp_path, alert_env, 'name = "verdicts"\nkind = "claim"', CAMPAIGN)
    clock = Clock(datetime(2026, 3, 8, tzinfo=UTC))
    deliver.run(config, store, clock)  # nothing measured yet: nothing to say
    assert webhook.delivered == []
    observe(store, [3000, 3000], clock, config)  # 3,000 against a claimed 5,000
    assert len(webhook.delivered) == 1
    assert webhook.messages[0].startswith("claim 'kit-claim': claim is now contradicted")
    on_the_day = datetime(2026, 3, 10, tzinfo=UTC)  # nearer the claim's date: it now agrees
    store.write(SOURCE, [Observation("followers", "kit", 5000, on_the_day, "Kit Connor")])
    deliver.run(config, store, clock)
    deliver.run(config, store, clock)
    assert len(webhook.delivered) == 2
    assert "claim is now confirmed" in webhook.messages[1]


def fail(store: Database, clock: Clock, outcome: str, cause: str = "") -> None:
    at = to_epoch(clock())
    store.record_attempt(
        Attempt(source=SOURCE, started=at, finished=at, outcome=outcome, cause=cause)
    )
    clock.advance(timedelta(minutes=10))


def test_a_429_followed_by_success_fires_nothing(
    store: Database, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    rules = f'name = "down"\nkind = "failing"\nplatform = "{SOURCE}"\nrounds = 3'
    config = rules_config(tmp_path, alert_env, rules)
    clock = Clock()
    for outcome in ["ok", "failed", "ok", "failed", "failed", "ok"]:
        fail(store, clock, outcome, "HTTP 429 Too Many Requests")
        deliver.run(config, store, clock)
    assert webhook.delivered == []
    for _ in range(6):  # three in a row fires; more of them do not fire again
        fail(store, clock, "failed", "HTTP 503")
        deliver.run(config, store, clock)
    assert len(webhook.delivered) == 1
    assert "failed 3 rounds in a row: HTTP 503" in webhook.messages[0]
    for outcome in ["ok", "failed", "failed", "failed"]:  # a success re-arms it
        fail(store, clock, outcome, "HTTP 500")
        deliver.run(config, store, clock)
    assert len(webhook.delivered) == 2


def test_a_source_without_success_for_a_day(
    store: Database, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    rules = 'name = "quiet"\nkind = "failing"\nno_success_for = "1d"'
    config = rules_config(tmp_path, alert_env, rules)
    clock = Clock()
    fail(store, clock, "ok")
    for _ in range(6):
        clock.advance(timedelta(hours=5))
        fail(store, clock, "failed", "timeout")
        deliver.run(config, store, clock)
    assert len(webhook.delivered) == 1
    assert webhook.messages[0].startswith(f"source {SOURCE}: no success for 2")


def test_a_quota_nearly_spent_fires_once_per_window(
    store: Database, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    config = rules_config(tmp_path, alert_env, 'name = "budget"\nkind = "quota"\nspent = 0.9')
    clock = Clock()
    quota = Quota(100, every=timedelta(hours=1))
    key = f"{SOURCE}:units:abc123"
    for cost in (50, 30, 15, 4):
        assert store.quota_take(key, quota, cost, clock()) is not None
        deliver.run(config, store, clock)
    assert len(webhook.delivered) == 1 and "95% of 100 spent" in webhook.messages[0]
    clock.advance(timedelta(hours=1))  # a new window: re-armed
    deliver.run(config, store, clock)
    assert store.quota_take(key, quota, 90, clock()) is not None
    deliver.run(config, store, clock)
    assert len(webhook.delivered) == 2


def test_the_alerts_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    """benchmarks/alerts.py kept running (it times nothing here)."""
    from benchmarks import alerts as bench

    write, check = bench.run(f"sqlite:///{tmp_path / 'bench.db'}", 5, 2, tmp_path)
    assert write > 0 and check > 0
