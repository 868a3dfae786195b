"""Alert delivery: the outbox survives kill -9, retries are bounded, a 429 is retried, the rate
limit holds alerts back without dropping them, and the destination URL (a secret) never shows.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests import entry
from tests.alerting import (
    SOURCE,
    START,
    Clock,
    destination,
    observe,
    rules_config,
    running_webhook,
)
from tests.conftest import Seeded, tracker_env
from tests.entry import Main
from tests.fakes.server import Reply
from tests.fakes.webhook import FakeWebhook
from tracker import config as config_module
from tracker.alerts import deliver
from tracker.alerts.evaluate import evaluate
from tracker.core import Observation
from tracker.store import Database

ABOVE = 'name = "kit-1k"\nkind = "threshold"\nsubject = "Kit Connor"\nabove = 1000'

KILLED_AFTER = """
import os, signal, sys
from datetime import UTC, datetime
from tracker import config
from tracker.alerts.evaluate import evaluate
from tracker.core import Observation
from tracker.store import Database

cfg, store = config.load(sys.argv[1]), Database.open(sys.argv[2])
at = datetime(2026, 3, 2, tzinfo=UTC)
store.write("exampletube", [Observation("followers", "kit", 5000, at, "Kit Connor")])
fired = evaluate(cfg, store, lambda: at).fired
if sys.argv[3] == "claimed":  # died mid-send: claimed, never marked
    store.alert_claim(int(at.timestamp()), 600)
print(len(fired), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture
def webhook() -> Iterator[FakeWebhook]:
    yield from running_webhook()


@pytest.fixture
def alert_env(monkeypatch: pytest.MonkeyPatch, webhook: FakeWebhook) -> str:
    return destination(monkeypatch, webhook)


def killed(config_path: Path, url: str, stage: str) -> None:
    """Evaluate (and with stage 'claimed', claim) in a process that then gets SIGKILL."""
    done = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER, str(config_path), url, stage],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.strip() == "1"


