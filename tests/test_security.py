"""Security: secrets never leave the process, SQL is bound, secret files are checked.

(a) A known YouTube key and X bearer token, echoed back by the fakes in error answers, never
    appear in anything tracker writes: stdout, stderr, the database file, the spool.
(b) tracker serves no HTTP yet; nothing in it may default to binding every interface.
(c) SQL values go through bound parameters: the only f-strings in SQL splice fixed fragments.
(d) A secret file that other users can read is warned about, naming the file.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Seeded, Sleeps, closed_port, tracker_env
from tests.fakes.server import Reply
from tests.fakes.x import TOKEN, FakeX
from tests.fakes.youtube import KEY, FakeYouTube
from tracker import config as config_module
from tracker import secrets
from tracker.errors import StoreError
from tracker.http import make_client, retry_policy
from tracker.round import Runner
from tracker.spool import Spool
from tracker.store import Database

TRACKER = Path(__file__).resolve().parents[1] / "tracker"
TIMEOUT = 60
PASSWORD = "Sup3rSecretDbPassw0rd"
# The secrets, and fragments distinctive enough that a partial leak is caught too.
NEEDLES = (KEY, TOKEN, KEY[10:30], TOKEN[20:45], PASSWORD)


def _extra(youtube: str, x: str | None = None) -> str:
    text = f"""
[sources.youtube]
base_url = "{youtube}"
jitter = 0

[[accounts]]
platform = "youtube"
handle = "@heartstopper"
id = "UC{"H" * 22}"
subject = "Heartstopper"
"""
    if x is None:
        return text
    return (
        text
        + f"""
[sources.x]
base_url = "{x}"
jitter = 0

