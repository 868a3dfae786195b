from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import ClassVar

import pytest

from tracker import editor
from tracker.collectors import registry
from tracker.collectors.base import Collector, Parsed, Request, SourceSettings
from tracker.errors import ConfigError, UsageError

SAMPLE = """\
# Tracker config for the launch.
database_url = "sqlite:///tracker.db"  # local file

[http]
timeout = 5.0

# Hashtags we follow.
[[hashtags]]
tag = "#Heartstopper"   # the show itself
platforms = ["mastodon"]
subject = "Heartstopper"

# The fandom tag.
[[hashtags]]
tag = "nickandcharlie"
platforms = [
  "mastodon",  # biggest community
  "x",
]

[[accounts]]
platform = "bluesky"
handle = "alice.bsky.social"  # main account
subject = "Alice"

# Campaign comes last.
[campaign]
name = "launch"
launch = 2024-04-01
"""


class _WikiSettings(SourceSettings):
    base_url: str = "https://wiki.example"


class _Wiki(Collector):
    """A collector installed beside the real ones, with the base class's hooks."""

    name: ClassVar[str] = "wiki"
    settings_model: ClassVar[type[SourceSettings]] = _WikiSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"account", "hashtag"})

    def plan(self, targets: object) -> list[Request]:
        return []

    def parse(self, request: Request, body: bytes, at: object) -> Parsed:
        return Parsed()


INSTALLED = registry.available()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the editor knows of each platform comes from its collector's hooks.
    monkeypatch.setattr(registry, "available", lambda: {**INSTALLED, "wiki": _Wiki})
    for name in list(os.environ):
        if name.upper().startswith("TRACKER_"):
            monkeypatch.delenv(name)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tracker.toml"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


def _unchanged(path: Path, before: bytes) -> None:
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_list(config: Path) -> None:
    assert editor.list_hashtags(config) == [
        {"tag": "heartstopper", "platforms": ["mastodon"], "subject": "Heartstopper"},
        {"tag": "nickandcharlie", "platforms": ["mastodon", "x"], "subject": ""},
    ]
    assert editor.list_accounts(config) == [
        {"platform": "bluesky", "handle": "alice.bsky.social", "subject": "Alice", "id": ""}
    ]


def test_add_hashtag_inserts_after_the_last_one_and_keeps_every_other_line(config: Path) -> None:
    done = editor.add_hashtag(config, "#YoungRoyals", ["x", "tiktok"], "Young Royals")
    assert done == editor.Added(
        "youngroyals", ("x", "tiktok"), ("x", "tiktok"), new_entry=True, changed=True
    )
    new = (
        '[[hashtags]]\ntag = "youngroyals"\nplatforms = ["x", "tiktok"]\n'
        'subject = "Young Royals"\n\n'
    )
    assert config.read_text() == SAMPLE.replace("[[accounts]]", new + "[[accounts]]")


def test_remove_first_hashtag_keeps_the_comment_of_the_next(config: Path) -> None:
    assert editor.remove_hashtag(config, "HEARTSTOPPER") == "heartstopper"
    expected = SAMPLE.replace(
        '[[hashtags]]\ntag = "#Heartstopper"   # the show itself\n'
        'platforms = ["mastodon"]\nsubject = "Heartstopper"\n',
        "",
    )
    assert config.read_text() == expected
    assert "# Hashtags we follow.\n\n# The fandom tag.\n[[hashtags]]" in expected


def test_remove_last_hashtag(config: Path) -> None:
    editor.remove_hashtag(config, "nickandcharlie")
    # The table's own lines go (its in-array comment too); the comment above it stays.
    table = '[[hashtags]]\ntag = "nickandcharlie"\nplatforms = [\n  "mastodon",  # biggest'
    table += ' community\n  "x",\n]\n'
    assert table in SAMPLE
    assert config.read_text() == SAMPLE.replace(table, "")
    assert "# The fandom tag.\n\n[[accounts]]" in config.read_text()


