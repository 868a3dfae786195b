"""The small things at the command line: --version, shell completion, usage errors whichever
click is importable, database URLs that cannot work, unwritable output and a closed pipe.

Mostly through the console entry point in this process (tests/entry.py); a real `tracker`
process where only one shows it (no traceback printed, a pipe closed early).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import typer

import tracker
from tests.conftest import tracker_env
from tests.entry import Main
from tests.test_cli import TIMEOUT, Cli, finish, make_cli

if TYPE_CHECKING:
    from tests.conftest import Seeded


@pytest.fixture
def bare(tmp_path: Path) -> Cli:
    """A config that tracks nothing and a database that does not exist yet."""
    config = tmp_path / "tracker.toml"
    config.write_text('contact = "tests@example.org"\n', encoding="utf-8")
    return Cli(tmp_path, config, f"sqlite:///{tmp_path / 'cli.db'}")


@pytest.fixture
def main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Main:
    return Main(monkeypatch, capsys)


def _env(cli: Cli, **extra: str) -> dict[str, str]:
    return {"TRACKER_CONFIG": str(cli.config), "TRACKER_DATABASE_URL": cli.database_url} | extra


def test_version_prints_the_installed_version(bare: Cli, main: Main) -> None:
    result = main("--version", env=_env(bare), cwd=bare.cwd)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"tracker {version('tracker')}\n",
        "",
    )
    assert tracker.__version__ == version("tracker")  # one version, not two that drift
    assert list(bare.cwd.iterdir()) == [bare.config]  # needs no config read, no database


# -- shell completion ----------------------------------------------------------------------
def test_shell_completion_is_switched_on(bare: Cli, main: Main) -> None:
    script = main("--show-completion", "bash", env=_env(bare))
    assert script.returncode == 0, script.stderr
    # The script the README tells users to install: it calls `tracker` back for each word.
    assert "_TRACKER_COMPLETE=complete_bash" in script.stdout
    assert "complete -o default -F _tracker_completion tracker" in script.stdout

    for words, cword, expected in (
        ("tracker hist", "1", ["history"]),
        ("tracker config ", "2", ["check"]),
        ("tracker history X --for", "3", ["--format"]),
    ):
        asked = {"_TRACKER_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
        answer = main(env=_env(bare, **asked))
        assert (answer.returncode, answer.stdout.split()) == (0, expected), (words, answer)
    assert "--install-completion" in main("--help", env=_env(bare)).stdout


# -- usage errors, whichever click is importable -------------------------------------------
USAGE_ERRORS: list[tuple[tuple[str, ...], str]] = [
    (("history", "X", "--bogus"), "No such option: --bogus"),
    (("nosuch",), "No such command 'nosuch'"),
    (("hashtags", "nosuch"), "No such command 'nosuch'"),
    (("history",), "Missing argument"),
    (("accounts", "add", "bluesky", "someone"), "Missing option '--subject'"),
]


def _check_usage_errors(results: list[subprocess.CompletedProcess[str]]) -> None:
    assert 0 < len(results) <= len(USAGE_ERRORS)
    for (args, message), result in zip(USAGE_ERRORS, results, strict=False):
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert result.stderr.startswith("Usage: tracker "), (args, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout, args


def test_usage_errors_exit_2_with_standalone_click_installed_beside_typers(
    bare: Cli, main: Main
) -> None:
    # The test extra installs standalone click (as uvicorn would): both copies are present.
    assert importlib.util.find_spec("click") is not None, "pip install -e '.[test]'"
    import click

    typers_own = [c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"]
    assert typers_own, "typer.BadParameter is no longer a ClickException"
    if typers_own[0] is click.ClickException:
        pytest.fail("this typer raises standalone click's classes: the case under test is gone")
    _check_usage_errors([main(*args, env=_env(bare)) for args, _ in USAGE_ERRORS])
    # And as a real process: what the user sees has no traceback in it.
    _check_usage_errors(finish(*(bare.start(*args) for args, _ in USAGE_ERRORS[:2])))


def test_usage_errors_exit_2_without_standalone_click(
    bare: Cli, main: Main, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "click", None)  # `import click` fails: typer's copy only
    with pytest.raises(ImportError):
        import click  # noqa: F401
    _check_usage_errors([main(*args, env=_env(bare)) for args, _ in USAGE_ERRORS])


# -- database URLs that cannot work --------------------------------------------------------
FILE_PATH_HINT = "is a file path, not a database URL: for a SQLite file write"


def test_database_urls_that_cannot_work_exit_2_naming_where_they_came_from(
    bare: Cli, main: Main
) -> None:
    with_file_url = bare.cwd / "file-url.toml"
    with_file_url.write_text('database_url = "tracker.db"\n', encoding="utf-8")
    cases: list[tuple[list[str], dict[str, str], str]] = [
        (
            ["--database", "tracker.db", "status"],
            {},
            f"error: --database: 'tracker.db' {FILE_PATH_HINT} sqlite:///tracker.db ",
        ),
        (
            ["--database", "/srv/tracker/t.db", "db", "upgrade"],
            {},
            f"error: --database: '/srv/tracker/t.db' {FILE_PATH_HINT} sqlite:////srv/tracker/t.db ",
        ),
        (
            ["run", "--once"],
            {"TRACKER_DATABASE_URL": "tracker.db"},
            f"error: environment variable TRACKER_DATABASE_URL: 'tracker.db' {FILE_PATH_HINT} ",
        ),
        (
            ["--config", str(with_file_url), "history", "X"],
            {"TRACKER_DATABASE_URL": ""},
            f"error: {with_file_url}: database_url: 'tracker.db' {FILE_PATH_HINT} ",
        ),
        (
            ["--config", str(with_file_url), "run", "--once"],
            {"TRACKER_DATABASE_URL": ""},
            f"error: {with_file_url}: database_url: 'tracker.db' {FILE_PATH_HINT} ",
        ),
        (
            ["--database", "mysql://tracker:pw-secret@db/tracker", "status"],
            {},
            "error: --database: the database driver for mysql is not installed "
            "(No module named 'MySQLdb'): tracker ships the drivers for sqlite:///FILE",
        ),
        (
            ["--database", "nosuchdb://db/tracker", "config", "check"],
            {},
            "error: --database: 'nosuchdb' in 'nosuchdb://db/tracker' is not a kind of "
            "database tracker knows: give sqlite:///FILE",
        ),
    ]
    results = [main(*args, env=_env(bare, **env), cwd=bare.cwd) for args, env, _ in cases]
    for (args, _, expected), result in zip(cases, results, strict=True):
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith(expected), (args, result.stderr)
        assert "Traceback" not in result.stderr and "pw-secret" not in result.stderr, args
    # Nothing was created: no database file, no spool.
    assert sorted(p.name for p in bare.cwd.iterdir()) == ["file-url.toml", "tracker.toml"]


def test_report_into_an_unwritable_folder_exits_2_with_the_option(
    seeded: Seeded, tmp_path: Path, main: Main
) -> None:
    cli = make_cli(seeded, tmp_path, f"sqlite:///{tmp_path / 'cli.db'}")
    env = _env(cli, **cli.env)
    assert main("db", "upgrade", env=env).returncode == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    result = main("report", "Test campaign", "--out", str(blocker / "report"), env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"error: --out: cannot write the report in {blocker / 'report' / 'charts'}: "
        "Not a directory\n"
    )
    assert blocker.read_text(encoding="utf-8") == "not a folder\n"


def test_a_broken_pipe_ends_quietly(bare: Cli) -> None:
    """`tracker sources | head -1`: the reader leaves early; no traceback, no noise."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker", "sources"],
        env=tracker_env(bare.config, bare.database_url, COLUMNS="200"),
        cwd=bare.cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command writes its table
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=TIMEOUT) == 1
    assert "Traceback" not in err and "BrokenPipe" not in err, err
