"""Claims computed from series: the pure verdicts, the real Netflix files, and `tracker claims`."""

from __future__ import annotations

import json
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests import entry
from tests.conftest import (
    NETFLIX_COUNTRY_COLUMNS,
    NETFLIX_COUNTRY_ROWS,
    NETFLIX_GLOBAL_COLUMNS,
    NETFLIX_GLOBAL_ROWS,
    netflix_tsv,
    tracker_env,
)
from tracker import config as config_module
from tracker import read
from tracker.claims import (
    CONFIRMED,
    CONTRADICTED,
    NOT_MEASURABLE,
    Claim,
    Point,
    Readiness,
    Series,
    Verdict,
    agrees,
    check,
)
from tracker.core import parse_amount
from tracker.importers import registry as importers
from tracker.importers.base import import_file
from tracker.store import Database, Store
from tracker.store.models import BACKFILLED
from tracker.timeutil import day_start, to_epoch

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config" / "tracker.toml"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "netflix-top10"
COUNTRIES = DATA / "all-weeks-countries.to-2022-11-13.tsv"
GLOBAL_2022 = DATA / "all-weeks-global.2022-05-25.tsv"
real_data = pytest.mark.skipif(
    not COUNTRIES.is_file(), reason=f"real Netflix Top 10 files not found at {DATA}"
)
LAUNCH = date(2022, 4, 22)
READY = Readiness(True, collect="tracker run --once")
WEEK = 7 * 86400


def claim(value: int | str, metric: str = "followers", text: str = "", **kw: object) -> Claim:
    amount, sig = parse_amount(value)
    fields: dict[str, object] = {
        "name": "c", "subject": "Kit Connor", "source": "instagram", "metric": metric,
        "value": amount, "sig": sig, "at": date(2022, 5, 20), "text": text,
    } | kw  # fmt: skip
    return Claim(**fields)  # type: ignore[arg-type]


def at(day: date, hour: int = 12) -> int:
    return to_epoch(day_start(day)) + hour * 3600


def series(points: list[Point], metric: str = "followers", **labels: str) -> Series:
    return Series("instagram", metric, "k", "kit.connor", labels, points)


def weekly(ranks: list[int], first_monday: date, **labels: str) -> Series:
    points = [
        Point(to_epoch(day_start(first_monday + timedelta(weeks=i))), rank, WEEK)
        for i, rank in enumerate(ranks)
    ]
    return Series("netflix", "chart_rank", "x", "Show", labels or {"list": "global"}, points)


def evidence(verdict: Verdict | read.VerdictRecord, what: str) -> list[tuple[date | None, int]]:
    return [(e.end, e.value) for e in verdict.evidence if e.what.startswith(what)]


# -- the figure as the article wrote it ---------------------------------------------------
@pytest.mark.parametrize(
    ("written", "text", "measured", "expected"),
    [
        ("3.4M", "", 3_449_999, True),
        ("3.4M", "", 3_350_000, True),
        ("3.4M", "", 3_450_000, False),  # rounds to 3.5M
        ("3.4M", "", 3_349_999, False),
        ("4.4B", "amassed over 4.4B views", 4_460_000_000, True),
        ("4.4B", "amassed over 4.4B views", 4_399_999_999, False),
        ("4.4B", "amassed over 4.4B views", 4_500_000_000, False),
        (54, "", 54, True),
        (54, "", 55, False),
        (54, "in over 54 countries", 55, True),
    ],
)
def test_a_figure_agrees_within_the_rounding_the_article_used(
    written: int | str, text: str, measured: int, expected: bool
) -> None:
    assert agrees(claim(written, text=text), measured) is expected


def test_a_rounded_measurement_agrees_when_its_rounding_reaches_the_claim() -> None:
    # YouTube-style 3 significant figures: 3.46M may be 3.455M .. 3.465M; 3.455M is not 3.4M.
    assert not agrees(claim("3.4M"), 3_460_000, 3)
    assert agrees(claim("3.4M"), 3_450_000, 3)