def test_remove_every_hashtag_then_add_back(config: Path) -> None:
    editor.remove_hashtag(config, "heartstopper")
    editor.remove_hashtag(config, "nickandcharlie")
    text = config.read_text()
    assert "[[hashtags]]" not in text
    assert "# Hashtags we follow.\n\n# The fandom tag.\n\n[[accounts]]" in text
    assert editor.list_hashtags(config) == []
    editor.add_hashtag(config, "again", ["mastodon"])
    assert config.read_text() == (
        text
        + "\n# Hashtags to track, one [[hashtags]] table each.\n"
        + '[[hashtags]]\ntag = "again"\nplatforms = ["mastodon"]\n'
    )


@pytest.mark.parametrize(
    "spelling", ["#Heartstopper", "HEARTSTOPPER", "ｈｅａｒｔｓｔｏｐｐｅｒ", "  #heartstopper "]
)
def test_spellings_of_one_tag_map_to_one_entry(config: Path, spelling: str) -> None:
    assert editor.add_hashtag(config, spelling, ["x"]).added == ("x",)
    tags = [h["tag"] for h in editor.list_hashtags(config)]
    assert tags.count("heartstopper") == 1
    assert editor.list_hashtags(config)[0]["platforms"] == ["mastodon", "x"]
    # The entry keeps the user's spelling and comment; only the platforms line changed.
    assert config.read_text() == SAMPLE.replace(
        'platforms = ["mastodon"]\nsubject = "Heartstopper"',
        'platforms = ["mastodon", "x"]\nsubject = "Heartstopper"',
    )
    assert editor.remove_hashtag(config, spelling) == "heartstopper"
    assert [h["tag"] for h in editor.list_hashtags(config)] == ["nickandcharlie"]


def test_merge_adds_only_new_platforms(config: Path) -> None:
    editor.add_hashtag(config, "NickAndCharlie", ["X", "mastodon", "tiktok", "tiktok"])
    assert editor.list_hashtags(config)[1]["platforms"] == ["mastodon", "x", "tiktok"]
    assert '  "x",\n  "tiktok",\n]' in config.read_text()
    assert "# biggest community" in config.read_text()
    before = config.read_bytes()
    again = editor.add_hashtag(config, "nickandcharlie", ["x"])  # nothing new: nothing written
    assert again == editor.Added(
        "nickandcharlie", ("mastodon", "x", "tiktok"), (), new_entry=False, changed=False
    )
    _unchanged(config, before)


def test_merge_fills_a_missing_subject_but_refuses_a_different_one(config: Path) -> None:
    editor.add_hashtag(config, "nickandcharlie", ["x"], "Nick and Charlie")
    assert editor.list_hashtags(config)[1]["subject"] == "Nick and Charlie"
    before = config.read_bytes()
    with pytest.raises(UsageError, match="already has subject 'Heartstopper'"):
        editor.add_hashtag(config, "heartstopper", ["x"], "Other")
    _unchanged(config, before)


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("#", "cannot be empty"),
        ("🎉🎉", "no spaces, punctuation or emoji"),
        ("heart stopper", "no spaces, punctuation or emoji"),
        ("a" * 500, "at most 100 characters, got 500"),
        ("2024", "all-digit"),
    ],
)
def test_invalid_tag_refused_and_file_unchanged(config: Path, tag: str, reason: str) -> None:
    before = config.read_bytes()
    with pytest.raises(UsageError, match=reason):
        editor.add_hashtag(config, tag, ["x"])
    with pytest.raises(UsageError, match=reason):
        editor.remove_hashtag(config, tag)
    _unchanged(config, before)


