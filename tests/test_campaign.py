"""The shipped campaign end to end: `tracker run --once` on config/tracker.toml, unmodified.

Every source the shipped config can use is pointed at its local fake through the
environment. With the fakes' credentials one round fills every metric the article names
(Instagram followers, TikTok hashtag views, the Netflix chart, Wikipedia pageviews ...), and
`tracker compare` sets them against the campaign's baselines; without credentials the same
command lists each credentialed source as skipped, with the variable to set, and exits 0.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from tests import entry
from tests.conftest import (
    NETFLIX_COUNTRY_COLUMNS,
    NETFLIX_COUNTRY_ROWS,
    NETFLIX_GLOBAL_COLUMNS,
    NETFLIX_GLOBAL_ROWS,
    netflix_tsv,
)
from tests.fakes import x as fake_x
from tests.fakes import youtube as fake_youtube
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.instagram import OWN_ID, FakeInstagram
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.netflix import PREFIX as NETFLIX_PREFIX
from tests.fakes.netflix import FakeNetflix
from tests.fakes.nyt import FakeNYT
from tests.fakes.reddit import FakeReddit
from tests.fakes.server import FakePlatform
from tests.fakes.tiktok import FakeTikTok
from tests.fakes.web import FakeWeb
from tests.fakes.wikipedia import FakeWikimedia
from tests.fakes.wikitop import FakeWikiTop
from tests.fakes.x import FakeX
from tests.fakes.youtube import FakeYouTube
from tracker.store import Database, Store
from tracker.timeutil import day_start, to_epoch

F = TypeVar("F", bound=FakePlatform)
ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config" / "tracker.toml"

# The credentials each fake accepts, by the variable the shipped config names.
INSTAGRAM_TOKEN = "EAAGtest-token-0001"
TIKTOK_RESEARCH = "clt.research-0001"
TIKTOK_MS = "ms-0001"
NYT_KEY = "test-nyt-key"
REDDIT_ID, REDDIT_SECRET = "fake-client-id", "s3cret-0001"
CREDENTIALS = {
    "INSTAGRAM_ACCESS_TOKEN": INSTAGRAM_TOKEN,
    "INSTAGRAM_USER_ID": OWN_ID,
    "X_BEARER_TOKEN": fake_x.TOKEN,
    "TIKTOK_RESEARCH_TOKEN": TIKTOK_RESEARCH,
    "TIKTOK_MS_TOKEN": TIKTOK_MS,
    "YOUTUBE_API_KEY": fake_youtube.KEY,
    "NYT_API_KEY": NYT_KEY,
    "REDDIT_CLIENT_ID": REDDIT_ID,
    "REDDIT_CLIENT_SECRET": REDDIT_SECRET,
}

# The article's figures, as the fakes serve them.
KIT_FOLLOWERS = 3_400_000
JOE_FOLLOWERS = 2_500_000
TIKTOK_VIEWS = 4_400_000_000
TIKTOK_VIDEOS = 61_200
ALICE_FOLLOWERS = 250_000
MASTODON_USES = [7, 30, 12, 5]  # newest first, today first: today's is not stored
MASTODON_ACCOUNTS = [3, 20, 9, 4]
ARTICLES = ("Heartstopper_(TV_series)", "Kit_Connor", "Joe_Locke")
TOP_RANKS = {"Heartstopper_(TV_series)": 3, "Kit_Connor": 12, "Joe_Locke": 40}
MONDAY_18 = datetime(2022, 4, 18, tzinfo=UTC)
MONDAY_25 = datetime(2022, 4, 25, tzinfo=UTC)

# Sources with a target in the shipped config: one line each. The others (bluesky, nyt,
# reddit, web, youtube) have nothing to measure there, are not listed and are never asked.
SOURCES = ("instagram", "mastodon", "netflix", "tiktok", "wikipedia", "wikitop", "x")
RUN_LINES = [
    "instagram: ok — 2 target(s), 4 value(s), 4 new",
    "mastodon: ok — 1 target(s), 6 value(s), 6 new",
    "netflix: ok — 1 target(s), 6 value(s), 6 new",
    "tiktok: ok — 1 target(s), 2 value(s), 2 new",
    "wikipedia: ok — 3 target(s), 90 value(s), 90 new",
    "wikitop: ok — 3 target(s), 9 value(s), 9 new",
    "x: ok — 2 target(s), 7 value(s), 7 new",
]
SKIPPED_LINES = [
    "instagram: skipped — set INSTAGRAM_ACCESS_TOKEN (or sources.instagram.access_token_file)"
    " and INSTAGRAM_USER_ID (or sources.instagram.ig_user_id_file)",
    "mastodon: ok — 1 target(s), 6 value(s), 6 new",
    "netflix: ok — 1 target(s), 6 value(s), 6 new",
    "tiktok: skipped — set TIKTOK_RESEARCH_TOKEN (or sources.tiktok.research_token_file) for"
    " accounts, or TIKTOK_MS_TOKEN (or sources.tiktok.ms_token_file) for hashtags",
    "wikipedia: ok — 3 target(s), 90 value(s), 90 new",
    "wikitop: ok — 3 target(s), 9 value(s), 9 new",
    "x: skipped — set X_BEARER_TOKEN (or sources.x.bearer_token_file)",
]


def pageviews(article: str, day: date) -> int:
    """A distinct, reproducible count per article and day."""
    return 1000 * (ARTICLES.index(article) + 1) + day.toordinal() % 997


def x_posts(day: date) -> int:
    return 40 + day.toordinal() % 17


def top_chart() -> list[str]:
    """A day's top list with the tracked articles at TOP_RANKS (rank = index + 1)."""
    chart = [f"Filler_{i}" for i in range(1, 101)]
    for article, rank in TOP_RANKS.items():
        chart[rank - 1] = article
    return chart