def test_follower_claim_uses_the_value_nearest_the_claim_date() -> None:
    points = [
        Point(at(date(2022, 5, 1)), 1_900_000),
        Point(at(date(2022, 5, 19)), 3_380_000, flags=BACKFILLED),
        Point(at(date(2022, 5, 30)), 3_600_000),
    ]
    verdict = check(claim("3.4M"), LAUNCH, [series(points)], READY)
    assert (verdict.status, verdict.measured) == (CONFIRMED, 3_380_000)
    ((shown),) = verdict.evidence
    assert (shown.start, shown.value, shown.backfilled) == (date(2022, 5, 19), 3_380_000, True)

    wrong = check(claim("2.5M"), LAUNCH, [series(points)], READY)
    assert (wrong.status, wrong.measured) == (CONTRADICTED, 3_380_000)
    assert "3.38M" in wrong.summary


def test_a_value_far_from_the_claim_date_is_not_evidence() -> None:
    points = [Point(at(date(2026, 11, 1)), 3_400_000)]
    verdict = check(claim("3.4M"), LAUNCH, [series(points)], READY)
    assert (verdict.status, verdict.measured) == (NOT_MEASURABLE, None)
    assert "2026-11-01" in verdict.summary and verdict.action == "tracker run --once"


def test_weeks_at_number_one_counts_the_run_up_to_the_claim_date() -> None:
    may_15 = claim(4, "weeks_at_number_one", source="variety", at=date(2022, 5, 15))
    # Weeks starting 2022-04-11 .. 2022-05-16: 2, 1, 1, 1, 1, then 1 again after the claim.
    four = weekly([2, 1, 1, 1, 1, 1], date(2022, 4, 11))
    verdict = check(may_15, LAUNCH, [four], READY)
    assert (verdict.status, verdict.measured) == (CONFIRMED, 4)
    assert evidence(verdict, "rank") == [
        (date(2022, 4, 17), 2),
        (date(2022, 4, 24), 1),
        (date(2022, 5, 1), 1),
        (date(2022, 5, 8), 1),
        (date(2022, 5, 15), 1),
    ]
    three = weekly([1, 3, 1, 1, 1], date(2022, 4, 11))
    assert check(may_15, LAUNCH, [three], READY).measured == 3
    assert check(may_15, LAUNCH, [three], READY).status == CONTRADICTED
    # A run that starts with the first week recorded may be longer than what is stored.
    unknown = check(may_15, LAUNCH, [weekly([1, 1], date(2022, 5, 2))], READY)
    assert unknown.status == NOT_MEASURABLE
    assert "no week before it is recorded" in unknown.summary


def test_countries_short_of_the_claim_wait_for_more_weeks() -> None:
    top10 = claim(3, "countries_in_top10", source="netflix")
    gb = weekly([4], date(2022, 4, 25), list="GB")
    one_week = check(top10, LAUNCH, [gb], READY)
    assert one_week.status == NOT_MEASURABLE and "stored weeks end on 2022-05-01" in (
        one_week.summary
    )
    later = [gb, weekly([9, 9, 9, 9], date(2022, 4, 25), list="BR")]
    done = check(top10, LAUNCH, later, READY)
    assert (done.status, done.measured) == (CONTRADICTED, 2)
    assert evidence(done, "countries") == [
        (date(2022, 5, 1), 2), (date(2022, 5, 8), 1), (date(2022, 5, 15), 1),
        (date(2022, 5, 22), 1),
    ]  # fmt: skip


def test_sales_claims_have_no_public_source() -> None:
    sales = claim(1700, "weekly_sales_change_pct", source="books")
    verdict = check(sales, LAUNCH, [], Readiness(False))
    assert verdict.status == NOT_MEASURABLE and verdict.summary.startswith("no public source")


# -- the real Netflix files: "The series reached the Netflix Top Ten list in 54 countries" --
@real_data
def test_54_countries_confirmed_from_the_real_files(store: Store) -> None:
    config = config_module.load(SHIPPED)
    for path in (COUNTRIES, GLOBAL_2022):
        assert import_file(config, store, importers.get("netflix-top10"), path, False).stored
    verdicts = {v.name: v for v in read.claims(config, store, "Heartstopper")}
    top10 = verdicts["netflix-top10-countries"]
    assert (top10.verdict, top10.measured) == (CONFIRMED, 54)
    sundays = [date(2022, 4, 24) + timedelta(weeks=i) for i in range(5)]
    counts = list(zip(sundays, [12, 54, 22, 3, 2], strict=True))
    assert evidence(top10, "countries in the Top 10") == counts
    ranks = list(zip(sundays[:3], [7, 5, 6], strict=True))
    assert evidence(top10, "global rank, TV (English)") == ranks
    # Nothing else is confirmed without measurements behind it.
    assert {name for name, v in verdicts.items() if v.verdict != NOT_MEASURABLE} == {
        "netflix-top10-countries"
    }


