"""`tracker sources` and `tracker config check`: they describe the setup, collect nothing,
write nothing and create no database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.entry import Main
from tests.test_cli import make_cli, table_rows

if TYPE_CHECKING:
    from tests.conftest import Seeded

X_NEEDS = "set X_BEARER_TOKEN (or sources.x.bearer_token_file)"


@pytest.fixture
def main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Main:
    return Main(monkeypatch, capsys)


@pytest.fixture
def setup(seeded: Seeded, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The seeded config (its URLs from the environment), and that environment."""
    cli = make_cli(seeded, tmp_path, f"sqlite:///{tmp_path / 'never.db'}")
    env = {"TRACKER_CONFIG": str(cli.config), "TRACKER_DATABASE_URL": cli.database_url}
    return cli.config, env | cli.env


def _untouched(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_sources_says_what_runs_and_what_each_source_lacks(
    setup: tuple[Path, dict[str, str]], main: Main, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, env = setup
    monkeypatch.setenv("X_BEARER_TOKEN", "")  # none: x lacks it
    monkeypatch.setenv("YOUTUBE_API_KEY", "yt-key-for-the-test")  # present
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "")  # optional: Mastodon runs without one
    env = env | {"TRACKER_SOURCES__NETFLIX__ENABLED": "false"}
    before = _untouched(config.parent)

    as_json = main("sources", "--format", "json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    entries = {e["source"]: e for e in json.loads(as_json.stdout)}
    assert set(entries) >= {"bluesky", "mastodon", "netflix", "wikipedia", "x", "youtube"}
    assert entries["bluesky"] == {
        "source": "bluesky",
        "runs": True,
        "reason": "",
        "enabled": True,
        "installed": True,
        "targets": 2,
        "interval": "1h",
        "interval_seconds": 3600,
        "jitter": "0",
        "credentials": "none needed",
        "missing": "",
    }
    netflix = entries["netflix"]
    assert (netflix["runs"], netflix["enabled"], netflix["targets"]) == (False, False, 1)
    assert netflix["reason"] == "disabled in config (sources.netflix.enabled = false)"
    assert (entries["youtube"]["credentials"], entries["youtube"]["missing"]) == ("present", "")
    assert entries["youtube"]["reason"] == "no targets in the config"
    mastodon = entries["mastodon"]
    assert (mastodon["runs"], mastodon["credentials"]) == (True, "optional, none set")
    x = entries["x"]
    assert (x["credentials"], x["missing"], x["reason"]) == (
        "missing",
        X_NEEDS,
        "no targets in the config",
    )

    table = main("sources", env=env | {"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    rows = {row[0]: row[1:] for row in table_rows(table.stdout) if len(row) == 6}
    assert rows["bluesky"] == ["on", "yes", "none needed", "1h", "2"]
    assert rows["netflix"] == ["skipped", "no", "none needed", "1h", "1"]
    assert rows["x"] == ["skipped", "yes", "missing", "1h", "0"]
    assert rows["youtube"] == ["skipped", "yes", "present", "1h", "0"]
    assert rows["mastodon"] == ["on", "yes", "optional, none set", "1h", "2"]
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "a-mastodon-token")
    again = json.loads(main("sources", "--format", "json", env=env).stdout)
    assert [e["credentials"] for e in again if e["source"] == "mastodon"] == ["present"]
    lines = table.stdout.splitlines()
    assert "netflix: skipped — disabled in config (sources.netflix.enabled = false)" in lines
    assert f"x: skipped — no targets in the config; it also needs: {X_NEEDS}" in lines
    assert not any(line.startswith("bluesky:") for line in lines)  # it runs: nothing to say

    assert _untouched(config.parent) == before  # no database, no spool
    assert not any(f.requests for f in (seeded.bluesky, seeded.mastodon, seeded.netflix))


def test_sources_counts_a_credential_from_a_secret_file(
    setup: tuple[Path, dict[str, str]], main: Main, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, env = setup
    monkeypatch.setenv("X_BEARER_TOKEN", "")
    token = tmp_path / "x-token"
    token.write_text("token-from-a-file\n", encoding="utf-8")
    token.chmod(0o600)
    text = config.read_text(encoding="utf-8")
    text += f'\n[sources.x]\nbearer_token_file = "{token}"\n'
    text += '\n[[accounts]]\nplatform = "x"\nhandle = "heartstopper"\nsubject = "Show"\n'
    config.write_text(text, encoding="utf-8")
    result = main("sources", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    (x,) = [e for e in json.loads(result.stdout) if e["source"] == "x"]
    assert (x["runs"], x["credentials"], x["targets"], x["reason"]) == (True, "present", 1, "")
    assert "token-from-a-file" not in result.stdout


def test_sources_refuses_a_bad_format_and_a_bad_config(
    setup: tuple[Path, dict[str, str]], main: Main
) -> None:
    config, env = setup
    bad_format = main("sources", "--format", "xml", env=env)
    assert (bad_format.returncode, bad_format.stderr) == (
        2,
        "error: --format: 'xml' is not one of table, json\n",
    )
    bad_env = main("sources", env=env | {"TRACKER_HTTP__TIMEOUT": "abc"})
    assert bad_env.returncode == 2
    assert bad_env.stderr.startswith(
        "error: environment variable TRACKER_HTTP__TIMEOUT: http.timeout: "
    )


def test_config_check_exits_0_on_a_good_config_and_writes_nothing(
    setup: tuple[Path, dict[str, str]], main: Main, seeded: Seeded
) -> None:
    config, env = setup
    before = _untouched(config.parent)
    result = main("config", "check", env=env, cwd=config.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"{config}: ok — database {env['TRACKER_DATABASE_URL']}; 4 source(s) on, "
        "8 skipped (`tracker sources` says why)\n"
    )
    assert _untouched(config.parent) == before
    assert not any(f.requests for f in (seeded.bluesky, seeded.mastodon, seeded.netflix))


def test_config_check_exits_2_naming_the_file_or_the_variable(
    setup: tuple[Path, dict[str, str]], main: Main
) -> None:
    config, env = setup
    good = config.read_text(encoding="utf-8")
    bad_file = config.with_name("bad.toml")
    bad_file.write_text(good.replace("timeout = 2.0", "timeout = -1.0"), encoding="utf-8")
    before = _untouched(config.parent)
    cases = [
        (
            {"TRACKER_CONFIG": str(bad_file)},
            f"error: {bad_file}: http.timeout: Input should be greater than 0\n",
        ),
        (
            {"TRACKER_SOURCES__BLUESKY__JITTER": "soon"},
            "error: environment variable TRACKER_SOURCES__BLUESKY__JITTER: "
            "sources.bluesky.jitter: 'soon' is not a duration like 30s, 15m, 1h, 7d or 2w\n",
        ),
        (
            {"TRACKER_DATABASE_URL": "tracker.db"},
            "error: environment variable TRACKER_DATABASE_URL: 'tracker.db' is a file path, not "
            "a database URL: for a SQLite file write sqlite:///tracker.db (three slashes before "
            "a relative path, four before an absolute one)\n",
        ),
        (
            {"TRACKER_CONFIG": str(config.with_name("absent.toml"))},
            f"error: {config.with_name('absent.toml')}: no such file (use --config or "
            "TRACKER_CONFIG)\n",
        ),
    ]
    for extra, expected in cases:
        result = main("config", "check", env=env | extra, cwd=config.parent)
        assert (result.returncode, result.stdout, result.stderr) == (2, "", expected), extra
    # A jitter of 0 is no error: it turns jitter off. An empty variable is an unset one.
    for name, value in (
        ("TRACKER_SOURCES__BLUESKY__JITTER", "0"),
        ("TRACKER_SOURCES__BLUESKY__JITTER", "0s"),
        ("TRACKER_HTTP__TIMEOUT", ""),
    ):
        result = main("config", "check", env=env | {name: value}, cwd=config.parent)
        assert result.returncode == 0, (name, value, result.stderr)
    assert _untouched(config.parent) == before