@dataclass
class Fakes:
    """Every platform fake the shipped config can use, started and loaded."""

    bluesky: FakeBluesky
    instagram: FakeInstagram
    mastodon: FakeMastodon
    netflix: FakeNetflix
    nyt: FakeNYT
    reddit: FakeReddit
    tiktok: FakeTikTok
    web: FakeWeb
    wikipedia: FakeWikimedia
    wikitop: FakeWikiTop
    x: FakeX
    youtube: FakeYouTube

    def all(self) -> dict[str, FakePlatform]:
        return dict(vars(self))

    def env(self) -> dict[str, str]:
        """Every URL setting of every source, pointed at its fake."""
        urls = {name: fake.url for name, fake in self.all().items()}
        urls["netflix"] += NETFLIX_PREFIX
        env = {f"TRACKER_SOURCES__{name.upper()}__BASE_URL": url for name, url in urls.items()}
        env["TRACKER_SOURCES__TIKTOK__WEB_URL"] = self.tiktok.url
        env["TRACKER_SOURCES__REDDIT__AUTH_URL"] = self.reddit.url
        return env

    def load(self, today: date) -> None:
        """The default campaign's targets, with the article's figures."""
        self.instagram.add("kit.connor", KIT_FOLLOWERS, media=412)
        self.instagram.add("joelocke03", JOE_FOLLOWERS, media=236)
        self.tiktok.add_tag("heartstopper", TIKTOK_VIEWS, TIKTOK_VIDEOS)
        self.netflix.files["all-weeks-global.tsv"] = netflix_tsv(
            NETFLIX_GLOBAL_COLUMNS, NETFLIX_GLOBAL_ROWS
        ).encode()
        self.netflix.files["all-weeks-countries.tsv"] = netflix_tsv(
            NETFLIX_COUNTRY_COLUMNS, NETFLIX_COUNTRY_ROWS
        ).encode()
        self.mastodon.add_tag("heartstopper", MASTODON_USES, MASTODON_ACCOUNTS, today=today)
        self.x.add("AliceOseman", ALICE_FOLLOWERS)
        # Days on both sides of the 7-day window, so a round near midnight finds them too.
        days = [today - timedelta(days=k) for k in range(-1, 40)]
        self.x.set_daily("heartstopper", {d.isoformat(): x_posts(d) for d in days})
        for article in ARTICLES:
            self.wikipedia.views[("en.wikipedia", article)] = {
                d: pageviews(article, d) for d in days
            }
        for day in days:
            self.wikitop.add_day("en.wikipedia", day, top_chart())