def test_claims_needing_credentials_name_the_setting(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("INSTAGRAM_ACCESS_TOKEN", "INSTAGRAM_USER_ID", "TIKTOK_MS_TOKEN",
                 "TIKTOK_RESEARCH_TOKEN", "YOUTUBE_API_KEY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    config = config_module.load(SHIPPED)
    verdicts = {v.name: v for v in read.claims(config, store)}
    kit = verdicts["kit-connor-instagram"]
    assert kit.verdict == NOT_MEASURABLE and kit.summary.startswith("needs credentials")
    assert kit.action.startswith("set INSTAGRAM_ACCESS_TOKEN")
    assert "TIKTOK_MS_TOKEN" in verdicts["heartstopper-tiktok-views"].action
    # A claim on a source with nothing collected yet says which command collects it.
    top10 = verdicts["netflix-top10-countries"]
    assert top10.summary.startswith("not collected yet")
    assert top10.action.startswith("tracker backfill netflix --since 2022-03-23")

    youtube = claim("1.2M", source="youtube", name="yt", subject="Kit Connor")
    ready = read.readiness(config, youtube, LAUNCH)
    verdict = check(youtube, LAUNCH, [], ready)
    assert verdict.summary.startswith("needs credentials")
    assert verdict.action == "set YOUTUBE_API_KEY (or sources.youtube.api_key_file)"


# -- tracker claims ---------------------------------------------------------------------
CAMPAIGN = """\
[[charts]]
source = "netflix"
title = "Heartstopper"

[campaign]
name = "Small"
launch = 2022-04-22

[[campaign.claims]]
name = "two-countries"
subject = "Heartstopper"
source = "netflix"
metric = "countries_in_top10"
value = 2
at = 2022-05-20
text = "in the Top 10 of 2 countries"
citation = "A test article"

[[campaign.claims]]
name = "sales"
subject = "Heartstopper"
source = "books"
metric = "weekly_sales_change_pct"
value = 1700
at = 2022-05-20
"""


def test_claims_command_table_and_json(tmp_path: Path) -> None:
    config = tmp_path / "tracker.toml"
    config.write_text(CAMPAIGN, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 't.db'}"
    store = Database.open(url)
    store.upgrade()
    loaded = config_module.load(config)
    for name, columns, rows in (
        ("g.tsv", NETFLIX_GLOBAL_COLUMNS, NETFLIX_GLOBAL_ROWS),
        ("c.tsv", NETFLIX_COUNTRY_COLUMNS, NETFLIX_COUNTRY_ROWS),
    ):
        (tmp_path / name).write_text(netflix_tsv(columns, rows), encoding="utf-8")
        import_file(loaded, store, importers.get("netflix-top10"), tmp_path / name, False)
    store.close()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return entry.run(*args, env=tracker_env(config, url), cwd=tmp_path)

    table = cli("claims")
    assert table.returncode == 0, table.stderr
    rows = [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in table.stdout.splitlines()
        if line.startswith("│")
    ]
    assert rows == [
        ["1", "two-countries", "2 on 2022-05-20", CONFIRMED, "2"],
        ["2", "sales", "1,700 on 2022-05-20", NOT_MEASURABLE, "—"],
    ]
    assert "week ending 2022-05-01" in table.stdout and "countries in the Top 10: 2" in table.stdout
    assert '"in the Top 10 of 2 countries" — A test article' in table.stdout

    document = json.loads(cli("claims", "small", "--format", "json").stdout)
    assert (document["schema"], document["kind"]) == ("tracker.read/1", "claims")
    data = document["claims"]
    assert [(c["name"], c["verdict"], c["measured"]) for c in data] == [
        ("two-countries", CONFIRMED, 2),
        ("sales", NOT_MEASURABLE, None),
    ]
    assert [(e["end"], e["value"]) for e in data[0]["evidence"]] == [
        ("2022-05-01", 2), ("2022-04-24", 7), ("2022-05-01", 5),
    ]  # fmt: skip

    wrong = cli("claims", "Other")
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: CAMPAIGN: no campaign named")
    bad = cli("claims", "--format", "xml")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --format: 'xml'")
