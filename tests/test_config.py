"""Config: the shipped campaign loads; bad input names file and key; env overrides apply."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from tracker import config
from tracker.baselines import references
from tracker.core import normalize_tag, parse_amount
from tracker.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config" / "tracker.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tracker.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_campaign_loads_with_the_articles_figures() -> None:
    cfg = config.load(SHIPPED)
    assert cfg.campaign is not None and cfg.campaign.name == "Heartstopper"
    assert str(cfg.campaign.launch) == "2022-04-22"
    refs = {r.name: r for r in references(cfg)}
    assert refs["kit-connor-instagram-prelaunch"].value == 100_000
    assert (refs["kit-connor-instagram"].value, refs["kit-connor-instagram"].sig) == (3_400_000, 2)
    assert refs["joe-locke-instagram"].value == 2_500_000
    assert refs["heartstopper-tiktok-views"].value == 4_400_000_000
    assert refs["netflix-top10-countries"].value == 54
    assert refs["variety-trending-tv"].value == 4
    assert refs["us-book-sales"].value == 1700
    assert {t.name for t in cfg.targets("netflix")} == {"Heartstopper"}
    assert {t.name for t in cfg.targets("mastodon")} == {"heartstopper"}


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("nonsense = 1\n", "nonsense", "Extra inputs"),
        ("[http]\ntimeout = -1\n", "http.timeout", "greater than 0"),
        ('[sources.bluesky]\ninterval = "soon"\n', "sources.bluesky.interval", "duration"),
        ('[sources.bluesky]\nbase_url = "ftp://x"\n', "sources.bluesky.base_url", "http"),
        ('[sources.myspace]\nbase_url = "https://x"\n', "sources.myspace", "no such source"),
        ('[sources.reddit]\nauth_url = "ftp://x"\n', "sources.reddit.auth_url", "http"),
        (
            '[[hashtags]]\ntag = "two words"\nplatforms = ["mastodon"]\n',
            "hashtags[0].tag",
            "hashtag",
        ),
        ('[[hashtags]]\ntag = "🎉🎉"\nplatforms = ["mastodon"]\n', "hashtags[0].tag", "hashtag"),
        ('[[hashtags]]\ntag = ""\nplatforms = ["mastodon"]\n', "hashtags[0].tag", "empty"),
        (
            '[[hashtags]]\ntag = "#A"\nplatforms = ["mastodon"]\n'
            '[[hashtags]]\ntag = "a"\nplatforms = ["mastodon"]\n',
            "hashtags[1]",
            "duplicate",
        ),
        (
            '[campaign]\nname = "x"\nlaunch = 2022-04-22\n[[campaign.baselines]]\nname = "b"\n'
            'subject = "s"\nsource = "x"\nmetric = "m"\nvalue = "lots"\nat = 2022-01-01\n',
            "campaign.baselines[0].value",
            "number",
        ),
        ("a = [\n", "", "not valid TOML"),
        (
            '[[hashtags]]\ntag = "heartstopper"\nplatforms = ["instagram"]\n',
            "hashtags[0].platforms",
            "no post or view count",
        ),
        (
            '[[hashtags]]\ntag = "heartstopper"\nplatforms = ["netflix"]\n',
            "hashtags[0].platforms",
            "not hashtags",
        ),
        (
            '[[charts]]\nsource = "bluesky"\ntitle = "Top"\n',
            "charts[0].source",
            "bluesky measures account only, not charts",
        ),
        (
            '[[accounts]]\nplatform = "wikipedia"\nhandle = "a"\nsubject = "A"\n',
            "accounts[0].platform",
            "wikipedia measures page only, not accounts",
        ),
    ],
)
def test_bad_config_names_file_key_and_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(reason)) as caught:
        config.load(path)
    assert caught.value.file == str(path)
    assert caught.value.key == key
    assert reason in caught.value.reason


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        config.load(tmp_path / "absent.toml")


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[sources.bluesky]\nbase_url = "https://a.example"\ninterval = "1h"\n')
    monkeypatch.setenv("TRACKER_SOURCES__BLUESKY__BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("TRACKER_HTTP__TIMEOUT", "2.5")
    monkeypatch.setenv("TRACKER_DATABASE_URL", "sqlite:///elsewhere.db")
    cfg = config.load(path)
    bluesky = cfg.source_settings["bluesky"]
    assert bluesky.base_url == "http://127.0.0.1:9"
    assert bluesky.interval == timedelta(hours=1)  # the rest of the block stays
    assert cfg.http.timeout == 2.5
    assert cfg.database_url == "sqlite:///elsewhere.db"


def test_bad_environment_value_names_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_HTTP__TIMEOUT", "abc")
    with pytest.raises(ConfigError, match=r"http\.timeout") as caught:
        config.load(write(tmp_path, ""))
    assert caught.value.key == "http.timeout"


@pytest.mark.parametrize(
    "text", ["#Heartstopper", "heartstopper", "HEARTSTOPPER", "＃ｈｅａｒｔｓｔｏｐｐｅｒ"]
)
def test_one_normal_form_per_tag(text: str) -> None:
    assert normalize_tag(text) == "heartstopper"


@pytest.mark.parametrize("text", ["", "#", "two words", "🎉", "x" * 500, "2022", "heart-stopper"])
def test_bad_tags_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        normalize_tag(text)


@pytest.mark.parametrize(
    ("text", "amount", "sig"),
    [("100K", 100_000, 3), ("3.4M", 3_400_000, 2), ("4.4B", 4_400_000_000, 2), (54, 54, None)],
)
def test_amounts_keep_their_precision(text: str | int, amount: int, sig: int | None) -> None:
    assert parse_amount(text) == (amount, sig)


def test_pages_without_a_source_go_to_the_source_that_takes_pages(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, '[[pages]]\narticle = "Kit_Connor"\n'))
    (page,) = cfg.pages
    # The collector that says it takes pages by default (`default_for`): one, or an error.
    assert page.source == config.default_source("page", _installed())
    (target,) = cfg.targets(page.source)
    assert (target.kind, target.name, target.options) == ("page", "Kit_Connor", ())
    with pytest.raises(ValueError, match="no installed source takes charts by default"):
        config.default_source("chart", _installed())


def test_one_source_at_most_takes_a_kind_by_default() -> None:
    installed = _installed()
    # `tracker hashtags add` without --platform: the source whose `default_for` has hashtags.
    assert config.default_source("hashtag", installed) == "mastodon"

    class Also(installed["x"]):  # type: ignore[misc, valid-type]
        default_for = frozenset({"hashtag"})

    with pytest.raises(ValueError, match="name a source: mastodon, x all take hashtags"):
        config.default_source("hashtag", {**installed, "x": Also})


def _installed() -> dict[str, type]:
    from tracker.collectors import registry

    return dict(registry.available())
