"""`tracker report`: Markdown and HTML with every claim, a PNG chart per series, sources cited."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
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
from tracker.collectors.base import Observation
from tracker.importers import registry as importers
from tracker.importers.base import import_file
from tracker.store import Database

pytest.importorskip("matplotlib", reason="matplotlib (a dependency of `tracker report`) missing")

CONFIG = """\
[[accounts]]
platform = "bluesky"
handle = "kit.bsky.social"
subject = "Kit Connor"

[[charts]]
source = "netflix"
title = "Heartstopper"

[[pages]]
article = "Heartstopper_(TV_series)"
subject = "Heartstopper"

[campaign]
name = "Report Test"
launch = 2022-04-22
events = [{name = "renewal", date = 2022-05-20}]

[[campaign.baselines]]
name = "kit-bluesky-prelaunch"
subject = "Kit Connor"
source = "bluesky"
metric = "followers"
value = 1200
at = 2022-03-22
citation = "Baseline source, 2022-03-22"

[[campaign.claims]]
name = "kit-bluesky"
subject = "Kit Connor"
source = "bluesky"
metric = "followers"
value = "3.6K"
at = 2022-05-20
text = "Kit Connor at 3.6K"
citation = "Claim article, 2022-05-20"

[[campaign.claims]]
name = "two-countries"
subject = "Heartstopper"
source = "netflix"
metric = "countries_in_top10"
value = 2
at = 2022-05-20
text = "Top 10 in 2 countries"
citation = "Claim article, 2022-05-20"

[[campaign.claims]]
name = "kit-instagram"
subject = "Kit Connor"
source = "instagram"
metric = "followers"
value = "3.4M"
at = 2022-05-20
citation = "Claim article, 2022-05-20"

[[campaign.claims]]
name = "sales"
subject = "Heartstopper"
source = "books"
metric = "weekly_sales_change_pct"
value = 1700
at = 2022-05-20
citation = "Claim article, 2022-05-20"
"""
LAUNCH = datetime(2022, 4, 22, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n"


def seed(tmp_path: Path) -> tuple[Path, str]:
    config = tmp_path / "tracker.toml"
    config.write_text(CONFIG, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'report.db'}"
    store = Database.open(url)
    try:
        store.upgrade()
        # Kit: 1,100 a month before launch, +20 a day to 2,000, then +60 a day to 3,580.
        followers = [
            Observation("followers", "did:kit", value, LAUNCH + timedelta(days=day, hours=9),
                        "Kit Connor", "kit.bsky.social")
            for day, value in [(d, 1100 + 20 * (d + 30)) for d in range(-30, 15)]
            + [(d, 2000 + 60 * (d - 14)) for d in range(15, 42)]
        ]  # fmt: skip
        views = [
            Observation("pageviews", "en.wikipedia:Heartstopper_(TV_series)", 50 + 400 * (d >= 0),
                        LAUNCH + timedelta(days=d), "Heartstopper", "Heartstopper_(TV_series)",
                        {"project": "en.wikipedia"}, timedelta(days=1))
            for d in range(-20, 40)
        ]  # fmt: skip
        store.write("bluesky", followers)
        store.write("wikipedia", views)
        loaded = config_module.load(config)
        for name, columns, rows in (
            ("g.tsv", NETFLIX_GLOBAL_COLUMNS, NETFLIX_GLOBAL_ROWS),
            ("c.tsv", NETFLIX_COUNTRY_COLUMNS, NETFLIX_COUNTRY_ROWS),
        ):
            (tmp_path / name).write_text(netflix_tsv(columns, rows), encoding="utf-8")
            import_file(loaded, store, importers.get("netflix-top10"), tmp_path / name, False)
    finally:
        store.close()
    return config, url


def test_report_writes_markdown_html_and_charts(tmp_path: Path) -> None:
    config, url = seed(tmp_path)
    env = tracker_env(config, url)
    out = tmp_path / "out"
    commands = [
        ["report", "report test", "--out", str(out)],
        ["report", "Another campaign", "--out", str(tmp_path / "never")],
    ]
    ok, bad = (entry.run(*args, env=env, cwd=tmp_path) for args in commands)
    (ok_out, ok_err), (bad_out, bad_err) = (ok.stdout, ok.stderr), (bad.stdout, bad.stderr)
    assert ok.returncode == 0, ok_err
    markdown, page = out / "report-test.md", out / "report-test.html"
    assert ok_out == f"wrote {markdown} and {page} (5 chart(s))\n"
    assert bad.returncode == 2 and bad_out == ""
    assert bad_err.startswith("error: CAMPAIGN: no campaign named 'Another campaign'")
    assert not (tmp_path / "never").exists()

    charts = sorted(p.name for p in (out / "charts").iterdir())
    assert len(charts) == 5 and "netflix-countries-heartstopper.png" in charts
    for name in charts:
        data = (out / "charts" / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, name
        from PIL import Image

        with Image.open(out / "charts" / name) as image:
            image.verify()
            assert image.size == (900, 360)

    html = page.read_text(encoding="utf-8")
    assert sorted(re.findall(r'<img src="charts/([^"]+)"', html)) == charts
    text = markdown.read_text(encoding="utf-8")
    assert sorted(re.findall(r"\]\(charts/([^)]+)\)", text)) == charts
    verdicts = {
        "kit-bluesky": "contradicted",  # 2,000 + 60 * 14 = 2,840 on 2022-05-20, not 3.6K
        "two-countries": "confirmed",
        "kit-instagram": "not measurable yet",
        "sales": "not measurable yet",
    }
    for name, verdict in verdicts.items():
        assert re.search(rf"^\| {name}: .* \| \*\*{verdict}\*\* \|", text, re.M), name
        assert f"### {name} — {verdict}" in text
        assert f"<b>{name}</b>" in html
    assert "2.84K (2,840) on 2022-05-20" in text
    # The baselines have a table of their own, with the verdict compare and claims give:
    # 1,100 measured on 2022-03-23 against 1,200 written (exact), then the latest value.
    baselines = text.split("## Baselines", 1)[1].split("## Charts", 1)[0]
    row = (
        r"^\| kit-bluesky-prelaunch \(Kit Connor, bluesky followers\).* \| 1,200 on 2022-03-22 "
        r"\(day -31\) \| \*\*contradicted\*\* \| 1,100 \| 3.62K on 2022-06-02 \|$"
    )
    assert re.search(row, baselines, re.M), baselines
    assert "<h2>Baselines</h2>" in html and "kit-bluesky-prelaunch" in html
    # Every source cited: the claims' and the baseline's citations, and each collector's.
    for cited in ("Claim article, 2022-05-20", "Baseline source, 2022-03-22",
                  "netflix: Netflix Top 10", "bluesky:",
                  "wikipedia: Daily Wikipedia pageviews"):  # fmt: skip
        assert cited in text and cited in html, cited
