"""Hostile config, environment, options and databases (issue 11): refused with a message and
exit 2 (bad config or usage) or 3 (database), never a traceback, and nothing written.

Validation is total: every number, duration and text setting of every installed source
(those added later too: the models are walked, not listed) is bounded, whatever the TOML type
— a bare `interval = -5`, `"999999999999w"`, NaN, infinities, integers beyond 64 bits, a NUL
byte — and so are the top-level settings. A hot reload to such a value keeps the running
config and logs why (file, key), without a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

import pytest

from tests.conftest import Seeded, closed_port
from tests.entry import Main
from tracker import config as config_module
from tracker import daemon
from tracker.collectors import registry
from tracker.errors import ConfigError
from tracker.store import Database

DOWN = f"http://127.0.0.1:{closed_port()}"
BASE = f"""
[sources.bluesky]
base_url = "{DOWN}"
interval = "1h"
jitter = 0

[[accounts]]
platform = "bluesky"
handle = "kit.bsky.social"
subject = "Kit Connor"

[campaign]
name = "Heartstopper"
launch = 2022-04-22

[[campaign.baselines]]
name = "before"
subject = "Kit Connor"
source = "bluesky"
metric = "followers"
value = "100K"
at = 2022-04-01
"""


@pytest.fixture
def main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Main:
    return Main(monkeypatch, capsys)


def _write(folder: Path, text: str, name: str = "tracker.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, str):
        return json.dumps(value)  # TOML's basic strings take JSON's escapes
    return repr(value)


# -- every setting of every source is bounded --------------------------------------------
def _kind(annotation: Any) -> type | None:
    """int, float, timedelta or str for a field of that type (or Optional of it)."""
    for candidate in (annotation, *get_args(annotation)):
        if candidate in (int, float, timedelta, str):
            return candidate  # type: ignore[no-any-return]
    return None


def _fields() -> Iterator[tuple[str, str, type]]:
    for name, cls in sorted(registry.available().items()):
        for field, info in cls.settings_model.model_fields.items():
            kind = _kind(info.annotation)
            if kind is not None and info.annotation is not bool:
                yield name, field, kind


FIELDS = list(_fields())
HUGE_NUMBERS = [2**62, -(2**62), 2**70, 1e300, -1e300, math.nan, math.inf, -math.inf]
HOSTILE: dict[type, list[Any]] = {
    int: HUGE_NUMBERS,
    float: HUGE_NUMBERS,
    timedelta: [*HUGE_NUMBERS, -5, True, "999999999999w", "9" * 5000 + "s", "-5m"],
    str: ["a\x00b"],
}


def test_the_walk_finds_the_settings_that_matter() -> None:
    # If the walk found nothing, the tests below would pass while testing nothing.
    found = {(name, field) for name, field, _ in FIELDS}
    assert {("bluesky", "interval"), ("bluesky", "jitter"), ("nyt", "request_gap")} <= found
    assert {("youtube", "daily_quota"), ("x", "users_per_15min"), ("wikipedia", "days")} <= found
    assert {("instagram", "access_token_file"), ("bluesky", "base_url")} <= found
    assert len(FIELDS) >= 60


@pytest.mark.parametrize(("source", "field", "kind"), FIELDS, ids=lambda v: str(v))
def test_every_source_setting_refuses_hostile_values(
    source: str, field: str, kind: type, tmp_path: Path
) -> None:
    refused = []
    for value in HOSTILE[kind]:
        path = _write(tmp_path, f"[sources.{source}]\n{field} = {_toml(value)}\n")
        with pytest.raises(ConfigError) as caught:
            config_module.load(path)
        error = caught.value
        refused.append((value, error.key))
        assert (error.file, error.key) == (str(path), f"sources.{source}.{field}"), (value, error)
        assert error.reason and len(str(error)) < 400, (value, str(error)[:500])
    assert len(refused) == len(HOSTILE[kind])


TOP_LEVEL = {
    "http.timeout": [0, -1, 601, 1e300, math.nan, math.inf],
    "http.connect_timeout": [0, 301, math.nan, -math.inf],
    "http.max_wait": [-1, 3601, math.inf, math.nan],
    "http.max_attempts": [0, 11, 2**70],
    "http.user_agent": ["a\nb", "a\x00b", "x" * 501],
    "contact": ["me\r\nX-Injected: 1", "a\x00b"],
    "spool_dir": ["a\x00b", " ", "x" * 5000],
    "database_url": ["sqlite:///a\x00b"],
}


@pytest.mark.parametrize("key", sorted(TOP_LEVEL))
def test_every_top_level_setting_refuses_hostile_values(key: str, tmp_path: Path) -> None:
    section, _, name = key.rpartition(".")
    for value in TOP_LEVEL[key]:
        line = f"{name} = {_toml(value)}\n"
        text = f"[{section}]\n{line}" + BASE if section else line + BASE
        path = _write(tmp_path, text)
        with pytest.raises(ConfigError) as caught:
            config_module.load(path)
        assert (caught.value.file, caught.value.key) == (str(path), key), (value, caught.value)


# -- the cases, through the console entry point ----------------------------------
DEEP = "x = " + "[" * 100_000 + "]" * 100_000 + "\n"
# name -> (text of the file, extra environment, key, words of the reason)
CASES: dict[str, tuple[str, dict[str, str], str, str]] = {
    "bare negative interval": (
        BASE.replace('interval = "1h"', "interval = -5"),
        {},
        "sources.bluesky.interval",
        "must be at least 1s, got -5s",
    ),
    "interval of a trillion weeks": (
        BASE.replace('interval = "1h"', 'interval = "999999999999w"'),
        {},
        "sources.bluesky.interval",
        "is longer than 36500d",
    ),
    "interval over a year": (
        BASE.replace('interval = "1h"', 'interval = "400d"'),
        {},
        "sources.bluesky.interval",
        "must be at most 365d, got 400d",
    ),
    "interval as a huge float": (
        BASE.replace('interval = "1h"', "interval = 8e13"),
        {},
        "sources.bluesky.interval",
        "is longer than 36500d",
    ),
    "interval true": (
        BASE.replace('interval = "1h"', "interval = true"),
        {},
        "sources.bluesky.interval",
        "expected a duration",
    ),
    "jitter NaN": (
        BASE.replace("jitter = 0", "jitter = nan"),
        {},
        "sources.bluesky.jitter",
        "finite",
    ),
    "jitter over a day": (
        BASE.replace("jitter = 0", 'jitter = "2d"'),
        {},
        "sources.bluesky.jitter",
        "must be at most 1d",
    ),
    "request_gap -inf": (
        BASE + "\n[sources.nyt]\nrequest_gap = -inf\n",
        {},
        "sources.nyt.request_gap",
        "expected a finite number of seconds, got -inf",
    ),
    "NUL in spool_dir": ('spool_dir = "spool\\u0000x"\n' + BASE, {}, "spool_dir", "NUL"),
    "TOML nested 100k deep": (DEEP + BASE, {}, "", "nested 100000 deep"),
    "count beyond 64 bits": (
        BASE.replace('value = "100K"', 'value = "99999999999999999999"'),
        {},
        "campaign.baselines[0].value",
        "64-bit",
    ),
    "subject longer than the column": (
        BASE.replace(
            'subject = "Kit Connor"\n\n[campaign]', f'subject = "{"K" * 201}"\n\n[campaign]'
        ),
        {},
        "accounts[0].subject",
        "at most 200 characters",
    ),
    "launch in the year 1": (
        BASE.replace("launch = 2022-04-22", "launch = 0001-01-01"),
        {},
        "campaign.launch",
        "outside 1900-01-01 .. 2199-12-31",
    ),
}
ENV_CASES: dict[str, tuple[str, str, str]] = {
    "TRACKER_SOURCES": ("notjson", "sources", "not valid JSON"),
    "TRACKER_ACCOUNTS": ("[" * 50_000 + "]" * 50_000, "accounts", "nested 50000 deep"),
    "TRACKER_HTTP__TIMEOUT": ("inf", "http.timeout", "finite number"),
    "TRACKER_HTTP__MAX_WAIT": ("1e308", "http.max_wait", "less than or equal to 3600"),
    "TRACKER_SOURCES__BLUESKY__INTERVAL": (
        "999999999999w",
        "sources.bluesky.interval",
        "is longer than 36500d",
    ),
    "TRACKER_CONTACT": ("me\nX-Injected: 1", "contact", "no control characters"),
    "TRACKER_SPOOL_DIR": ("a\x01b\x7f", "spool_dir", "without control characters"),
}


def _judged(result: Any) -> str:
    said = result.stdout + result.stderr
    assert "Traceback" not in said and "This is a bug" not in said, said[:2000]
    assert result.stdout == ""
    return str(result.stderr)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_config_file_exits_2_naming_file_and_key(
    case: str, tmp_path: Path, main: Main
) -> None:
    text, env, key, reason = CASES[case]
    path = _write(tmp_path, text)
    url = f"sqlite:///{tmp_path / 't.db'}"
    result = main(
        "run",
        "--once",
        env={"TRACKER_CONFIG": str(path), "TRACKER_DATABASE_URL": url, **env},
        cwd=tmp_path,
    )
    stderr = _judged(result)
    assert result.returncode == 2, stderr
    where = f"error: {path}: {key}: " if key else f"error: {path}: "
    assert stderr.startswith(where), stderr[:500]
    assert reason in stderr, stderr[:500]
    assert len(stderr) < 500  # the hostile value is not echoed whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tracker.toml"]  # no db, no spool


@pytest.mark.parametrize("variable", sorted(ENV_CASES))
def test_a_hostile_environment_value_exits_2_naming_the_variable(
    variable: str, tmp_path: Path, main: Main
) -> None:
    value, key, reason = ENV_CASES[variable]
    path = _write(tmp_path, BASE)
    env = {"TRACKER_CONFIG": str(path), "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}"}
    result = main("config", "check", env={**env, variable: value}, cwd=tmp_path)
    stderr = _judged(result)
    assert result.returncode == 2, stderr
    assert stderr.startswith(f"error: environment variable {variable}: {key}: "), stderr[:500]
    assert reason in stderr
    assert len(stderr) < 500


# -- options -----------------------------------------------------------------------------
OPTIONS = [
    (("history", "Kit Connor", "--since", "9999999d"), "--since", "is longer than 36500d"),
    (("history", "Kit Connor", "--until", "99999999999999999999d"), "--until", "longer than"),
    (("history", "Kit Connor", "--every", "999999999999w"), "--every", "longer than"),
    (("compare", "--at", "day+999999999999"), "--at", "more than 36500 days away"),
    (("compare", "--at", "day-" + "9" * 5000), "--at", "more than 36500 days away"),
    (("history", ""), "SUBJECT", "must not be empty"),
    (("history", "  "), "SUBJECT", "must not be empty"),
    (("compare", ""), "SUBJECT", "must not be empty"),
    (("compare", "Kit Connor", " ", "--at", "day0"), "SUBJECT", "must not be empty"),
    (("backfill", "wikipedia", "--since", "9999999d"), "--since", "longer than"),
    (("backfill", "wikipedia", "--since", "0001-01-01"), "--since", "outside 1900-01-01 .."),
    (("backfill", "wikipedia", "--since", "1899-12-31T23:00"), "--since", "outside 1900-01-01"),
    (("backfill", "wikipedia", "--since", "2199-12-31"), "--since", "is not before today"),
    (("history", "Kit Connor", "--since", "0001-01-01"), "--since", "outside 1900-01-01 .."),
    (("history", "Kit Connor", "--since", "0001-01-01T00:00+01:00"), "--since", "outside"),
    (("history", "Kit Connor", "--until", "9999-12-31T23:59-05:00"), "--until", "outside"),
    (("history", "Kit Connor", "--until", "2200-01-01"), "--until", ".. 2199-12-31, the days"),
]


def test_hostile_options_exit_2_naming_the_option(
    seeded: Seeded, tmp_path: Path, main: Main
) -> None:
    path = seeded.write_config(tmp_path / "tracker.toml")
    url = f"sqlite:///{tmp_path / 't.db'}"
    env = {"TRACKER_CONFIG": str(path), "TRACKER_DATABASE_URL": url}
    assert main("run", "--once", env=env, cwd=tmp_path).returncode == 0  # series to match
    everything = main("history", "Kit Connor", env=env, cwd=tmp_path)
    assert everything.returncode == 0 and "followers" in everything.stdout
    for args, option, reason in OPTIONS:
        result = main(*args, env=env, cwd=tmp_path)
        stderr = _judged(result)
        assert result.returncode == 2, (args, stderr)
        assert stderr.startswith(f"error: {option}"), (args, stderr[:300])
        assert reason in stderr and len(stderr) < 300, (args, stderr[:300])


# -- databases ---------------------------------------------------------------------------
def _env(tmp_path: Path, url: str) -> dict[str, str]:
    return {"TRACKER_CONFIG": str(_write(tmp_path, BASE)), "TRACKER_DATABASE_URL": url}


# The read-only commands first: they must not misread a database that is not one they know.
READERS = [
    ("status",),
    ("history", "Kit Connor"),
    ("claims",),
    ("compare",),
    ("compare", "Kit Connor", "--at", "day0"),
    ("report", "Heartstopper", "--out", "report"),
]
COMMANDS = [*READERS, ("db", "upgrade"), ("run", "--once")]


def test_a_garbage_sqlite_file_is_not_a_tracker_database(tmp_path: Path, main: Main) -> None:
    garbage = tmp_path / "garbage.db"
    content = b"this is not SQLite\n" + bytes(range(256)) * 40
    garbage.write_bytes(content)
    env = _env(tmp_path, f"sqlite:///{garbage}")
    for args in COMMANDS:
        result = main(*args, env=env, cwd=tmp_path)
        stderr = _judged(result)
        assert result.returncode == 3, (args, stderr)
        assert stderr.startswith(f"error: not a tracker database: sqlite:///{garbage}"), stderr
        assert "point --database (or TRACKER_DATABASE_URL) at tracker's database" in stderr
    assert garbage.read_bytes() == content  # left as it was


def test_someone_elses_sqlite_file_is_not_migrated(tmp_path: Path, main: Main) -> None:
    other = tmp_path / "places.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE moz_places (url TEXT)")
    env = _env(tmp_path, f"sqlite:///{other}")
    for args in COMMANDS:
        result = main(*args, env=env, cwd=tmp_path)
        stderr = _judged(result)
        assert result.returncode == 3, stderr
        assert "not a tracker database" in stderr and "moz_places" in stderr
    with sqlite3.connect(other) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"moz_places"}


def test_a_database_migrated_by_a_newer_tracker_says_upgrade_tracker(
    database_url: str, tmp_path: Path, main: Main
) -> None:
    store = Database.open(database_url)
    store.upgrade()
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
    store.close()
    env = _env(tmp_path, database_url)
    for args in COMMANDS:
        result = main(*args, env=env, cwd=tmp_path)
        stderr = _judged(result)
        assert result.returncode == 3, (args, stderr)
        assert stderr.startswith("error: database made by a newer tracker"), stderr
        assert "'9999_future'" in stderr and "upgrade tracker" in stderr
        assert f"this tracker knows up to {_heads()!r}" in stderr
    assert not (tmp_path / "report").exists()
    store = Database.open(database_url)
    with store.engine.connect() as conn:
        (revision,) = conn.exec_driver_sql("SELECT version_num FROM alembic_version").one()
    store.close()
    assert revision == "9999_future"  # not touched


def _heads() -> str:
    from alembic.script import ScriptDirectory

    from tracker import migrate

    return ", ".join(sorted(ScriptDirectory(str(migrate.SCRIPTS)).get_heads()))


def test_the_revisions_read_without_alembic_are_alembics() -> None:
    from alembic.script import ScriptDirectory

    from tracker import migrate
    from tracker.store import schema

    scripts = ScriptDirectory(str(migrate.SCRIPTS))
    known, newest = schema.revisions()
    assert known == {rev.revision for rev in scripts.walk_revisions()}
    assert newest == _heads() and newest


def test_an_unreachable_or_misnamed_server_exits_3_with_what_to_do(
    tmp_path: Path, main: Main
) -> None:
    down = f"postgresql://tracker@127.0.0.1:{closed_port()}/tracker"
    for args in (("status",), ("db", "upgrade")):
        result = main(*args, env=_env(tmp_path, down), cwd=tmp_path)
        stderr = _judged(result)
        assert result.returncode == 3, stderr
        assert stderr.startswith("error: database unreachable: postgresql"), stderr
        assert "(is the server running, and are the host and port in the URL right?)" in stderr
    nowhere = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"
    result = main("db", "upgrade", env=_env(tmp_path, nowhere), cwd=tmp_path)
    assert result.returncode == 3
    assert "check that the file's directory exists and is writable" in _judged(result)


# -- a reload to a hostile value keeps the running config --------------------------------
RELOADS = {
    "interval = -5": "sources.bluesky.interval: must be at least 1s",
    'interval = "999999999999w"': "sources.bluesky.interval: '999999999999w' is longer",
    "interval = 8e13": "sources.bluesky.interval: 8e+13s is longer",
    DEEP: "nested 100000 deep",
}


def test_a_reload_to_a_hostile_value_keeps_the_old_config(
    seeded: Seeded,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="tracker")
    monkeypatch.setenv("TRACKER_SPOOL_DIR", str(tmp_path / "spool"))
    path = seeded.write_config(tmp_path / "tracker.toml")
    good = path.read_text(encoding="utf-8")
    assert 'interval = "1h"' in good
    config = config_module.load(path)
    store = Database.open(database_url)
    store.upgrade()

    async def wait_for(words: str, times: int = 1) -> None:
        end = time.monotonic() + 30
        while caplog.text.count(words) < times:
            assert time.monotonic() < end, f"no log line with {words!r}"
            await asyncio.sleep(0.05)

    async def session() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()

        async def on_ready() -> None:
            ready.set()

        task = asyncio.create_task(
            daemon.run_forever(config, store, stop=stop, poll=0.05, ready=on_ready)
        )
        try:
            await asyncio.wait_for(ready.wait(), 30)
            for done, edit in enumerate(RELOADS, start=1):
                hostile = edit if edit is DEEP else good.replace('interval = "1h"', edit, 1)
                path.write_text(hostile + ("" if edit is DEEP else "\n"), encoding="utf-8")
                await wait_for("refused, the previous config keeps running", done)
                assert not task.done()
            path.write_text(good + "\n# fixed\n", encoding="utf-8")
            await wait_for("config reloaded")
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)

    try:
        asyncio.run(session())
    finally:
        store.close()
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == len(RELOADS)
    for record, words in zip(refusals, RELOADS.values(), strict=True):
        message = record.getMessage()
        assert record.levelname == "ERROR" and record.exc_info is None, message[:300]
        assert f"{path}: " in message and words in message, message[:300]
        assert "the previous config keeps running" in message
    # The good file equals the first one: had a hostile one been taken, jobs would change now.
    assert "config reloaded" in caplog.text and "no job changed" in caplog.text


def test_an_edit_the_store_could_not_hold_is_refused(tmp_path: Path, main: Main) -> None:
    # `accounts add` took a 201-character subject (exit 0), which PostgreSQL then refused
    # at every write: what the config lets in, the store can hold.
    path = _write(tmp_path, BASE)
    env = {"TRACKER_CONFIG": str(path)}
    at_most = "String should have at most"
    edits = [
        (("accounts", "add", "bluesky", "a.bsky.social", "--subject", "S" * 201), "subject"),
        # The platform's own handle rule may refuse it first: either way, refused.
        (("accounts", "add", "bluesky", "h" * 290 + ".bsky.social", "--subject", "S"), "refused"),
        (
            ("accounts", "add", "bluesky", "b.bsky.social", "--subject", "S", "--id", "d" * 301),
            "id",
        ),
        (("hashtags", "add", "fine", "--platform", "mastodon", "--subject", "S" * 201), "subject"),
    ]
    for args, key in edits:
        result = main(*args, env=env, cwd=tmp_path)
        stderr = _judged(result)
        assert result.returncode == 2, (args[:3], stderr)
        wanted = "refused" if key == "refused" else f".{key}: {at_most}"
        assert wanted in stderr, stderr[:300]
    assert path.read_text(encoding="utf-8") == BASE