def start_fakes() -> Fakes:
    started: list[FakePlatform] = []

    def up(fake: F) -> F:
        fake.start()
        started.append(fake)
        return fake

    try:
        return Fakes(
            bluesky=up(FakeBluesky()),
            instagram=up(FakeInstagram(token=INSTAGRAM_TOKEN, own_id=OWN_ID)),
            mastodon=up(FakeMastodon()),
            netflix=up(FakeNetflix()),
            nyt=up(FakeNYT(keys=(NYT_KEY,))),
            reddit=up(FakeReddit(REDDIT_ID, REDDIT_SECRET)),
            tiktok=up(FakeTikTok(TIKTOK_RESEARCH, TIKTOK_MS)),
            web=up(FakeWeb()),
            wikipedia=up(FakeWikimedia()),
            wikitop=up(FakeWikiTop()),
            x=up(FakeX(fake_x.TOKEN)),
            youtube=up(FakeYouTube(fake_youtube.KEY)),
        )
    except BaseException:
        for fake in started:
            fake.stop()
        raise


def tracker(
    *args: str, cwd: Path, database_url: str, fakes: Fakes, credentials: bool
) -> subprocess.CompletedProcess[str]:
    """`python -m tracker ARGS` on the shipped config, in an environment built from scratch."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "VIRTUAL_ENV")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env |= {"PYTHONIOENCODING": "utf-8", "COLUMNS": "200", "NO_COLOR": "1"}
    env |= {"TRACKER_CONFIG": str(SHIPPED), "TRACKER_DATABASE_URL": database_url}
    env |= {"TRACKER_HTTP__MAX_ATTEMPTS": "2"}
    env |= fakes.env()
    if credentials:
        env |= CREDENTIALS
    return entry.run(*args, env=env, cwd=cwd)


def compare_rows(text: str) -> dict[tuple[str, str, str], tuple[str, str]]:
    """`tracker compare`: (subject, "platform metric", role) -> (figure and date, verdict line)."""
    lines = text.splitlines()
    out = {}
    for head, body in zip(lines, lines[1:], strict=False):
        found = re.match(r"^(baseline|claim): (.+?) · (.+?) · (.+)$", head)
        if found and body.startswith("  "):
            out[(found[2], found[3], found[1])] = (found[4], body.strip())
    return out


def table_rows(text: str) -> list[list[str]]:
    """The body rows of a Rich table as lists of stripped cells."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]


@dataclass
class Round:
    fakes: Fakes
    database_url: str
    folder: Path  # the run's working directory: its database, WAL and spool are in it
    today: date  # the UTC day the fakes were loaded on
    done: date  # the UTC day the last command finished on
    before: int  # epoch seconds just before the round
    after: int  # and just after it
    run: subprocess.CompletedProcess[str]
    compare: subprocess.CompletedProcess[str]
    bare: subprocess.CompletedProcess[str]  # run --once without credentials
    bare_url: str
    bare_asked: dict[str, int]  # requests each fake got during the run without credentials


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Round]:
    """One round with credentials, `compare` on it, and one round without credentials."""
    folder = tmp_path_factory.mktemp("campaign")
    bare_dir = tmp_path_factory.mktemp("campaign-bare")
    fakes = start_fakes()
    try:
        today = datetime.now(UTC).date()
        fakes.load(today)
        url = f"sqlite:///{folder / 't.db'}"
        before = to_epoch(datetime.now(UTC).replace(microsecond=0))
        run = tracker("run", "--once", cwd=folder, database_url=url, fakes=fakes, credentials=True)
        after = to_epoch(datetime.now(UTC))
        compare = tracker("compare", cwd=folder, database_url=url, fakes=fakes, credentials=False)
        bare_url = f"sqlite:///{bare_dir / 't.db'}"
        asked = {name: len(fake.requests) for name, fake in fakes.all().items()}
        bare = tracker(
            "run", "--once", cwd=bare_dir, database_url=bare_url, fakes=fakes, credentials=False
        )
        bare_asked = {name: len(fake.requests) - asked[name] for name, fake in fakes.all().items()}
        done = datetime.now(UTC).date()
        yield Round(
            fakes, url, folder, today, done, before, after, run, compare, bare, bare_url, bare_asked
        )
    finally:
        for fake in fakes.all().values():
            fake.stop()


