"""Bad input never gets written: each case exits 2 with a message naming the file and key (or
the option), and leaves the database (and the config file) exactly as it was.

Complements tests/test_config.py (the loader) and tests/test_cli.py (a first set of cases):
duplicates of every target kind, every kind of bad hashtag, bad values of each type, bad
dates and durations in the file, the environment and on the command line.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import entry
from tests.conftest import Seeded, tracker_env
from tracker import cli

TIMEOUT = 30


def _account(platform: str, handle: str, subject: str = "Someone") -> str:
    return f'\n[[accounts]]\nplatform = "{platform}"\nhandle = "{handle}"\nsubject = "{subject}"\n'


def _tag(tag: str, platforms: str = '["mastodon"]') -> str:
    return f'\n[[hashtags]]\ntag = "{tag}"\nplatforms = {platforms}\n'


def _baseline(at: str) -> str:
    return (
        '\n[[campaign.baselines]]\nname = "late"\nsubject = "Kit Connor"\nsource = "bluesky"\n'
        f'metric = "followers"\nvalue = 1\nat = {at}\n'
    )


# What goes wrong -> (text appended to the seeded config, or an edit; the key; the reason).
@dataclass(frozen=True)
class Bad:
    extra: str
    key: str
    reason: str
    replace: tuple[str, str] | None = None


FILE_CASES: dict[str, Bad] = {
    "duplicate-account": Bad(
        _account("bluesky", "Kit.bsky.social"), "accounts[3]", "duplicate of accounts[0]"
    ),
    "duplicate-hashtag": Bad(_tag("#HEARTSTOPPER"), "hashtags[1]", "duplicate of hashtags[0]"),
    "duplicate-page": Bad(
        '\n[[pages]]\narticle = "Kit_Connor"\n', "pages[2]", "duplicate of pages[1]"
    ),
    "duplicate-chart": Bad(
        '\n[[charts]]\nsource = "netflix"\ntitle = "Heartstopper"\n',
        "charts[1]",
        "duplicate of charts[0]",
    ),
    "hashtag-empty": Bad(_tag(""), "hashtags[1].tag", "a hashtag cannot be empty"),
    "hashtag-only-a-hash": Bad(_tag("#"), "hashtags[1].tag", "a hashtag cannot be empty"),
    "hashtag-with-spaces": Bad(_tag("heart stopper"), "hashtags[1].tag", "is not a hashtag"),
    "hashtag-emoji-only": Bad(_tag("💖🌈"), "hashtags[1].tag", "is not a hashtag"),
    "hashtag-500-characters": Bad(
        _tag("h" * 500), "hashtags[1].tag", "a hashtag is at most 100 characters, got 500"
    ),
    "hashtag-without-platforms": Bad(
        _tag("nickandcharlie", "[]"), "hashtags[1].platforms", "at least 1 item"
    ),
    "account-blank-handle": Bad(
        _account("bluesky", "  "), "accounts[3].handle", "must not be empty"
    ),
    "unknown-key": Bad(
        "\nbogus = 1\n", "campaign.claims[0].bogus", "Extra inputs are not permitted"
    ),
    "string-for-an-int": Bad(
        "", "http.max_attempts", "valid integer", ("max_attempts = 2", 'max_attempts = "two"')
    ),
    "int-out-of-range": Bad(
        "",
        "http.max_attempts",
        "greater than or equal to 1",
        ("max_attempts = 2", "max_attempts = 0"),
    ),
    "zero-duration": Bad(
        "",
        "sources.bluesky.interval",
        "a duration must be positive",
        ('interval = "1h"', 'interval = "0s"'),
    ),
    "not-a-duration": Bad(
        "",
        "sources.bluesky.interval",
        "is not a duration",
        ('interval = "1h"', 'interval = "fortnight"'),
    ),
    "zero-interval-number": Bad(
        "",
        "sources.bluesky.interval",
        "must be at least 1s, got 0s",
        ('interval = "1h"', "interval = 0"),
    ),
    "negative-jitter": Bad(
        "",
        "sources.bluesky.jitter",
        "must be 0 or more, got -5s",
        ("jitter = 0", "jitter = -5"),
    ),
    "not-a-date": Bad(_baseline('"last spring"'), "campaign.baselines[1].at", "valid date"),
    "impossible-date": Bad(_baseline('"2022-02-30"'), "campaign.baselines[1].at", "valid date"),
    "unknown-netflix-file": Bad(
        "",
        "sources.netflix.files",
        "unknown file(s) ['weekly']",
        ("[sources.netflix]\n", '[sources.netflix]\nfiles = ["weekly"]\n'),
    ),
}

ENV_CASES = {
    "TRACKER_HTTP__MAX_ATTEMPTS": ("99", "http.max_attempts", "less than or equal to 10"),
    "TRACKER_HTTP__TIMEOUT": ("abc", "http.timeout", "valid number"),
    "TRACKER_SOURCES__WIKIPEDIA__JITTER": ("-5m", "sources.wikipedia.jitter", "not a duration"),
    "TRACKER_SOURCES__BLUESKY__INTERVAL": ("0", "sources.bluesky.interval", "must be positive"),
    "TRACKER_LOG_FORMAT": ("xml", "log_format", "'text' or 'json'"),
    "TRACKER_SOURCES__MYSPACE__INTERVAL": ("1h", "sources.myspace", "no such source (known: "),
    # A whole section from one variable must be JSON.
    "TRACKER_HTTP": ("timeout=3", "http", "not valid JSON"),
}

HISTORY_OPTIONS = [
    (("--since", "2022-13-45"), "--since", "is neither a date"),
    (("--until", "yesterday"), "--until", "is neither a date"),
    (("--since", "30x"), "--since", "is neither a date"),
    (("--since", "2022-05-01", "--until", "2022-04-01"), "--since", "before --until"),
    (("--every", "0d"), "--every", "a duration must be positive"),
    (("--every", "1.5h"), "--every", "is not a duration"),
    (("--label", "noequals"), "--label", "is not KEY=VALUE"),
]

EDITS = [
    (("hashtags", "add", ""), "hashtag '' refused: a hashtag cannot be empty"),
    (("hashtags", "add", "heart stopper"), "hashtag 'heart stopper' refused"),
    (("hashtags", "add", "💖"), "hashtag '💖' refused"),
    (("hashtags", "add", "x" * 500), "at most 100 characters"),
    (("hashtags", "add", "newtag", "--platform", "myspace"), "platform 'myspace' refused"),
    (("accounts", "add", "bluesky", "", "--subject", "X"), "refused"),
    (("accounts", "add", "bluesky", "KIT.bsky.social", "--subject", "X"), "is already accounts[0]"),
]


def _run_all(
    commands: list[tuple[list[str], dict[str, str], Path]],
) -> list[subprocess.CompletedProcess[str]]:
    """Start every command at once (each is a separate `python -m tracker`), then collect."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tracker", *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args, env, cwd in commands
    ]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=TIMEOUT)
            results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return results