@pytest.mark.parametrize(
    ("platforms", "reason"),
    [
        (["instagram"], "Instagram exposes no post or view count for a hashtag"),
        (["x", "Instagram"], "a hashtag node has only id and name"),
        (["myspace"], r"'myspace' refused: unknown \(installed: bluesky, instagram, mastodon, "),
        (["netflix"], r"'netflix' refused: netflix measures chart only, not hashtags"),
        ([], "needs at least one platform"),
        (["  "], "unknown"),
    ],
)
def test_bad_platform_refused_and_file_unchanged(
    config: Path, platforms: list[str], reason: str
) -> None:
    before = config.read_bytes()
    with pytest.raises(UsageError, match=reason):
        editor.add_hashtag(config, "heartstopper", platforms)
    _unchanged(config, before)


def test_instagram_message_is_exact(config: Path) -> None:
    with pytest.raises(UsageError) as caught:
        editor.add_hashtag(config, "new", ["instagram"])
    assert str(caught.value).endswith(
        "Instagram exposes no post or view count for a hashtag"
        " (a hashtag node has only id and name)"
    )


def test_installed_source_accepted(config: Path) -> None:
    editor.add_hashtag(config, "new", ["wiki", "tiktok", "x"])
    assert editor.list_hashtags(config)[-1]["platforms"] == ["wiki", "tiktok", "x"]


def test_remove_missing_hashtag_says_so(config: Path) -> None:
    before = config.read_bytes()
    with pytest.raises(UsageError, match=r"no hashtag #absent to remove"):
        editor.remove_hashtag(config, "#Absent")
    _unchanged(config, before)


def test_account_add_remove(config: Path) -> None:
    assert editor.add_account(config, "X", " @NetflixUK ", "Netflix UK", id="123").name == (
        "NetflixUK"
    )
    assert editor.add_account(config, "mastodon", "@Bob@Mastodon.Social", "Bob").name == (
        "Bob@mastodon.social"
    )
    assert editor.list_accounts(config)[1:] == [
        {"platform": "x", "handle": "NetflixUK", "subject": "Netflix UK", "id": "123"},
        {"platform": "mastodon", "handle": "Bob@mastodon.social", "subject": "Bob", "id": ""},
    ]
    head, tail = SAMPLE.split("# Campaign comes last.")
    assert config.read_text().startswith(head.removesuffix("\n"))
    assert config.read_text().endswith("\n# Campaign comes last." + tail)
    assert editor.remove_account(config, "x", "@netflixuk") is True
    assert editor.remove_account(config, "mastodon", "bob@mastodon.social") is True
    assert config.read_text() == SAMPLE


def test_remove_account_keeps_the_rest(config: Path) -> None:
    editor.remove_account(config, "bluesky", "@Alice.BSKY.social")
    assert config.read_text() == SAMPLE.replace(
        '[[accounts]]\nplatform = "bluesky"\nhandle = "alice.bsky.social"  # main account\n'
        'subject = "Alice"\n\n',
        "",
    )


@pytest.mark.parametrize(
    ("platform", "handle", "subject", "reason"),
    [
        ("bluesky", "@ALICE.bsky.social", "A", "already accounts\\[0\\]"),
        ("mastodon", "bob", "B", "user@domain"),
        ("mastodon", "@bob@", "B", "user@domain"),
        ("x", "@", "B", "not empty"),
        ("x", "two words", "B", "one word"),
        ("x", "bob", "  ", "needs a subject"),
        ("myspace", "bob", "B", "unknown"),
    ],
)
def test_bad_account_refused_and_file_unchanged(
    config: Path, platform: str, handle: str, subject: str, reason: str
) -> None:
    before = config.read_bytes()
    with pytest.raises(UsageError, match=reason):
        editor.add_account(config, platform, handle, subject)
    _unchanged(config, before)


def test_remove_missing_account_says_so(config: Path) -> None:
    before = config.read_bytes()
    with pytest.raises(UsageError, match="no x account 'alice.bsky.social' to remove"):
        editor.remove_account(config, "x", "alice.bsky.social")
    _unchanged(config, before)