def same_day(campaign: Round) -> None:
    """Daily windows (Mastodon's today, Wikipedia's yesterday) move at UTC midnight."""
    if campaign.done != campaign.today:
        pytest.skip("the rounds crossed UTC midnight: the daily windows moved under them")


def values(store: Store, subject: str, source: str, metric: str, **labels: str) -> list[int]:
    (series,) = store.find_series(subject, source, metric, labels or None)
    return [value for _, value in store.history(series.id)]


def test_run_once_with_credentials_fills_every_metric_the_article_names(
    campaign: Round,
) -> None:
    run = campaign.run
    assert run.returncode == 0, run.stderr
    same_day(campaign)
    assert run.stdout.splitlines() == RUN_LINES

    store = Database.open(campaign.database_url)
    try:
        # Instagram: the article's "Kit Connor at 3.4M ... and Joe Locke at 2.5M".
        for subject, followers in (("Kit Connor", KIT_FOLLOWERS), ("Joe Locke", JOE_FOLLOWERS)):
            (series,) = store.find_series(subject, "instagram", "followers")
            ((ts, value),) = store.history(series.id)
            assert value == followers
            assert campaign.before <= ts <= campaign.after
        assert values(store, "Kit Connor", "instagram", "posts") == [412]
        # TikTok: "#heartstopper has now amassed over 4.4B views", exact (statsV2, no sig).
        (views,) = store.find_series("#heartstopper", "tiktok", "hashtag_views")
        ((_, value, period, sig, _),) = store.points(views.id)
        assert (value, period, sig, views.label) == (TIKTOK_VIEWS, None, None, "#heartstopper")
        assert values(store, "#heartstopper", "tiktok", "hashtag_videos") == [TIKTOK_VIDEOS]
        # Netflix: Heartstopper's weekly ranks, one point per chart week (on its Monday).
        global_rank = values(store, "Heartstopper", "netflix", "chart_rank", list="global")
        assert global_rank == [7, 5]
        (series,) = store.find_series("Heartstopper", "netflix", "chart_rank", {"list": "global"})
        assert [ts for ts, _ in store.history(series.id)] == [
            to_epoch(MONDAY_18),
            to_epoch(MONDAY_25),
        ]
        assert values(store, "Heartstopper", "netflix", "chart_rank", list="GB") == [1]
        assert values(store, "Heartstopper", "netflix", "chart_rank", list="BR") == [3]
        # Wikipedia: 30 days of pageviews ending yesterday, per article; and the top-1000 rank
        # on each of the last 3 days.
        end = campaign.today - timedelta(days=1)
        window = [end - timedelta(days=k) for k in reversed(range(30))]
        subjects = ("Heartstopper", "Kit Connor", "Joe Locke")
        for article, subject in zip(ARTICLES, subjects, strict=True):
            (series,) = store.find_series(subject, "wikipedia", "pageviews")
            assert series.label == article
            assert store.history(series.id) == [
                (to_epoch(day_start(d)), pageviews(article, d)) for d in window
            ]
            assert values(store, subject, "wikitop", "chart_rank") == [TOP_RANKS[article]] * 3
        # Mastodon: the tag's three complete days on mastodon.social, oldest first.
        uses = values(store, "#heartstopper", "mastodon", "hashtag_uses")
        accounts = values(store, "#heartstopper", "mastodon", "hashtag_accounts")
        assert (uses, accounts) == (MASTODON_USES[:0:-1], MASTODON_ACCOUNTS[:0:-1])
        # X: Alice Oseman's followers, and six whole days of #heartstopper posts.
        assert values(store, "Alice Oseman", "x", "followers") == [ALICE_FOLLOWERS]
        (posts,) = store.find_series("#heartstopper", "x", "hashtag_posts")
        days = [(datetime.fromtimestamp(ts, UTC).date(), v) for ts, v in store.history(posts.id)]
        assert [d for d, _ in days] == [end - timedelta(days=k) for k in reversed(range(6))]
        assert all(v == x_posts(d) for d, v in days)
        assert sorted((a.source, a.outcome) for a in store.attempts()) == [
            (source, "ok") for source in SOURCES
        ]
    finally:
        store.close()
    # Sources with no target in the shipped config were asked nothing.
    fakes = campaign.fakes
    for fake in (fakes.bluesky, fakes.nyt, fakes.reddit, fakes.web, fakes.youtube):
        assert fake.requests == []