[[accounts]]
platform = "x"
handle = "kitconnor"
subject = "Kit Connor"
"""
    )


def _echoes(youtube: FakeYouTube, x: FakeX) -> None:
    """Error answers that repeat the credential back, as careless upstreams do."""
    youtube.fail_next(*[Reply(500, {}, f"backend error for /channels?key={KEY}".encode())] * 2)
    body = {"title": "Unauthorized", "detail": f"token Bearer {TOKEN} is not valid"}
    x.fail_next(Reply.json(body, 401))


def _leaks(data: bytes) -> list[str]:
    return [needle for needle in NEEDLES if needle.encode() in data]


def test_secrets_never_reach_output_logs_database_or_exports(
    seeded: Seeded, tmp_path: Path
) -> None:
    youtube, x = FakeYouTube(), FakeX()
    youtube.start()
    x.start()
    try:
        youtube.add("heartstopper", 1_234_567, channel_id="UC" + "H" * 22)
        x.add("kitconnor", 2_000_000)
        config = seeded.write_config(tmp_path / "t.toml", extra=_extra(youtube.url, x.url))
        db = tmp_path / "t.db"
        env = tracker_env(
            config,
            f"sqlite:///{db}",
            YOUTUBE_API_KEY=KEY,
            X_BEARER_TOKEN=TOKEN,
            TRACKER_SPOOL_DIR=str(tmp_path / "spool"),
        )

        def tracker(*args: str) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run(
                [sys.executable, "-m", "tracker", *args],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                timeout=TIMEOUT,
                check=False,
            )

        _echoes(youtube, x)
        runs = {
            "failing round": tracker("run", "--once", "--log-format", "json"),
            "good round": tracker("run", "--once"),
            "status": tracker("status"),
            "history json": tracker("history", "Kit Connor", "--format", "json"),
            "history csv": tracker("history", "Heartstopper", "--platform", "youtube",
                                   "--format", "csv"),
        }  # fmt: skip
        assert runs["failing round"].returncode == 1
        assert all(r.returncode == 0 for name, r in runs.items() if name != "failing round")
        # The credentials were echoed and then masked, not merely never sent.
        assert b"key=***" in runs["failing round"].stderr
        assert b"token Bearer *** is not valid" in runs["status"].stdout
        assert b'"value":2000000' in runs["history json"].stdout  # compact: not a terminal
        assert len(youtube.requests) == 3 and all(r.param("key") == KEY for r in youtube.requests)
        assert x.requests[-1].headers["authorization"] == f"Bearer {TOKEN}"
        written = {f"{name} {stream}": getattr(r, stream) for name, r in runs.items()
                   for stream in ("stdout", "stderr")}  # fmt: skip
        for path in [*tmp_path.glob("t.db*"), *tmp_path.glob("spool/*")]:
            written[path.name] = path.read_bytes()
        assert db.name in written
        assert {name: _leaks(data) for name, data in written.items() if _leaks(data)} == {}
    finally:
        youtube.stop()
        x.stop()


class _Refusing(Database):
    """A database that is away: neither values nor attempts get in (a round without values
    writes none, so its attempt is what reaches the spool)."""

    def write(self, *args: object, **kwargs: object) -> int:
        raise StoreError("database error: the server closed the connection")

    def record_attempt(self, *args: object, **kwargs: object) -> None:
        raise StoreError("database error: the server closed the connection")


def test_secrets_never_reach_spool_files(
    seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
    youtube = FakeYouTube()
    youtube.start()
    try:
        youtube.add("heartstopper", 1_234_567, channel_id="UC" + "H" * 22)
        youtube.fail_next(*[Reply(500, {}, f"backend error for key={KEY}".encode())] * 2)
        extra = _extra(youtube.url)
        config = config_module.load(seeded.write_config(tmp_path / "t.toml", extra=extra))
        config.spool_dir = str(tmp_path / "spool")
        inner = Database.open(f"sqlite:///{tmp_path / 't.db'}")
        inner.upgrade()
        store = _Refusing(inner.engine)

        async def go() -> None:
            async with make_client(config.http, config.contact) as client:
                policy = retry_policy(config.http, sleep=Sleeps())
                await Runner(config, store, client, policy=policy).run_round()

        asyncio.run(go())
        inner.close()
    finally:
        youtube.stop()
    files = list((tmp_path / "spool").glob("*.jsonl"))
    assert len(files) == 5  # four seeded sources and YouTube, each spooled
    texts = {f.name: f.read_bytes() for f in files}
    assert any(b"key=***" in text for text in texts.values())
    assert {name: _leaks(text) for name, text in texts.items() if _leaks(text)} == {}


def test_a_database_password_stays_out_of_errors_and_spool(tmp_path: Path) -> None:
    url = f"postgresql://tracker:{PASSWORD}@127.0.0.1:{closed_port()}/tracker"
    config = tmp_path / "t.toml"
    config.write_text('contact = "tests@example.org"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "tracker", "--database", url, "status"],
        env=tracker_env(config, url),
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 3 and b"error: " in result.stderr
    assert _leaks(result.stdout + result.stderr) == []
    store = Database.open(url)
    try:
        assert PASSWORD not in Spool.for_store(str(tmp_path), store).database
    finally:
        store.close()


# -- (b) no HTTP server, (c) bound SQL --------------------------------------------------
def _sources() -> list[tuple[Path, str]]:
    return [(p, p.read_text(encoding="utf-8")) for p in sorted(TRACKER.rglob("*.py"))]


def test_nothing_binds_every_interface_by_default() -> None:
    """No HTTP server exists yet; when one comes, it binds 127.0.0.1 unless told otherwise."""
    offenders = [str(p) for p, text in _sources() if "0.0.0.0" in text or '"::"' in text]
    assert offenders == []


# SQL here is written in capitals; messages in ordinary words do not match.
SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|WHERE|VALUES|ORDER BY)\b")
# Fixed SQL fragments an f-string may splice into a statement; values are bound, never spliced.
FRAGMENTS = {
    "conflict",
    "spent",
    "column",
    "' AND '.join(where)",
    "placeholders",  # "(?, ?), (?, ?)": placeholders only
    "self._sudden_predicate",
    "folded",  # the dialect's casefolded-name expression (`tracker.store.models.FOLDED`)
    "self.folded",
}


def test_sql_values_are_only_ever_bound_parameters() -> None:
    spliced: list[str] = []
    for path, text in _sources():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.JoinedStr):
                literal = "".join(
                    v.value
                    for v in node.values
                    if isinstance(v, ast.Constant) and isinstance(v.value, str)
                )
                if SQL.search(literal):
                    for value in node.values:
                        if isinstance(value, ast.FormattedValue):
                            expression = ast.unparse(value.value)
                            if expression not in FRAGMENTS:
                                spliced.append(f"{path.name}:{node.lineno}: {{{expression}}}")
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
                left = node.left
                if isinstance(left, ast.Constant) and isinstance(left.value, str):
                    if SQL.search(left.value):
                        spliced.append(f"{path.name}:{node.lineno}: % formatting")
    assert spliced == []


# -- (d) secret files --------------------------------------------------------------------
@pytest.mark.parametrize(("mode", "warned"), [(0o644, True), (0o640, True), (0o600, False)])
def test_a_secret_file_others_can_read_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int, warned: bool
) -> None:
    path = tmp_path / "x.token"
    path.write_text("tok-" + "s" * 20 + "\n", encoding="utf-8")
    os.chmod(path, mode)
    caplog.set_level(logging.WARNING, logger="tracker.secrets")

    assert secrets.secret("TRACKER_TEST_UNSET_VARIABLE", str(path)) == "tok-" + "s" * 20

    messages = [r.getMessage() for r in caplog.records if r.name == "tracker.secrets"]
    if warned:
        assert messages == [
            f"secret file {path} is readable by other users (mode {mode:o}): chmod 600 it"
        ]
        assert "s" * 20 not in messages[0]
    else:
        assert messages == []
    # Read once, masked everywhere after.
    assert secrets.redact("sent tok-" + "s" * 20) == "sent ***"


def _shapes_of(secret: str) -> dict[str, bytes]:
    """A 500 body echoing the request with the key in each shape careless upstreams use."""
    from urllib.parse import quote

    pad = "x" * 105  # the excerpt is cut at 120 characters: 15 of the key would remain
    return {
        "cut by truncation": f"backend error {pad}{secret} end".encode(),
        "url-encoded": f"bad request /channels?key={quote(secret, safe='')}&part=x".encode(),
        "split across lines": f"echo: {secret[:17]}\n{secret[17:]} end".encode(),
        "json-escaped": ('{"echo": "' + secret.replace("/", "\\/") + '"}').encode(),
        "in part": f"key prefix {secret[3:21]} only".encode(),
    }


@pytest.mark.parametrize("shape", list(_shapes_of(KEY)))
def test_an_echoed_secret_is_masked_in_every_shape(
    seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    from tests.test_round import noon, run_round

    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
    youtube = FakeYouTube().start()
    try:
        youtube.add("heartstopper", 1_234_567, channel_id="UC" + "H" * 22)
        config = config_module.load(
            seeded.write_config(tmp_path / "t.toml", extra=_extra(youtube.url))
        )
        body = _shapes_of(KEY)[shape]
        youtube.fail_next(*[Reply(500, {"Content-Type": "text/plain"}, body)] * 4)
        store = Database.open(f"sqlite:///{tmp_path / 't.db'}")
        store.upgrade()
        report = run_round(config, store, noon(seeded.today), ["youtube"])["youtube"]
        cause = store.attempts("youtube", limit=1)[0].cause
        store.close()
    finally:
        youtube.stop()
    assert report.outcome == "failed" and "HTTP 500" in cause
    assert "*" in cause  # the mask, itself perhaps cut by the excerpt
    shown = [report.line(), cause]
    fragments = [KEY[i : i + 6] for i in range(len(KEY) - 5)]
    assert [(text, f) for text in shown for f in fragments if f in text] == []


def test_two_secrets_sharing_a_run_are_both_masked_whole() -> None:
    # The longer one, masked first, used to cut the shorter one where they share eight
    # characters, and the pieces left (shorter than a run) stayed readable: "Bearer ***xyz789".
    shared = "SHARED12"
    longer = "long-" + shared + "-and-more-of-it"
    shorter = "ab" + shared + "xyz789"
    secrets.remember(longer)
    secrets.remember(shorter)

    assert secrets.redact(f"Authorization: Bearer {shorter}") == "Authorization: Bearer ***"
    assert secrets.redact(f"a {longer} b {shorter} c") == "a *** b *** c"
    # Where they overlap in the text, one mask.
    assert secrets.redact(f"x {longer[:-3]}{shorter} y") == "x *** y"
