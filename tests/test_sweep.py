"""No traceback reaches the user from any command.

The command tree is walked as click sees it, so a command added later is swept too. Each
command is driven, through the console entry point (tests/entry.py), with: a config that is
not TOML, missing or a folder; an unknown option; its required arguments left out; every path
it takes pointing where nothing can be read or written; every other value nonsense, one at a
time; a database nobody can open; a file path where the database URL goes; a bad value in the
config file and in the environment. Whatever happens, the user gets a message and an exit
code — 1 (failed / not found), 2 (bad config or usage) or 3 (database) — never a traceback, and
never the "this is a bug" fallback of `tracker.cli.main`.

A few outcomes may legitimately be a success, and are named here rather than guessed:
commands that read no config or no database, and values that are free text (a subject, an id).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from typer.main import get_command

from tests.conftest import (
    NETFLIX_GLOBAL_COLUMNS,
    NETFLIX_GLOBAL_ROWS,
    closed_port,
    netflix_tsv,
    seed,
)
from tests.entry import Main
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.netflix import FakeNetflix
from tests.fakes.wikipedia import FakeWikimedia
from tracker.cli import app
from tracker.store import Database

ROOT = get_command(app)
BAD = "@@bad@@"
BUG = "This is a bug in tracker"
PER_CALL_SECONDS = 60  # a command that hangs (a daemon that should not have started) fails

# typer's completion options are not tracker's (and --install-completion edits ~/.bashrc).
NOT_SWEPT = {"install_completion", "show_completion"}
# Commands that read no config file: a bad one need not stop them. (`init` writes one.)
READS_NO_CONFIG = {"init"}
# Commands that never open the database: one nobody can open need not stop them.
NO_DATABASE = {
    "init",
    "sources",
    "config check",
    "hashtags list",
    "hashtags add",
    "hashtags remove",
    "accounts list",
    "accounts add",
    "accounts remove",
    "web test",
}
# Free-text values: any text is a valid one, so the command may succeed with it.
FREE_TEXT = {
    ("hashtags add", "subject"),  # who the tag is about
    ("accounts add", "subject"),  # who the account belongs to
    ("accounts add", "id"),  # the platform's own id, whatever it looks like
}
# Values that must be valid (a campaign, a source, a file) when another one is under test.
GOOD = {
    "subject": "Kit Connor",
    "subjects": "Kit Connor",
    "campaign": "Test campaign",
    "source": "netflix",
    "tag": "heartstopper",
    "platform": "bluesky",
    "handle": "kit.bsky.social",
}


def _leaves(group: Any = ROOT, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    for name, command in sorted(getattr(group, "commands", {}).items()):
        if getattr(command, "commands", None) is not None:
            yield from _leaves(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def _groups(group: Any = ROOT, path: tuple[str, ...] = ()) -> Iterator[str]:
    for name, command in sorted(getattr(group, "commands", {}).items()):
        if getattr(command, "commands", None) is not None:
            yield " ".join((*path, name))
            yield from _groups(command, (*path, name))


COMMANDS = dict(_leaves())
GROUPS = list(_groups())


def _is_path(param: Any) -> bool:
    descriptor = getattr(param, "type_descriptor", None)  # typer 0.29+
    if descriptor is not None:
        return getattr(descriptor, "annotation", None) is Path
    return getattr(getattr(param, "type", None), "name", "") == "path"


def _is_flag(param: Any) -> bool:
    if getattr(param, "is_flag", False):
        return True
    descriptor = getattr(param, "type_descriptor", None)
    return getattr(descriptor, "annotation", None) is bool


@dataclass
class World:
    """The fakes, a good config, a database with the schema, and paths that cannot work."""

    folder: Path
    config_text: str
    database_url: str
    good_file: Path
    blocked: Path  # a path under a regular file: nothing can be read or written there
    env: dict[str, str] = field(default_factory=dict)
    calls: int = 0

    def config(self, text: str | None = None) -> Path:
        """A fresh copy per call: a command that succeeds may edit it."""
        self.calls += 1
        path = self.folder / f"config-{self.calls}.toml"
        path.write_text(self.config_text if text is None else text, encoding="utf-8")
        return path

    def value(self, param: Any) -> str:
        return str(self.good_file) if _is_path(param) else GOOD.get(param.name, "x")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("sweep")
    running = {
        "bluesky": FakeBluesky().start(),
        "mastodon": FakeMastodon().start(),
        "wikipedia": FakeWikimedia().start(),
        "netflix": FakeNetflix().start(),
    }
    try:
        seeded = seed(running)
        # Nothing should collect; should something, it meets a closed port, not the internet.
        down = f"http://127.0.0.1:{closed_port()}"
        url = f"sqlite:///{folder / 'tracker.db'}"
        # The database URL is in the file: a command that cannot read the file cannot find it.
        # One web page rule, so `tracker web test` gets past "name a rule".
        rule = (
            f'\n[[sources.web.pages]]\nname = "chart"\nurl = "{down}/chart"\n'
            'pattern = "(?P<rank>\\\\d+)\\\\. {title}"\n'
        )
        text = f'database_url = "{url}"\n' + seeded.config_text(
            dict.fromkeys(seeded.urls, down), extra=rule
        )
        store = Database.open(url)
        store.upgrade()
        store.close()
        good_file = folder / "all-weeks-global.tsv"
        good_file.write_text(netflix_tsv(NETFLIX_GLOBAL_COLUMNS, NETFLIX_GLOBAL_ROWS))
        blocker = folder / "a-file"
        blocker.write_text("not a folder\n", encoding="utf-8")
        env = {"TRACKER_HTTP__MAX_ATTEMPTS": "1"}
        yield World(folder, text, url, good_file, blocker / "sub" / "x", env)
    finally:
        for fake in running.values():
            fake.stop()


@pytest.fixture
def main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Main:
    return Main(monkeypatch, capsys)


@dataclass(frozen=True)
class Case:
    what: str
    args: tuple[str, ...]
    env: dict[str, str]
    must_fail: bool  # False: a success (0) is allowed too


def _cases(world: World, name: str, command: Any) -> list[Case]:
    words = tuple(name.split())
    params = [p for p in command.params if p.name not in NOT_SWEPT]
    required: list[str] = []
    for param in params:
        if param.required:
            value = world.value(param)
            required += [value] if param.param_type_name == "argument" else [param.opts[0], value]

    def env(config: Path | None = None, **extra: str) -> dict[str, str]:
        config = config or world.config()
        return {"TRACKER_CONFIG": str(config)} | world.env | extra

    reads_config = name not in READS_NO_CONFIG
    uses_database = name not in NO_DATABASE
    good = (*words, *required)
    unopenable = f"sqlite:///{world.blocked}"
    bad_value = world.config(world.config_text.replace("timeout = 2.0", "timeout = -1.0"))
    cases = [
        Case("config is not TOML", good, env(world.config("[http\n")), reads_config),
        # One missing file per command: `tracker init` writes the file it is given.
        Case("config is missing", good, env(world.folder / f"absent-{name}.toml"), reads_config),
        Case("config is a folder", good, env(world.folder), reads_config),
        Case("unknown option", (*good, "--no-such-option"), env(), True),
        Case("unopenable database", good, env(TRACKER_DATABASE_URL=unopenable), uses_database),
        Case("file path as database", good, env(TRACKER_DATABASE_URL="tracker.db"), uses_database),
        # Read commands only need the database URL from the config (they work while the rest
        # is being fixed), so these two may succeed; they must not crash.
        Case("bad value in config", good, env(bad_value), False),
        Case("bad value in environment", good, env(TRACKER_HTTP__TIMEOUT="abc"), False),
    ]
    if required:
        cases.append(Case("required arguments left out", words, env(), True))
    arguments = [p for p in params if p.param_type_name == "argument"]
    options = [p for p in params if p.param_type_name == "option"]
    required_options = [x for p in options if p.required for x in (p.opts[0], world.value(p))]
    for param in params:
        if _is_flag(param):
            continue
        path = _is_path(param)
        value = str(world.blocked) if path else BAD
        what = f"{param.opts[0] if param in options else param.name}: " + (
            "unusable path" if path else "nonsense"
        )
        must_fail = path or (name, param.name) not in FREE_TEXT
        if param in arguments:
            given = [value if p is param else world.value(p) for p in arguments]
            args = (*words, *given, *required_options)
        else:
            rest = _without_option(required, param.opts[0])
            args = (*words, *rest, param.opts[0], value)
        cases.append(Case(what, args, env(), must_fail))
    return cases


def _without_option(args: list[str], option: str) -> list[str]:
    out: list[str] = []
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == option and i + 1 < len(args):
            skip = True
            continue
        out.append(arg)
    return out


def _timeout(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError(f"a command ran for more than {PER_CALL_SECONDS}s")


def _run(main: Main, world: World, case: Case) -> subprocess.CompletedProcess[str]:
    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(PER_CALL_SECONDS)
    try:
        return main(*case.args, env=case.env, cwd=world.folder)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _judge(case: Case, result: subprocess.CompletedProcess[str]) -> str | None:
    """What is wrong with how the command ended, or None."""
    said = result.stdout + result.stderr
    if "Traceback" in said or BUG in said:
        return f"crashed:\n{result.stderr}"
    allowed = {1, 2, 3} if case.must_fail else {0, 1, 2, 3}
    if result.returncode not in allowed:
        expected = sorted(allowed)
        return f"exit {result.returncode}, expected one of {expected}; stderr: {result.stderr!r}"
    if result.returncode and not result.stderr.strip():
        return f"exit {result.returncode} with nothing on stderr"
    return None


def test_the_sweep_reaches_every_command() -> None:
    # The walk itself: if it found nothing, the sweep would pass while testing nothing.
    expected = {"run", "status", "history", "compare", "claims", "report", "backfill", "sources"}
    expected |= {"hashtags add", "accounts remove", "import netflix-top10", "db upgrade"}
    expected |= {"config check"}
    assert expected <= set(COMMANDS), sorted(COMMANDS)
    assert {"hashtags", "accounts", "import", "db", "config"} <= set(GROUPS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_no_traceback_reaches_the_user(name: str, world: World, main: Main) -> None:
    cases = _cases(world, name, COMMANDS[name])
    wrong = []
    for case in cases:
        result = _run(main, world, case)
        problem = _judge(case, result)
        if problem:
            wrong.append(f"tracker {' '.join(case.args)}  [{case.what}]: {problem}")
    assert not wrong, "\n".join(wrong)
    assert len(cases) >= 8


@pytest.mark.parametrize("group", GROUPS)
def test_a_group_without_a_known_command_is_a_usage_error(
    group: str, world: World, main: Main
) -> None:
    env = {"TRACKER_CONFIG": str(world.config())}
    for args in ((*group.split(), "no-such-command"), tuple(group.split())):
        result = _run(main, world, Case("group", args, env, True))
        assert result.returncode == 2, (args, result.stderr)
        assert "Usage: tracker " in result.stdout + result.stderr, args
        assert _judge(Case("group", args, env, True), result) is None


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_with_an_example(name: str, tmp_path: Path, main: Main) -> None:
    # No config and no database: help needs neither, and creates neither.
    env = {"TRACKER_CONFIG": str(tmp_path / "absent.toml")}
    result = main(*name.split(), "--help", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: tracker {name} "), result.stdout
    assert "Example" in result.stdout and f"tracker {name}" in result.stdout.split("Example")[1]
    assert list(tmp_path.iterdir()) == []