def test_kill_9_between_evaluation_and_delivery_neither_loses_nor_repeats(
    store: Database, database_url: str, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    config = rules_config(tmp_path, alert_env, ABOVE)
    killed(config.path, database_url, "evaluated")
    assert webhook.delivered == []
    assert store.alert_waiting() == {"kit-1k": 1}
    clock = Clock(START + timedelta(hours=1))
    for _ in range(3):  # the restarted process: delivers it once, evaluates it never again
        restarted = Database.open(database_url)
        deliver.run(config, restarted, clock)
        restarted.close()
        clock.advance(timedelta(hours=1))
    assert len(webhook.delivered) == 1
    assert "5,000, at or above 1,000" in webhook.messages[0]
    assert store.alert_waiting() == {}


def test_a_sender_killed_mid_send_is_retried_once_its_claim_is_stale(
    store: Database, database_url: str, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    config = rules_config(tmp_path, alert_env, ABOVE)
    killed(config.path, database_url, "claimed")
    clock = Clock(START + timedelta(minutes=5))
    deliver.run(config, store, clock)  # still claimed by the dead sender: not yet
    assert webhook.delivered == []
    clock.advance(timedelta(seconds=deliver.STALE_SECONDS))
    deliver.run(config, store, clock)
    deliver.run(config, store, clock)
    assert len(webhook.delivered) == 1


def test_a_429_then_success_delivers_once(
    store: Database, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    config = rules_config(tmp_path, alert_env, ABOVE)
    webhook.fail_next(Reply(429, {"Retry-After": "1"}, b"slow down"))
    clock = Clock()
    observe(store, [2000], clock, config)
    assert webhook.delivered == []
    clock.advance(timedelta(seconds=deliver.FIRST_WAIT))
    for _ in range(3):
        deliver.deliver(config, store, clock)
        clock.advance(timedelta(minutes=5))
    assert len(webhook.delivered) == 1
    outcomes = [d.outcome for d in reversed(store.alert_deliveries())]
    assert outcomes == ["error", "sent"]


def test_retries_are_bounded_and_logged(
    store: Database, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    config = rules_config(tmp_path, alert_env, ABOVE + "\nretries = 3")
    webhook.fail_next(*[Reply(500, {}, b"down")] * 10)
    clock = Clock()
    observe(store, [2000], clock, config)
    for _ in range(6):
        clock.advance(timedelta(hours=1))
        deliver.deliver(config, store, clock)
    assert len(webhook.requests) == 3
    log = list(reversed(store.alert_deliveries()))
    assert [d.outcome for d in log] == ["error", "error", "failed"]
    assert all(d.rule == "kit-1k" and "Kit Connor" in d.message for d in log)
    assert store.alert_waiting() == {}


def test_the_rate_limit_per_destination_holds_alerts_back_and_drops_none(
    store: Database, tmp_path: Path, alert_env: str, webhook: FakeWebhook
) -> None:
    config = rules_config(tmp_path, alert_env, ABOVE + "\nper_hour = 2")
    clock = Clock()
    for n in range(5):
        obs = Observation("followers", f"k{n}", 5000, clock(), "Kit Connor", label=f"kit{n}")
        store.write(SOURCE, [obs])
    deliver.run(config, store, clock)
    assert len(webhook.delivered) == 2
    assert store.alert_waiting() == {"kit-1k": 3}
    clock.advance(timedelta(minutes=30))
    deliver.run(config, store, clock)
    assert len(webhook.delivered) == 2
    clock.advance(timedelta(minutes=31))
    deliver.run(config, store, clock)
    clock.advance(timedelta(hours=1, minutes=1))
    deliver.run(config, store, clock)
    assert len(webhook.delivered) == 5
    assert len(set(webhook.messages)) == 5


def test_no_destination_set_keeps_the_alert_until_there_is_one(
    store: Database,
    tmp_path: Path,
    alert_env: str,
    webhook: FakeWebhook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = rules_config(tmp_path, alert_env, ABOVE)
    url = os.environ[alert_env]
    monkeypatch.delenv(alert_env)
    clock = Clock()
    observe(store, [2000], clock, config)
    assert store.alert_waiting() == {"kit-1k": 1}
    [held] = store.alert_deliveries()
    assert held.outcome == "held" and f"set ${alert_env}" in held.detail
    monkeypatch.setenv(alert_env, url)
    clock.advance(timedelta(minutes=2))
    deliver.run(config, store, clock)
    assert len(webhook.delivered) == 1


def test_destination_secrets_never_appear_in_any_output(
    store: Database,
    database_url: str,
    tmp_path: Path,
    alert_env: str,
    webhook: FakeWebhook,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The URL's token: not in the logs, the delivery log, nor any command's output, even
    when the receiver echoes it back in an error."""
    token = os.environ[alert_env].rsplit("/", 1)[1]
    config = rules_config(tmp_path, alert_env, ABOVE + "\nretries = 2")
    caplog.set_level(logging.DEBUG)
    store.write(SOURCE, [Observation("followers", "kit", 5000, START, "Kit Connor")])
    main = Main(monkeypatch, capsys)
    env = {"TRACKER_CONFIG": str(config.path), "TRACKER_DATABASE_URL": database_url}
    echo = Reply(500, {}, f"bad token {token} in {os.environ[alert_env]}".encode())
    webhook.fail_next(echo)
    outputs = [main("alerts", "test", "kit-1k", "--send", env=env)]
    webhook.fail_next(echo, echo)
    clock = Clock(START + timedelta(hours=1))
    for _ in range(2):
        deliver.run(config, store, clock)
        clock.advance(timedelta(hours=1))
    outputs += [main("alerts", *args, env=env) for args in (["list"], ["history"])]
    assert [o.returncode for o in outputs] == [1, 0, 0]
    assert "not sent" in outputs[0].stdout and "failed" in outputs[2].stdout
    assert len(webhook.requests) == 3 and webhook.delivered == []
    seen = [o.stdout + o.stderr for o in outputs] + [caplog.text]
    seen += [f"{d.destination} {d.detail} {d.message}" for d in store.alert_deliveries()]
    assert any(f"env {alert_env}" in text for text in seen)
    for text in seen:
        assert token not in text and token[:12] not in text and token[-12:] not in text


@pytest.mark.parametrize(
    ("shape", "secret"),
    [
        ("json://127.0.0.1:4545/hook/{a}", ["{a}"]),
        ("tgram://9{n}:{a}/-100{n}", ["9{n}:{a}", "-100{n}"]),
        ("discord://{n}/{a}", ["{n}", "{a}"]),
        ("https://hooks.slack.com/services/T{b}/B{c}/{a}", ["T{b}", "B{c}", "{a}"]),
        ("mailto://alerts:{b}@mail.example.org?to=me@example.org", ["{b}"]),
        ("ntfy://ntfy.sh/topic-{b}, json://localhost/x", ["topic-{b}"]),
    ],
)
def test_the_secret_parts_of_a_destination_are_masked_and_only_they(
    shape: str, secret: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Masking the whole URL would mask any run of 8 of its characters everywhere: every
    'https://' and '127.0.0.' in every later log line of the process."""
    from tracker.alerts import destination
    from tracker.alerts.rules import Rule
    from tracker.secrets import redact

    # Random tokens: a secret stays known to the process, and masks its runs in later tests.
    fill = {"a": uuid.uuid4().hex, "b": uuid.uuid4().hex[:10], "c": uuid.uuid4().hex[:9]}
    fill["n"] = str(uuid.uuid4().int)[:10]
    url, secrets = shape.format(**fill), [s.format(**fill) for s in secret]
    monkeypatch.setenv("ALERT_TEST_PARTS", url)
    rule = Rule(name="r", kind="failing", rounds=1, url_env="ALERT_TEST_PARTS")
    assert destination.url(rule) == url
    shown = redact(f"posting to {url} failed")
    assert all(s not in shown for s in secrets), shown
    innocent = "GET https://127.0.0.1:8080/services/hook?limit=100 from localhost: ok"
    assert redact(innocent) == innocent


def test_alerts_test_shows_what_would_fire_and_sends_only_with_send(
    store: Database,
    database_url: str,
    tmp_path: Path,
    alert_env: str,
    webhook: FakeWebhook,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = rules_config(tmp_path, alert_env, ABOVE)
    store.write(SOURCE, [Observation("followers", "kit", 5000, START, "Kit Connor")])
    main = Main(monkeypatch, capsys)
    env = {"TRACKER_CONFIG": str(config.path), "TRACKER_DATABASE_URL": database_url}
    dry = main("alerts", "test", "kit-1k", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "1 watched, the condition holds for 1; 1 would fire now" in dry.stdout
    assert webhook.delivered == [] and store.alert_states() == []
    sent = main("alerts", "test", "kit-1k", "--send", env=env)
    assert sent.returncode == 0 and "sent: Kit Connor" in sent.stdout
    assert len(webhook.delivered) == 1
    unknown = main("alerts", "test", "nope", env=env)
    assert unknown.returncode == 2 and "no alert rule named 'nope'" in unknown.stderr


def test_the_daemon_round_evaluates_and_delivers(
    seeded: Seeded, store: Database, database_url: str, tmp_path: Path, alert_env: str,
    webhook: FakeWebhook,
) -> None:  # fmt: skip
    """`tracker run --once` (a real round on the fakes): the rule fires on what it stored."""
    rule = f'\n[[alerts]]\nname = "kit"\nkind = "threshold"\nabove = 1000\nurl_env = "{alert_env}"'
    rule += '\nsubject = "Kit Connor"\nplatform = "bluesky"\nmetric = "followers"\n'
    path = seeded.write_config(tmp_path / "tracker.toml", extra=rule)
    env = tracker_env(path, database_url, **{alert_env: os.environ[alert_env]})
    for _ in range(2):
        done = entry.run("run", "--once", env=env)
        assert done.returncode == 0, done.stderr
    assert len(webhook.delivered) == 1
    assert webhook.messages[0].startswith("Kit Connor bluesky followers kit.bsky.social: 1,800")
    assert os.environ[alert_env].rsplit("/", 1)[1] not in done.stderr
    assert evaluate(config_module.load(path), store, save=False).fired == []