def _main(
    args: list[str],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> subprocess.CompletedProcess[str]:
    """The console entry point in this process: the same code path, without an interpreter
    start per case (tests/test_cli.py runs it as a real subprocess)."""
    with monkeypatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("TRACKER_")]:
            patch.delenv(name)
        for name, value in env.items():
            if name.startswith("TRACKER_"):
                patch.setenv(name, value)
        patch.setattr(sys, "argv", ["tracker", *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            cli.main()
        out, err = capsys.readouterr()
    code = exited.value.code
    return subprocess.CompletedProcess(args, code if isinstance(code, int) else 1, out, err)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_bad_config_file_exits_2_naming_file_and_key_and_writes_nothing(
    seeded: Seeded,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runs = []
    for case, bad in FILE_CASES.items():
        folder = tmp_path / case
        folder.mkdir()
        text = seeded.config_text(extra=bad.extra)
        if bad.replace:
            old, new = bad.replace
            assert old in text, case
            text = text.replace(old, new, 1)
        config = folder / "tracker.toml"
        config.write_text(text, encoding="utf-8")
        runs.append((["run", "--once"], tracker_env(config, f"sqlite:///{folder}/t.db"), folder))

    # The first one as a real process; the rest through the same entry point in-process.
    results = _run_all(runs[:1]) + [_main(a, e, monkeypatch, capsys) for a, e, _ in runs[1:]]

    for (case, bad), (_, _, folder), result in zip(FILE_CASES.items(), runs, results, strict=True):
        assert result.returncode == 2, (case, result.stderr)
        first = result.stderr.splitlines()[0]
        assert first.startswith(f"error: {folder / 'tracker.toml'}: {bad.key}: "), (case, first)
        assert bad.reason in first, (case, first)
        assert result.stdout == ""
        assert list(folder.iterdir()) == [folder / "tracker.toml"], case  # no db, no spool
    assert not any(f.requests for f in (seeded.bluesky, seeded.mastodon, seeded.netflix))


def test_a_bad_environment_value_exits_2_naming_the_key(
    seeded: Seeded,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = seeded.write_config(tmp_path / "tracker.toml")
    db = tmp_path / "t.db"
    results = [
        _main(["run", "--once"], tracker_env(config, f"sqlite:///{db}", **{name: value}),
              monkeypatch, capsys)
        for name, (value, _, _) in ENV_CASES.items()
    ]  # fmt: skip
    for (name, (_, key, reason)), result in zip(ENV_CASES.items(), results, strict=True):
        assert result.returncode == 2, (name, result.stderr)
        # The variable is named, not the file: the value did not come from the file.
        assert result.stderr.startswith(f"error: environment variable {name}: {key}: "), (
            result.stderr
        )
        assert reason in result.stderr, result.stderr
        assert str(config) not in result.stderr
    assert not db.exists()
    assert seeded.bluesky.requests == []


@pytest.fixture
def filled(seeded: Seeded, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A database with one good round in it, and the environment of commands against it."""
    config = seeded.write_config(tmp_path / "tracker.toml")
    db = tmp_path / "t.db"
    env = tracker_env(config, f"sqlite:///{db}")
    good = entry.run("run", "--once", env=env, cwd=tmp_path)  # the round, in this process
    assert good.returncode == 0, good.stderr
    return db, env


def test_bad_dates_and_durations_on_the_command_line_exit_2_naming_the_option(
    filled: tuple[Path, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, env = filled
    before = _digest(db)
    results = [
        _main(["history", "Kit Connor", *args], env, monkeypatch, capsys)
        for args, _, _ in HISTORY_OPTIONS
    ]

    for (args, option, reason), result in zip(HISTORY_OPTIONS, results, strict=True):
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith(f"error: {option}"), (args, result.stderr)
        assert reason in result.stderr, (args, result.stderr)
        assert result.stdout == ""
    assert _digest(db) == before


def test_bad_edits_exit_2_and_leave_config_and_database_alone(
    filled: tuple[Path, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, env = filled
    config = Path(env["TRACKER_CONFIG"])
    files = {path: _digest(path) for path in (db, config)}
    # One after the other: they edit the same file, and a refused edit must not touch it.
    for args, reason in EDITS:
        result = _main(list(args), env, monkeypatch, capsys)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("error: ") and reason in result.stderr, result.stderr
    assert {path: _digest(path) for path in files} == files
