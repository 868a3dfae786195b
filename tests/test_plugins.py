"""A platform lives in its plugin.

The proof: Chirp, a platform tracker has never heard of, is one module plus entry points
under tests/plugins/chirp/ (a dist-info on PYTHONPATH, as `pip install` would leave it). With
no edit under tracker/, it collects from its fake over a real socket, backfills, is accepted
or refused by `tracker accounts add` / `tracker hashtags add` with its own reasons, answers a
claim that names it by another name, and appears in `compare` and `report`.

Also: a plugin that fails to import is reported and skipped while the other sources run; a
config that uses it is refused naming it; and no platform's name appears in tracker/
outside the collectors and importers.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import ClassVar

import pytest

from tests import entry
from tests.conftest import tracker_env
from tests.fakes.chirp import TOKEN, FakeChirp, followers
from tracker import config as config_module
from tracker.collectors import registry
from tracker.collectors.base import Collector, Credential, Parsed, Request, SourceSettings
from tracker.errors import ConfigError
from tracker.importers import registry as importers

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = Path(__file__).resolve().parent / "plugins"
CHIRP, BROKEN = PLUGINS / "chirp", PLUGINS / "broken"
BROKEN_CAUSE = "ModuleNotFoundError: No module named 'tracker_no_such_dependency'"


class Cli:
    """`tracker` with the plugins in `paths` importable, as if pip-installed: in this process
    (the folders put on sys.path, the registries rescanned), or with `child` in a real
    `python -m tracker` with the folders on its PYTHONPATH."""

    def __init__(
        self, cwd: Path, config: Path, database_url: str, *paths: Path, child: bool = False
    ) -> None:
        self.cwd, self.config, self.database_url = cwd, config, database_url
        self.paths, self.child = paths, child
        self.env = tracker_env(config, database_url, CHIRP_TOKEN=TOKEN)
        inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
        self.env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), *inherited])

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        if not self.child:
            return entry.run(*args, env=self.env, cwd=self.cwd, plugins=self.paths)
        return subprocess.run(
            [sys.executable, "-m", "tracker", *args],
            env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=120,
        )  # fmt: skip


@pytest.fixture
def chirp() -> Iterator[FakeChirp]:
    fake = FakeChirp()
    fake.add("kitconnor", "c-1", base=1000)
    fake.add("joelocke", "c-2", base=500)
    fake.start()
    yield fake
    fake.stop()


def campaign(url: str, today: date) -> str:
    launch, claimed = today - timedelta(days=20), today - timedelta(days=10)
    before = launch - timedelta(days=10)
    return f"""\
contact = "tests@example.org"

[http]
timeout = 2.0
connect_timeout = 1.0
max_attempts = 1
max_wait = 1.0

[sources.chirp]
# The third party's settings validate like the built-in ones.
base_url = "{url}"
calls_per_hour = 50

[campaign]
name = "Chirp launch"
launch = {launch}

[[campaign.baselines]]
name = "kit-chirp-prelaunch"
subject = "Kit Connor"
source = "chirp"
metric = "followers"
value = {followers(before)}
at = {before}
citation = "A pre-launch count"

