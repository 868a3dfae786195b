"""The log: JSON lines carry fields, secrets stay masked in them, retried attempts are debug
lines (shown with --verbose), and each source's round ends in one summary line."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import closed_port
from tests.entry import Main
from tests.test_cli import make_cli
from tracker import log
from tracker.secrets import secret

if TYPE_CHECKING:
    from tests.conftest import Seeded


def _record(message: str, level: int = logging.INFO, **extra: object) -> logging.LogRecord:
    record = logging.getLogger("tracker.round").makeRecord(
        "tracker.round", level, __file__, 1, message, None, None, extra=extra
    )
    return record


def test_a_json_line_carries_the_fields_given_with_the_record() -> None:
    record = _record(
        "bluesky: ok — 2 target(s), 2 value(s), 2 new (0.1s)",
        source="bluesky",
        outcome="ok",
        values=2,
        new=2,
        failed=0,
        cause="",
        duration=0.125,
    )
    line = json.loads(log.JsonLines().format(record))
    assert line.pop("time").endswith("+00:00")
    assert line == {
        "level": "info",
        "logger": "tracker.round",
        "message": "bluesky: ok — 2 target(s), 2 value(s), 2 new (0.1s)",
        "source": "bluesky",
        "outcome": "ok",
        "values": 2,
        "new": 2,
        "failed": 0,
        "cause": "",
        "duration": 0.125,
    }


def test_a_field_never_replaces_the_standard_keys_and_odd_values_still_print() -> None:
    record = _record("hello", level=logging.WARNING, level_hint="x", when=Path("/tmp/x"))
    line = json.loads(log.JsonLines().format(record))
    assert (line["level"], line["message"], line["when"]) == ("warning", "hello", "/tmp/x")


def test_secrets_are_masked_in_fields_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_TEST_LOG_SECRET", "sk-live-0123456789")
    assert secret("TRACKER_TEST_LOG_SECRET") == "sk-live-0123456789"  # now a known secret
    record = _record(
        "x: failed",
        cause="401 for token sk-live-0123456789",
        sources=[{"missing": "sk-live-0123456789"}],
    )
    text = log.JsonLines().format(record)
    assert "sk-live-0123456789" not in text
    line = json.loads(text)
    # Other tests' secrets are known too, and their fragments may mask more: only masks remain.
    assert re.fullmatch(r"401 for token (\*\*\*)+", line["cause"]), line["cause"]
    assert re.fullmatch(r"(\*\*\*)+", line["sources"][0]["missing"]), line["sources"]


def test_the_text_format_is_one_readable_line_without_the_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        log.setup("text")
        logging.getLogger("tracker.round").info("bluesky: ok", extra={"source": "bluesky"})
        logging.getLogger("tracker.http").debug("attempt 1 failed")  # not without --verbose
        log.setup("text", verbose=True)
        logging.getLogger("tracker.http").debug("attempt 2 failed")
        logging.getLogger("httpcore").debug("send_request_headers")  # others' debug stays out
    finally:
        root.handlers[:], root.level = handlers, level
        logging.getLogger("tracker").setLevel(logging.NOTSET)
    lines = capsys.readouterr().err.splitlines()
    assert [line[20:] for line in lines] == ["INFO    bluesky: ok", "DEBUG   attempt 2 failed"]


@pytest.fixture
def main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Main:
    return Main(monkeypatch, capsys)


def test_retried_attempts_are_debug_lines_and_each_round_ends_in_one_summary(
    seeded: Seeded, tmp_path: Path, main: Main
) -> None:
    cli = make_cli(seeded, tmp_path, f"sqlite:///{tmp_path / 'cli.db'}")
    env = {"TRACKER_CONFIG": str(cli.config), "TRACKER_DATABASE_URL": cli.database_url}
    # Netflix is down: three attempts per request; the other sources answer at once.
    env |= cli.env | {
        "TRACKER_SOURCES__NETFLIX__BASE_URL": f"http://127.0.0.1:{closed_port()}",
        "TRACKER_HTTP__MAX_ATTEMPTS": "3",
    }

    quiet = main("run", "--once", env=env)
    assert quiet.returncode == 1, quiet.stderr
    lines = quiet.stderr.splitlines()
    assert " INFO    tracker " in lines[0] and " started (one round, pid " in lines[0]
    assert not any(re.search(r"attempt \d+ failed", line) for line in lines), quiet.stderr
    netflix = [line for line in lines if " netflix: " in line]
    assert (
        len(netflix) == 1
        and " WARNING netflix: failed — 1 target(s), 0 value(s), 0 new; " in (netflix[0])
    )
    assert [line.split(" ", 3)[2] for line in lines if ": ok — " in line] == ["INFO"] * 3

    verbose = main("run", "--once", "--verbose", "--log-format", "json", env=env)
    assert verbose.returncode == 1, verbose.stderr
    records = [json.loads(line) for line in verbose.stderr.splitlines()]
    retries = [r for r in records if r["logger"] == "tracker.http"]
    # Two requests (the global and the countries file), each retried twice; the third and
    # last attempt of each is the summary's business.
    assert (
        sorted((r["level"], r["attempt"]) for r in retries)
        == [("debug", 1)] * 2 + [("debug", 2)] * 2
    )
    assert all(r["cause"].startswith("127.0.0.1: ConnectError") for r in retries)
    assert all(
        r["message"].startswith(f"attempt {r['attempt']} failed (127.0.0.1: ") for r in retries
    )
    summaries = [r for r in records if r.get("outcome")]
    assert sorted((r["source"], r["outcome"], r["level"]) for r in summaries) == [
        ("bluesky", "ok", "info"),
        ("mastodon", "ok", "info"),
        ("netflix", "failed", "warning"),
        ("wikipedia", "ok", "info"),
    ]