@pytest.mark.parametrize(
    ("broken", "key", "reason"),
    [
        (SAMPLE.replace("timeout = 5.0", "timout = 5.0"), "http.timout", "Extra inputs"),
        (SAMPLE.replace('subject = "Alice"', ""), "accounts[0].subject", "Field required"),
        (SAMPLE + "\n[sources.nope]\nenabled = true\n", "sources.nope", "no such source"),
    ],
)
def test_config_invalid_elsewhere_refuses_the_edit(
    tmp_path: Path, broken: str, key: str, reason: str
) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text(broken, encoding="utf-8")
    before = path.read_bytes()
    edits = [
        lambda: editor.add_hashtag(path, "new", ["x"]),
        lambda: editor.remove_hashtag(path, "nickandcharlie"),
        lambda: editor.add_account(path, "x", "bob", "Bob"),
    ]
    for edit in edits:
        with pytest.raises(ConfigError) as caught:
            edit()
        assert (caught.value.file, caught.value.key) == (str(path), key)
        assert reason in caught.value.reason and "edit refused" in caught.value.reason
        _unchanged(path, before)


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    with pytest.raises(ConfigError, match="no such file"):
        editor.add_hashtag(path, "new", ["x"])
    path.write_text("[[hashtags]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        editor.add_hashtag(path, "new", ["x"])
    path.write_text("hashtags = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"hashtags: must be an array of tables"):
        editor.add_hashtag(path, "new", ["x"])
    assert path.read_text() == "hashtags = 3\n"


def test_array_of_tables_split_by_another_table_is_edited_in_place(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    first = '[[hashtags]]\ntag = "a"\nplatforms = ["x"]\n'
    rest = '[http]\ntimeout = 1\n[[hashtags]]\ntag = "b"\nplatforms = ["x"]\n'
    path.write_text(first + rest, encoding="utf-8")
    editor.add_hashtag(path, "b", ["mastodon"])
    editor.remove_hashtag(path, "a")
    assert path.read_text() == rest.replace('["x"]', '["x", "mastodon"]')
    editor.add_hashtag(path, "c", ["x"])
    assert path.read_text().endswith(
        '["x", "mastodon"]\n\n[[hashtags]]\ntag = "c"\nplatforms = ["x"]\n'
    )


def test_inline_array_form(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text('hashtags = [{tag = "a", platforms = ["x"]}]  # inline\n', encoding="utf-8")
    editor.add_hashtag(path, "b", ["x"])
    assert [h["tag"] for h in editor.list_hashtags(path)] == ["a", "b"]
    editor.remove_hashtag(path, "a")
    assert path.read_text().endswith("]  # inline\n")
    assert [h["tag"] for h in editor.list_hashtags(path)] == ["b"]


def test_empty_file_gets_a_commented_array(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text("", encoding="utf-8")
    editor.add_hashtag(path, "new", ["x"])
    assert path.read_text() == (
        '# Hashtags to track, one [[hashtags]] table each.\n[[hashtags]]\ntag = "new"\n'
        'platforms = ["x"]\n'
    )


def test_crlf_and_missing_final_newline_kept(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    text = '# c\r\n[[hashtags]]\r\ntag = "a"\r\nplatforms = ["x"]'
    path.write_bytes(text.encode())
    editor.add_hashtag(path, "b", ["x"])
    added = path.read_bytes().decode()
    assert added == text + '\r\n\r\n[[hashtags]]\r\ntag = "b"\r\nplatforms = ["x"]\r\n'
    editor.remove_hashtag(path, "b")
    assert path.read_bytes().decode() == text + "\r\n"


def test_file_mode_kept_and_symlink_followed(config: Path) -> None:
    config.chmod(0o640)
    link = config.parent / "link.toml"
    link.symlink_to(config)
    editor.add_hashtag(link, "new", ["x"])
    assert link.is_symlink()
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert "new" in [h["tag"] for h in editor.list_hashtags(config)]


def test_platform_whose_collector_cannot_measure_hashtags_is_refused(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class _PagesOnly(_Wiki):
        kinds: ClassVar[frozenset[str]] = frozenset({"page"})

    monkeypatch.setattr(registry, "available", lambda: {**INSTALLED, "wiki": _PagesOnly})
    before = config.read_bytes()
    with pytest.raises(UsageError, match="measures page only"):
        editor.add_hashtag(config, "new", ["wiki"])
    assert config.read_bytes() == before


LAYOUT = """\
# Accounts written inline.
accounts = [
  { platform = "wiki", handle = "a.example", subject = "A" },  # the first
  { platform = "wiki", handle = "b", subject = "B", id = "2" },
]

[campaign]
name = "c"
launch = 2024-04-01
events = [{ name = "renewal", date = 2024-05-20 }]   # tomlkit 0.15 re-renders this line

[[hashtags]]
"tag" = 'Literal'        # a quoted key, a literal string
platforms = [
    "wiki"   # no trailing comma
]
subject = \"\"\"A
[[hashtags]] in a multi-line subject\"\"\"

[[hashtags]]
tag = "other"
platforms = ["x"]
# The end.
"""


def _check_edit(path: Path, before: str, expected: dict[str, object]) -> str:
    import tomllib

    text = path.read_text(encoding="utf-8")
    assert tomllib.loads(text) == tomllib.loads(before) | expected
    kept = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert [line for line in text.splitlines() if line.lstrip().startswith("#")] == kept
    assert 'events = [{ name = "renewal", date = 2024-05-20 }]   # tomlkit' in text
    return text


def test_any_layout_the_loader_accepts_is_edited_in_place(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text(LAYOUT, encoding="utf-8")
    literal = {
        "tag": "Literal",
        "platforms": ["wiki"],
        "subject": "A\n[[hashtags]] in a multi-line subject",
    }
    other = {"tag": "other", "platforms": ["x"]}

    assert editor.add_hashtag(path, "literal", ["x", "tiktok"]).added == ("x", "tiktok")
    literal["platforms"] = ["wiki", "x", "tiktok"]
    text = _check_edit(path, LAYOUT, {"hashtags": [literal, other]})
    assert '    "wiki",   # no trailing comma\n    "x",\n    "tiktok"\n]' in text

    editor.add_hashtag(path, "other", ["x"], "Other")
    other["subject"] = "Other"
    text = _check_edit(path, LAYOUT, {"hashtags": [literal, other]})
    assert text.endswith('platforms = ["x"]\nsubject = "Other"\n# The end.\n')

    editor.add_hashtag(path, "#Third", ["wiki"])
    third = {"tag": "third", "platforms": ["wiki"]}
    _check_edit(path, LAYOUT, {"hashtags": [literal, other, third]})

    editor.add_account(path, "x", "@c", "C")
    editor.remove_account(path, "wiki", "A.EXAMPLE")
    b = {"platform": "wiki", "handle": "b", "subject": "B", "id": "2"}
    c = {"platform": "x", "handle": "c", "subject": "C"}
    text = _check_edit(path, LAYOUT, {"hashtags": [literal, other, third], "accounts": [b, c]})
    assert text.startswith(
        "# Accounts written inline.\naccounts = [\n"
        '  { platform = "wiki", handle = "b", subject = "B", id = "2" },\n'
        '  { platform = "x", handle = "c", subject = "C" },\n]\n'
    )

    editor.remove_hashtag(path, "literal")
    editor.remove_hashtag(path, "third")
    text = _check_edit(path, LAYOUT, {"hashtags": [other], "accounts": [b, c]})
    assert "multi-line" not in text and "quoted key" not in text


def test_an_entry_it_cannot_splice_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    text = '# c\n[[hashtags]]\ntag = "a"\nplatforms = ["x"]\n[hashtags.meta]\nnote = 1\n'
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        editor.remove_hashtag(path, "a")
    assert str(caught.value) == (
        f"{path}: hashtags[0]: line 2: this layout cannot be edited safely; edit it by hand"
    )
    with pytest.raises(ConfigError, match=r"hashtags: line 2: this layout cannot be edited"):
        editor.add_hashtag(path, "b", ["x"])
    _unchanged(path, text.encode())