def test_compare_sets_the_measured_followers_against_the_baselines(campaign: Round) -> None:
    result = campaign.compare
    assert result.returncode == 0, result.stderr
    measured_on = datetime.fromtimestamp(campaign.before, UTC).date()
    on = {f"{measured_on:%Y-%m-%d}", f"{campaign.done:%Y-%m-%d}"}
    by_row = compare_rows(result.stdout)
    kit = by_row[("Kit Connor", "instagram followers", "baseline")]
    joe = by_row[("Joe Locke", "instagram followers", "baseline")]
    tiktok = by_row[("#heartstopper", "tiktok hashtag_views", "claim")]
    assert kit[0] == joe[0] == "100K on 2022-03-22 [1]"
    kit_latest = re.fullmatch(r".*; latest: 3\.4M on (\S+) \((.*) against the baseline\)", kit[1])
    joe_latest = re.fullmatch(r".*; latest: 2\.5M on (\S+) \((.*) against the baseline\)", joe[1])
    assert kit_latest and joe_latest, (kit, joe)
    assert {kit_latest[1], joe_latest[1]} <= on
    assert (kit_latest[2], joe_latest[2]) == ("+3,300,000 (+3300.0%)", "+2,400,000 (+2400.0%)")
    # The claims: measured, and the figure agrees with the article's at its precision.
    for claim, figure in (
        (by_row[("Kit Connor", "instagram followers", "claim")], "3.4M"),
        (by_row[("Joe Locke", "instagram followers", "claim")], "2.5M"),
        (tiktok, "4.4B"),
    ):
        assert claim[0] == f"{figure} on 2022-05-20 [1]"
        latest = rf".*; latest: {re.escape(figure)} on (\S+) \((.*) against the claim\)"
        found = re.fullmatch(latest, claim[1])
        assert found and found[1] in on and found[2] in ("±0", "within rounding"), claim
    assert "[1] Netflix renewal announcement, 2022-05-20" in result.stdout


def test_run_once_without_credentials_lists_each_skipped_source_and_exits_0(
    campaign: Round,
) -> None:
    """README "Exit codes": 0 when every source that ran succeeded; a skip is no failure."""
    bare = campaign.bare
    assert bare.returncode == 0, bare.stderr
    same_day(campaign)
    assert bare.stdout.splitlines() == SKIPPED_LINES
    # A skipped source sends nothing: not even a request without its credential.
    assert {name for name, n in campaign.bare_asked.items() if n} == {
        "mastodon",
        "netflix",
        "wikipedia",
        "wikitop",
    }
    store = Database.open(campaign.bare_url)
    try:
        assert store.find_series(source="instagram") == []
        assert store.find_series(source="tiktok") == []
        assert store.find_series(source="x") == []
        assert sorted(a.source for a in store.attempts()) == [
            "mastodon",
            "netflix",
            "wikipedia",
            "wikitop",
        ]
    finally:
        store.close()


def test_no_credential_reaches_the_output_or_the_database(campaign: Round) -> None:
    assert campaign.run.returncode == 0, campaign.run.stderr
    outputs = {"stdout": campaign.run.stdout, "stderr": campaign.run.stderr}
    assert "INFO" in outputs["stderr"]  # the log was written, and read here
    files = [p for p in campaign.folder.rglob("*") if p.is_file()]
    assert campaign.folder / "t.db" in files
    for name, value in CREDENTIALS.items():
        for where, text in outputs.items():
            assert value not in text, f"{name} in the {where} of `tracker run --once`"
        for path in files:
            assert value.encode() not in path.read_bytes(), f"{name} in {path.name}"
