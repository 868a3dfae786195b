"""Where things live: the config lookup, the default database, `tracker init`, and read
commands that never create a database."""

from __future__ import annotations

import os
import subprocess
from importlib.resources import files
from pathlib import Path

import pytest

from tests import entry
from tracker import config, configfile
from tracker.errors import ConfigError
from tracker.store.schema import revisions

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config" / "tracker.toml"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user with empty config and data directories, working in an empty directory."""
    for name in list(os.environ):
        if name.upper().startswith("TRACKER_") or name.startswith("XDG_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- the config lookup ----------------------------------------------------------------------
def test_lookup_order(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = home / ".config" / "tracker" / "tracker.toml"
    assert configfile.find_config() is None
    write(user)
    assert configfile.find_config() == user
    write(Path("config/tracker.toml"))
    assert configfile.find_config() == Path("config/tracker.toml")
    monkeypatch.setenv("TRACKER_CONFIG", "from-env.toml")  # named: returned even if absent
    assert configfile.find_config() == Path("from-env.toml")
    assert configfile.find_config("given.toml") == Path("given.toml")


def test_no_config_anywhere_says_where_it_looked_and_how_to_make_one(home: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load()
    user = home / ".config" / "tracker" / "tracker.toml"
    assert str(caught.value) == (
        f"config/tracker.toml: no such file here, nor {user}: write one with `tracker init`, "
        "or name yours with --config or TRACKER_CONFIG"
    )


def test_a_named_config_that_is_missing_is_not_replaced_by_another(home: Path) -> None:
    write(home / ".config" / "tracker" / "tracker.toml")
    with pytest.raises(ConfigError, match=r"^absent.toml: no such file"):
        config.load("absent.toml")


# -- the database -----------------------------------------------------------------------------
def test_default_database_is_in_the_data_directory_wherever_tracker_runs(home: Path) -> None:
    expected = f"sqlite:///{home / '.local' / 'share' / 'tracker' / 'tracker.db'}"
    assert configfile.database_url() == expected
    assert config.load(write(Path("anywhere/tracker.toml"))).database_url == expected
    assert configfile.database_url("anywhere/tracker.toml") == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("sqlite:///data/t.db", "sqlite:///{dir}/data/t.db"),
        ("sqlite:///../t.db", "sqlite:///{dir}/../t.db"),
        ("sqlite:////abs/t.db", "sqlite:////abs/t.db"),
        ("sqlite:///~/t.db", "sqlite:///{home}/t.db"),
        ("sqlite+pysqlite:///t.db?timeout=5", "sqlite+pysqlite:///{dir}/t.db?timeout=5"),
        ("sqlite://", "sqlite://"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql://u:pw@db/t", "postgresql://u:pw@db/t"),
    ],
)
def test_a_relative_sqlite_path_in_the_file_is_taken_from_the_files_folder(
    home: Path, written: str, expected: str
) -> None:
    path = write(Path("conf/tracker.toml"), f'database_url = "{written}"\n')
    want = expected.format(dir=Path("conf").absolute(), home=home)
    assert configfile.database_url() != want  # not found by the lookup: conf/ is not config/
    assert configfile.database_url(path) == want
    assert config.load(path).database_url == want


def test_the_environment_and_the_option_are_taken_as_given(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(Path("conf/tracker.toml"), 'database_url = "sqlite:///file.db"\n')
    monkeypatch.setenv("TRACKER_DATABASE_URL", "sqlite:///env.db")
    assert configfile.database_url(path) == "sqlite:///env.db"
    assert config.load(path).database_url == "sqlite:///env.db"
    assert config.load(path, database_url="sqlite:///opt.db").database_url == "sqlite:///opt.db"


def test_the_shipped_config_leaves_the_database_to_the_default() -> None:
    assert "database_url" not in __import__("tomllib").loads(SHIPPED.read_text("utf-8"))


# -- the CLI, as a new user runs it ---------------------------------------------------------
def tracker(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "XDG_"))}
    env |= {"HOME": str(home), "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    env |= {"XDG_CONFIG_HOME": str(home / ".config")}
    env |= {"XDG_DATA_HOME": str(home / ".local" / "share")}
    return entry.run(*args, env=env, cwd=cwd)


def test_a_new_user_from_any_directory(home: Path, tmp_path: Path) -> None:
    data = home / ".local" / "share" / "tracker" / "tracker.db"
    user = home / ".config" / "tracker" / "tracker.toml"

    before = tracker(home, "status")
    assert before.returncode == 1, before.stderr
    assert before.stderr == (
        f"error: no database at {data} yet (nothing has been collected): write a config with "
        "`tracker init`, then run `tracker run --once` to collect a round into it, or point "
        "--database or TRACKER_DATABASE_URL at an existing database\n"
    )
    run = tracker(home, "run", "--once")
    assert run.returncode == 2 and "write one with `tracker init`" in run.stderr

    made = tracker(home, "init")
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines() == [
        f"wrote {user}: the Heartstopper campaign, commented key by key; make it yours.",
        "tracker finds it from any directory.",
        f"Snapshots go to sqlite:///{data}.",
        "Next: `tracker run --once` collects one round; `tracker run` is the daemon.",
    ]
    assert user.read_bytes() == SHIPPED.read_bytes()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    added = tracker(home, "hashtags", "add", "#NickAndCharlie", cwd=elsewhere)
    assert (added.returncode, added.stdout) == (0, "tracking #nickandcharlie (mastodon)\n")
    listed = tracker(home, "hashtags", "list")
    assert "nickandcharlie" in listed.stdout and "heartstopper" in listed.stdout

    for command in (["status"], ["history", "Kit Connor"], ["compare"], ["claims"]):
        result = tracker(home, *command, cwd=elsewhere)
        assert result.returncode == 1, (command, result.stderr)
        assert result.stderr.startswith(f"error: no database at {data} yet"), command
        assert "tracker init" not in result.stderr  # there is a config now
    report = tracker(home, "report", "Heartstopper", "--out", str(tmp_path / "r"))
    assert report.returncode == 1 and "no database at" in report.stderr
    assert not data.exists() and not data.parent.exists()

    upgraded = tracker(home, "db", "upgrade", cwd=elsewhere)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout == f"database sqlite:///{data} created (schema {revisions()[1]})\n"
    status = tracker(home, "status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert list(elsewhere.iterdir()) == [] and list(Path.cwd().iterdir()) == []


def test_db_upgrade_needs_only_the_database_url(home: Path) -> None:
    broken = write(Path("config/tracker.toml"), "database_url = 'sqlite:///here.db'\nnope = 1\n")
    result = tracker(home, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert (broken.parent / "here.db").exists()
    assert tracker(home, "run", "--once").returncode == 2  # the rest of the config still counts


# -- tracker init -------------------------------------------------------------------------------
def test_the_package_ships_the_shipped_config_as_its_starter() -> None:
    assert files("tracker").joinpath("starter.toml").read_bytes() == SHIPPED.read_bytes()


@pytest.mark.parametrize(
    ("args", "written", "found"),
    [
        (["config"], "config/tracker.toml", True),
        (["elsewhere"], "elsewhere/tracker.toml", False),
        (["named.toml"], "named.toml", False),
        (["--config", "named.toml", "init"], "named.toml", True),
    ],
)
def test_init_writes_where_asked_and_says_how_it_is_found(
    home: Path, args: list[str], written: str, found: bool
) -> None:
    command = args if args[0] == "--config" else ["init", *args]
    result = tracker(home, *command)
    assert result.returncode == 0, result.stderr
    path = Path(written)
    assert path.read_bytes() == SHIPPED.read_bytes()
    assert config.load(path).campaign is not None
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"wrote {path}: the Heartstopper campaign")
    if found:
        assert lines[1] == f"tracker finds it when run in {Path.cwd()}."
        assert lines[-1].startswith("Next: `tracker run --once`")
    else:
        assert (
            lines[1]
            == f"Use it with `tracker --config {path} ...`, or export TRACKER_CONFIG={path}."
        )
        assert lines[-1].startswith(f"Next: `tracker --config {path} run --once`")


def test_init_never_overwrites(home: Path) -> None:
    mine = write(Path("config/tracker.toml"), "# my own campaign\n")
    result = tracker(home, "init", "config")
    assert result.returncode == 2
    assert result.stderr == (
        "error: config/tracker.toml: already exists, left as it is (edit it, or name another DIR)\n"
    )
    assert mine.read_text() == "# my own campaign\n"

    shadowed = tracker(home, "init")  # the user's directory: ./config/tracker.toml comes first
    assert shadowed.returncode == 0, shadowed.stderr
    assert "note: config/tracker.toml comes first in the lookup here." in shadowed.stdout


def test_init_says_why_it_cannot_write(home: Path) -> None:
    write(Path("plain"), "not a directory")
    result = tracker(home, "init", "plain")
    assert result.returncode == 2
    assert result.stderr == "error: plain: not a folder; name a folder or a .toml file\n"
    denied = tracker(home, "init", "/proc/tracker-test")  # not writable, even for root
    assert denied.returncode == 2
    assert denied.stderr.startswith("error: /proc/tracker-test/tracker.toml: cannot write: ")
    assert "Traceback" not in denied.stderr


def test_init_help_has_examples(home: Path) -> None:
    result = tracker(home, "init", "--help")
    assert result.returncode == 0 and "tracker init config" in result.stdout
    assert "init" in tracker(home, "--help").stdout