[[campaign.claims]]
name = "kit-chirper"
subject = "Kit Connor"
source = "chirper"
metric = "followers"
value = {followers(claimed)}
at = {claimed}
text = "Kit Connor now has {followers(claimed)} followers on Chirper"
citation = "A press release"
"""


def test_a_new_platform_is_one_module_and_its_entry_points(
    chirp: FakeChirp, tmp_path: Path, database_url: str
) -> None:
    today = datetime.now(UTC).date()
    config = tmp_path / "tracker.toml"
    config.write_text(campaign(chirp.url, today), encoding="utf-8")
    cli = Cli(tmp_path, config, database_url, CHIRP)

    # accounts add / hashtags add: the plugin's handle form and its own reasons.
    added = cli("accounts", "add", "chirp", "~KitConnor", "--subject", "Kit Connor")
    assert added.returncode == 0, added.stderr
    assert '\nplatform = "chirp"\nhandle = "kitconnor"\nsubject = "Kit Connor"\n' in (
        config.read_text(encoding="utf-8")
    )
    before = config.read_bytes()
    bad_handle = cli("accounts", "add", "chirp", "~kit.connor", "--subject", "Kit")
    assert bad_handle.returncode == 2
    assert bad_handle.stderr == (
        "error: handle '~kit.connor' refused: a Chirp handle is ~name: "
        "1 to 20 letters, digits or _\n"
    )
    tag = cli("hashtags", "add", "heartstopper", "--platform", "chirp")
    assert tag.returncode == 2
    assert tag.stderr == (
        "error: platform 'chirp' refused: Chirp has no hashtags: its posts are grouped in "
        "rooms, never tagged\n"
    )
    assert config.read_bytes() == before

    # A round: its own fake, over a real socket, with its own credential.
    run = cli("run", "--once")
    assert (run.returncode, run.stdout) == (
        0, "chirp: ok — 1 target(s), 1 value(s), 1 new\n"
    ), run.stderr  # fmt: skip
    (seen,) = chirp.requests
    assert (seen.path, seen.param("names")) == ("/v1/users", "kitconnor")
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"

    # Backfill: from its own default start (30 days before the launch) to yesterday.
    since = today - timedelta(days=50)
    filled = cli("backfill", "chirp")
    assert (filled.returncode, filled.stdout) == (
        0,
        f"chirp since {since}: 1 request(s), 0 skipped (already stored), 0 without data; "
        "50 value(s), 50 new (flagged backfilled)\n",
    ), filled.stderr
    history = chirp.requests[-1]
    assert history.path == "/v1/users/kitconnor/history"
    assert history.query == [("from", str(since)), ("to", str(today - timedelta(days=1)))]
    other = cli("backfill", "bluesky")
    assert other.returncode == 2 and "(backfill knows chirp, netflix, nyt, wikipedia)" in (
        other.stderr
    )

    # Claims: the claim calls the platform "chirper", one of the plugin's aliases.
    claims = cli("claims", "--format", "json")
    assert claims.returncode == 0, claims.stderr
    (verdict,) = json.loads(claims.stdout)["claims"]
    claimed = today - timedelta(days=10)
    assert (verdict["name"], verdict["verdict"], verdict["measured"]) == (
        "kit-chirper", "confirmed", followers(claimed)
    )  # fmt: skip
    assert [e["backfilled"] for e in verdict["evidence"]] == [True]

    # Compare: the baseline and the claim, each against the latest value collected.
    compared = cli("compare")
    assert compared.returncode == 0, compared.stderr
    lines = compared.stdout.splitlines()
    rows = [(head, body) for head, body in zip(lines, lines[1:], strict=False) if "Kit" in head]
    assert len(rows) == 2 and all("not measured yet" not in body for _, body in rows), rows
    assert "chirp followers" in rows[0][0] and "chirper followers" in rows[1][0]

    # Report: a chart of the series, and the collector cited with its own description.
    out = tmp_path / "report"
    report = cli("report", "Chirp launch", "--out", str(out))
    assert report.returncode == 0, report.stderr
    text = (out / "chirp-launch.md").read_text(encoding="utf-8")
    assert "### kit-chirper — confirmed" in text
    assert f"chirp: Chirp followers via the v1 users API {chirp.url}" in text
    charts = [p.name for p in (out / "charts").iterdir()]
    assert len(charts) == 1 and charts[0].startswith("chirp-followers-")

    # Its importer: listed from the group beside the built-in one, and loading a file.
    listed = cli("import", "--help")
    assert listed.returncode == 0, listed.stderr
    commands = " ".join(listed.stdout.split("Commands:\n")[1].split())
    assert re.findall(r"\b[\w-]+(?=  )", listed.stdout.split("Commands:\n")[1]) == [
        "chirp-export", "netflix-top10"
    ]  # fmt: skip
    assert "chirp-export A Chirp data export (CSV: id,name,day,followers) (source chirp)" in (
        commands
    )
    unknown = cli("import", "nope", "x.csv")
    assert unknown.returncode == 2 and "No such command 'nope'" in unknown.stderr
    export = tmp_path / "export.csv"
    export.write_text(
        "id,name,day,followers\nc-1,kitconnor,2019-06-01,900\nc-1,kitconnor,2019-06-02,x\n"
        "c-9,someone,2019-06-01,5\n",
        encoding="utf-8",
    )
    loaded = cli("import", "chirp-export", str(export))
    assert (loaded.returncode, loaded.stdout) == (
        0,
        "export.csv: 2 row(s) read: 1 stored, 0 already present, 1 refused (malformed row(s): 1)\n",
    ), loaded.stderr
    history_of = cli("history", "Kit Connor", "--platform", "chirp", "--format", "csv")
    assert "2019-06-01" in history_of.stdout and ",900," in history_of.stdout


def test_a_plugin_that_fails_to_import_is_skipped_and_the_others_run(
    chirp: FakeChirp, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    config = tmp_path / "tracker.toml"
    text = campaign(chirp.url, datetime.now(UTC).date())
    account = '\n[[accounts]]\nplatform = "chirp"\nhandle = "kitconnor"\nsubject = "Kit Connor"\n'
    config.write_text(text + account, encoding="utf-8")
    # The round in one real process (a fresh interpreter meets the failing import), the rest
    # in this process with the same plugin folders.
    run = Cli(tmp_path, config, url, BROKEN, CHIRP, child=True)("run", "--once")
    cli = Cli(tmp_path, config, url, BROKEN, CHIRP)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        f"brokenbird: skipped — its plugin failed to load: broken_plugin:BrokenCollector: "
        f"{BROKEN_CAUSE}",
        "chirp: ok — 1 target(s), 1 value(s), 1 new",
    ]
    assert "collector 'brokenbird' skipped: its plugin failed to load" in run.stderr

    refused = cli("accounts", "add", "brokenbird", "someone", "--subject", "S")
    assert refused.returncode == 2
    assert "platform 'brokenbird' refused: its plugin failed to load: " in refused.stderr
    for extra, key in (
        ('\n[[accounts]]\nplatform = "brokenbird"\nhandle = "a"\nsubject = "A"\n', "accounts[1]"),
        ('\n[sources.brokenbird]\nbase_url = "https://b.example"\n', "sources.brokenbird"),
    ):
        config.write_text(text + account + extra, encoding="utf-8")
        used = cli("run", "--once")
        assert used.returncode == 2 and used.stdout == ""
        assert used.stderr.splitlines()[-1] == (
            f"error: {config}: {key}{'.platform' if key.startswith('acc') else ''}: the "
            f"'brokenbird' plugin failed to load: broken_plugin:BrokenCollector: {BROKEN_CAUSE}"
        )


def test_hashtags_without_a_platform_go_to_the_source_that_takes_them(tmp_path: Path) -> None:
    config = tmp_path / "tracker.toml"
    config.write_text('contact = "tests@example.org"\n', encoding="utf-8")
    added = Cli(tmp_path, config, f"sqlite:///{tmp_path / 't.db'}")("hashtags", "add", "#Tag")
    assert (added.returncode, added.stdout) == (0, "tracking #tag (mastodon)\n"), added.stderr
    assert 'platforms = ["mastodon"]' in config.read_text(encoding="utf-8")


# -- the registry, in process -----------------------------------------------------------
@pytest.fixture
def rescan() -> Iterator[None]:
    """Let a test change what the registries find; the next test sees the real ones."""
    registry.clear()
    importers.clear()
    yield
    registry.clear()
    importers.clear()


def test_registry_keeps_a_broken_plugin_apart(
    monkeypatch: pytest.MonkeyPatch, rescan: None
) -> None:
    monkeypatch.syspath_prepend(str(BROKEN))
    assert "brokenbird" in registry.broken() and "brokenbird" not in registry.available()
    assert "bluesky" in registry.available()
    with pytest.raises(ConfigError, match=r"the 'brokenbird' plugin failed to load: .*tracker_no"):
        registry.get("brokenbird")
    config = config_module.load(ROOT / "config" / "tracker.toml")  # the shipped config loads
    assert "brokenbird" not in config.source_settings


class _Settings(SourceSettings):
    base_url: str = "https://odd.example"
    token_env: str = "ODD_TOKEN"  # but no token_file


class OddCollector(Collector):
    """Declares a credential its settings cannot hold."""

    name: ClassVar[str] = "odd"
    settings_model: ClassVar[type[SourceSettings]] = _Settings
    kinds: ClassVar[frozenset[str]] = frozenset({"account"})
    credentials: ClassVar[tuple[Credential, ...]] = (Credential("token"),)

    def plan(self, targets: object) -> list[Request]:
        return []

    def parse(self, request: Request, body: bytes, at: object) -> Parsed:
        return Parsed()


class NotACollector:
    pass


def test_registry_checks_each_plugin_type(monkeypatch: pytest.MonkeyPatch, rescan: None) -> None:
    entries = [
        EntryPoint("odd", f"{__name__}:OddCollector", registry.GROUP),
        EntryPoint("plain", f"{__name__}:NotACollector", registry.GROUP),
        EntryPoint("real", "tracker.collectors.bluesky:BlueskyCollector", registry.GROUP),
    ]
    monkeypatch.setattr(registry, "entry_points", lambda group: entries)
    assert list(registry.available()) == ["real"]
    assert registry.broken() == {
        "odd": f"{__name__}:OddCollector: TypeError: its settings lack token_file, "
        "which the credential 'token' reads",
        "plain": f"{__name__}:NotACollector: TypeError: not a Collector subclass",
    }


# -- no platform's name outside its plugin ------------------------------------------------
PLATFORMS = re.compile(
    r"\b(bluesky|bsky|mastodon|wikipedia|wikimedia|wikitop|netflix|youtube|x\.com|twitter|"
    r"nyt|nytimes|instagram|tiktok|reddit|variety)\b",
    re.IGNORECASE,
)
OWN = ("collectors", "importers")
# Names, strings and comments; f-strings' text parts are tokens of their own from 3.12 on.
SCANNED = {
    tokenize.NAME,
    tokenize.STRING,
    tokenize.COMMENT,
    getattr(tokenize, "FSTRING_MIDDLE", -1),
}


def _docstrings(tree: ast.AST) -> set[int]:
    """Line numbers where a module, class or function docstring starts."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    lines.add(body[0].lineno)
    return lines


def test_no_platform_is_named_outside_the_collectors_and_importers() -> None:
    """Code, strings and comments: a platform is named in its plugin only. Docstrings may
    show a command with a real source as an example, and a shipped config (`*.toml`, the
    starter `tracker init` writes) names the sources it configures."""
    found = []
    for path in sorted((ROOT / "tracker").rglob("*")):
        relative = path.relative_to(ROOT / "tracker")
        if not path.is_file() or relative.parts[0] in OWN or "__pycache__" in relative.parts:
            continue
        if path.suffix == ".toml":
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix != ".py":
            found += [f"{relative}: {m.group(0)}" for m in PLATFORMS.finditer(text)]
            continue
        docstrings = _docstrings(ast.parse(text))
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING and token.start[0] in docstrings:
                continue
            if token.type in SCANNED:
                found += [
                    f"{relative}:{token.start[0]}: {token.string.strip()}"
                    for _ in PLATFORMS.finditer(token.string)
                ]
    assert found == []


def test_the_http_layer_does_not_know_the_collectors() -> None:
    tree = ast.parse((ROOT / "tracker" / "http.py").read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported and not any(name.startswith("tracker.collectors") for name in imported)
