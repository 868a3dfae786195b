"""Every `hashtags` / `accounts` command, through the CLI, on a copy of the shipped config:
the diff is only the touched entry, comments stay, add-then-remove gives the file back."""

from __future__ import annotations

import difflib
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tracker import cli

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config" / "tracker.toml"


@dataclass
class Result:
    code: int
    out: str
    err: str


Tracker = Callable[..., Result]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.upper().startswith("TRACKER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)  # not the repository: nothing may depend on the directory
    copy = tmp_path / "tracker.toml"
    shutil.copyfile(SHIPPED, copy)
    return copy


@pytest.fixture
def tracker(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Tracker:
    def run(*args: str) -> Result:
        monkeypatch.setattr(sys, "argv", ["tracker", "--config", str(config), *args])
        with pytest.raises(SystemExit) as exited:
            cli.main()
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Result(int(exited.value.code or 0), captured.out, captured.err)

    return run


def hunks(before: str, after: str) -> list[tuple[list[str], list[str]]]:
    """The changed line blocks: (lines removed, lines added) each."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return [(a[i:j], b[k:m]) for tag, i, j, k, m in matcher.get_opcodes() if tag != "equal"]


def comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def test_lists_read_the_shipped_config(tracker: Tracker, config: Path) -> None:
    before = config.read_bytes()
    tags = tracker("hashtags", "list")
    assert tags.code == 0, tags.err
    assert "heartstopper" in tags.out and "mastodon, x, tiktok" in tags.out
    accounts = tracker("accounts", "list")
    assert accounts.code == 0, accounts.err
    for handle in ("kit.connor", "joelocke03", "AliceOseman"):
        assert handle in accounts.out
    assert config.read_bytes() == before


def test_hashtag_add_merge_remove_touch_only_that_entry(tracker: Tracker, config: Path) -> None:
    original = config.read_text(encoding="utf-8")

    added = tracker("hashtags", "add", "#NickAndCharlie", "--platform", "mastodon")
    assert (added.code, added.out) == (0, "tracking #nickandcharlie (mastodon)\n"), added.err
    text = config.read_text(encoding="utf-8")
    ((removed, inserted),) = hunks(original, text)
    assert removed == []
    assert [line for line in inserted if line.strip()] == [
        "[[hashtags]]\n",
        'tag = "nickandcharlie"\n',
        'platforms = ["mastodon"]\n',
    ]
    # Right after the shipped hashtag, before the charts' comment.
    assert text.index('subject = "#heartstopper"') < text.index('"nickandcharlie"')
    assert text.index('"nickandcharlie"') < text.index("# Charts: positions")
    assert comments(text) == comments(original)

    merged = tracker("hashtags", "add", "nickandcharlie", "--platform", "X", "--platform", "tiktok")
    assert merged.out == "tracking #nickandcharlie on x, tiktok too (mastodon, x, tiktok)\n"
    after_merge = config.read_text(encoding="utf-8")
    assert hunks(text, after_merge) == [
        (['platforms = ["mastodon"]\n'], ['platforms = ["mastodon", "x", "tiktok"]\n'])
    ]

    gone = tracker("hashtags", "remove", "#NICKANDCHARLIE")
    assert (gone.code, gone.out) == (0, "no longer tracking #nickandcharlie\n")
    assert config.read_text(encoding="utf-8") == original


def test_hashtag_already_tracked_says_so_and_changes_nothing(
    tracker: Tracker, config: Path
) -> None:
    before = config.read_bytes()
    for args in (
        ("#Heartstopper", "--platform", "mastodon"),
        ("HEARTSTOPPER", "--platform", "tiktok", "--platform", "x"),
        ("heartstopper", "--platform", "mastodon", "--subject", "#heartstopper"),
    ):
        again = tracker("hashtags", "add", *args)
        assert again.code == 0, again.err
        assert again.out == (
            "#heartstopper is already tracked (mastodon, x, tiktok); nothing changed\n"
        )
    assert config.read_bytes() == before


def test_removing_the_shipped_hashtag_removes_its_lines_only(
    tracker: Tracker, config: Path
) -> None:
    original = config.read_text(encoding="utf-8")
    result = tracker("hashtags", "remove", "heartstopper")
    assert result.code == 0, result.err
    text = config.read_text(encoding="utf-8")
    ((removed, inserted),) = hunks(original, text)
    assert inserted == []
    assert [line for line in removed if line.strip()] == [
        "[[hashtags]]\n",
        'tag = "heartstopper"\n',
        'platforms = ["mastodon", "x", "tiktok"]   # TikTok: the article\'s "4.4B views"\n',
        'subject = "#heartstopper"\n',
    ]
    assert comments(text) == [c for c in comments(original) if "TikTok: the article" not in c]
    assert tracker("hashtags", "list").out.count("heartstopper") == 0


def test_account_add_again_remove(tracker: Tracker, config: Path) -> None:
    original = config.read_text(encoding="utf-8")
    args = ("accounts", "add", "bluesky", "@alice.bsky.social", "--subject", "Alice Oseman")
    added = tracker(*args)
    assert (added.code, added.out) == (0, "tracking bluesky alice.bsky.social as 'Alice Oseman'\n")
    text = config.read_text(encoding="utf-8")
    ((removed, inserted),) = hunks(original, text)
    assert removed == []
    assert [line for line in inserted if line.strip()] == [
        "[[accounts]]\n",
        'platform = "bluesky"\n',
        'handle = "alice.bsky.social"\n',
        'subject = "Alice Oseman"\n',
    ]
    assert text.index('handle = "AliceOseman"') < text.index('"alice.bsky.social"')
    assert text.index('"alice.bsky.social"') < text.index("# Hashtags: one normal form")

    again = tracker(*args)
    assert (again.code, again.out) == (
        0,
        "bluesky alice.bsky.social is already tracked; nothing changed\n",
    )
    other = tracker("accounts", "add", "bluesky", "alice.bsky.social", "--subject", "Someone")
    assert other.code == 2 and "already accounts[3] (subject 'Alice Oseman')" in other.err
    assert config.read_text(encoding="utf-8") == text

    listed = tracker("accounts", "list")
    assert "alice.bsky.social" in listed.out and "Alice Oseman" in listed.out
    gone = tracker("accounts", "remove", "bluesky", "Alice.BSKY.social")
    assert (gone.code, gone.out) == (0, "no longer tracking bluesky Alice.BSKY.social\n")
    assert config.read_text(encoding="utf-8") == original


def test_removing_a_shipped_account_removes_its_lines_only(tracker: Tracker, config: Path) -> None:
    original = config.read_text(encoding="utf-8")
    assert tracker("accounts", "remove", "instagram", "@Kit.Connor").code == 0
    text = config.read_text(encoding="utf-8")
    ((removed, inserted),) = hunks(original, text)
    assert inserted == []
    assert [line for line in removed if line.strip()] == [
        "[[accounts]]\n",
        'platform = "instagram"\n',
        'handle = "kit.connor"\n',
        'subject = "Kit Connor"\n',
    ]
    assert comments(text) == comments(original)


def test_unknown_platform_names_the_installed_ones(tracker: Tracker, config: Path) -> None:
    before = config.read_bytes()
    result = tracker("hashtags", "add", "newtag", "--platform", "myspace")
    assert result.code == 2
    assert result.err.startswith("error: platform 'myspace' refused: unknown (installed: bluesky,")
    assert result.err.endswith("x, youtube)\n"), result.err  # every known one is installed
    assert "known: )" not in result.err
    assert config.read_bytes() == before


def test_refused_platform_for_hashtags_and_missing_entries(tracker: Tracker, config: Path) -> None:
    before = config.read_bytes()
    cases = [
        (("hashtags", "add", "x", "--platform", "bluesky"), "measures account only"),
        (("hashtags", "add", "tag", "--platform", "instagram"), "Instagram exposes no"),
        (("hashtags", "remove", "absent"), "no hashtag #absent to remove"),
        (("accounts", "remove", "x", "nobody"), "no x account 'nobody' to remove"),
    ]
    for args, reason in cases:
        result = tracker(*args)
        assert result.code == 2 and reason in result.err, (args, result.err)
    assert config.read_bytes() == before
