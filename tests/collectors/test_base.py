"""The collector base: hooks and their defaults, credentials, the JSON error helpers, the clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from tracker.collectors import registry
from tracker.collectors.base import (
    Collector,
    Credential,
    Parsed,
    Request,
    SourceSettings,
    Target,
    error_json,
    http_error,
    load_object,
    one_line,
)
from tracker.errors import BadPayload, NotFound, RateLimited
from tracker.secrets import fingerprint

FIXED = datetime(2020, 3, 1, 12, 0, tzinfo=UTC)


class PairSettings(SourceSettings):
    base_url: str = "https://pair.example"
    key_env: str = "PAIR_KEY"
    key_file: str | None = None
    user_env: str = "PAIR_USER"
    user_file: str | None = None


class Pair(Collector):
    """A collector with two credentials and every hook left at its default."""

    name: ClassVar[str] = "pair"
    settings_model: ClassVar[type[SourceSettings]] = PairSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"account", "hashtag"})
    credentials: ClassVar[tuple[Credential, ...]] = (Credential("key"), Credential("user"))

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        return []

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        return Parsed()


@pytest.fixture(autouse=True)
def _no_pair_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAIR_KEY", "PAIR_USER", "OTHER_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_missing_names_every_absent_credential_and_where_to_set_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pair = Pair(PairSettings())
    assert pair.missing() == (
        "set PAIR_KEY (or sources.pair.key_file) and PAIR_USER (or sources.pair.user_file)"
    )
    assert pair.credential_id("any") == "anonymous"
    monkeypatch.setenv("PAIR_USER", "someone")
    assert pair.missing() == "set PAIR_KEY (or sources.pair.key_file)"
    secret_file = tmp_path / "key"
    secret_file.write_text("file-secret-1234\n", encoding="utf-8")
    secret_file.chmod(0o600)
    from_file = Pair(PairSettings(key_env="OTHER_KEY", key_file=str(secret_file)))
    assert from_file.missing() is None
    assert from_file.credential("key") == "file-secret-1234"
    # Budgets are kept per the first credential: its fingerprint, never the secret itself.
    assert from_file.credential_id("any") == fingerprint("file-secret-1234")
    assert from_file.need("key") == "OTHER_KEY (or sources.pair.key_file)"


def test_an_optional_credential_is_never_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    class Optional(Pair):
        credentials: ClassVar[tuple[Credential, ...]] = (Credential("key", optional=True),)

    assert Optional(PairSettings()).missing() is None
    assert Optional(PairSettings()).credential_id("any") == "anonymous"
    monkeypatch.setenv("PAIR_KEY", "optional-key-1234")
    assert Optional(PairSettings()).credential_id("any") == fingerprint("optional-key-1234")


def test_the_environment_wins_over_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_file = tmp_path / "key"
    secret_file.write_text("from-the-file", encoding="utf-8")
    monkeypatch.setenv("PAIR_KEY", "from-the-env")
    assert Pair(PairSettings(key_file=str(secret_file))).credential("key") == "from-the-env"


def test_hook_defaults() -> None:
    assert Pair.normalize_handle("  someone ") == "someone"
    assert Pair.normalize_handle("@someone") == "@someone"  # no prefix: the '@' is kept
    for bad in ("", "  ", "two words"):
        with pytest.raises(ValueError, match="one word, not empty"):
            Pair.normalize_handle(bad)
    assert Pair.refusal("account") is None
    assert Pair.refusal("page") == "pair measures account, hashtag only, not pages"
    assert Pair.answers("anything", "key", {}) is True
    assert not Pair.keeps_history() and Pair.default_for == frozenset()
    with pytest.raises(NotImplementedError):
        Pair(PairSettings()).history([], None, FIXED.date())
    assert Pair(PairSettings()).history_start(None) is None


def test_built_in_hooks() -> None:
    installed = registry.available()
    assert {n for n, c in installed.items() if c.keeps_history()} == {"netflix", "nyt", "wikipedia"}
    assert {n for n, c in installed.items() if c.default_for} == {"mastodon", "wikipedia"}
    assert installed["x"].normalize_handle(" @NetflixUK ") == "NetflixUK"
    assert installed["bluesky"].normalize_handle("@Alice.BSKY.social") == "Alice.BSKY.social"
    assert installed["bluesky"].normalize_handle("did:plc:abc123") == "did:plc:abc123"
    with pytest.raises(ValueError, match="a handle like alice.bsky.social, or a DID"):
        installed["bluesky"].normalize_handle("@@bad@@")
    assert installed["mastodon"].normalize_handle("@Bob@Mastodon.Social") == "Bob@mastodon.social"
    with pytest.raises(ValueError, match="user@domain"):
        installed["mastodon"].normalize_handle("bob")
    assert "a hashtag node has only id and name" in (
        installed["instagram"].refusal("hashtag") or ""
    )
    assert installed["web"].answers("variety", "variety-trending-tv:x", {"page": "variety-tv"})
    assert not installed["web"].answers("variety", "other:x", {"page": "billboard-200"})


def test_error_json_reads_only_json_objects() -> None:
    assert error_json(b'{"error": {"code": 4, "message": "slow"}}', "error") == {
        "code": 4,
        "message": "slow",
    }
    assert error_json(b'{"error": "a string"}', "error") == {}
    assert error_json(b'{"reason": "private"}') == {"reason": "private"}
    for body in (b"", b"<html>502 Bad Gateway</html>", b"[1, 2]", b"null", b"\xff\xfe"):
        assert error_json(body) == {} and error_json(body, "error") == {}


def test_load_object_refuses_other_json() -> None:
    assert load_object(b' {"a": 1} ') == {"a": 1}
    with pytest.raises(BadPayload, match="expected a JSON object, got list"):
        load_object(b"[]")
    with pytest.raises(BadPayload, match="HTML where JSON was expected"):
        load_object(b"<!doctype html>")


def test_one_line() -> None:
    assert one_line("  a\n  b\tc ") == "a b c"
    assert one_line(None) == ""
    assert one_line("x" * 500) == "x" * 160
    assert one_line(12345, limit=3) == "123"


def test_the_clock_is_passed_in_for_reset_times() -> None:
    reset = {"ratelimit-reset": str(int(FIXED.timestamp()) + 30)}
    limited = http_error(429, reset, b"", FIXED)
    assert isinstance(limited, RateLimited) and limited.retry_after == 30
    # The collector's own clock, not the wall clock, is what its error() reads.
    pair = Pair(PairSettings(), clock=lambda: FIXED)
    limited = pair.error(429, reset, b"slow down")
    assert isinstance(limited, RateLimited) and limited.retry_after == 30
    assert isinstance(pair.error(404, {}, b""), NotFound) and pair.error(200, {}, b"") is None
