"""Web pages: rules and number reading on a fixture article, then the round trip over sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tests.fakes.web import FakeWeb, article
from tracker.collectors.base import Parsed, Target
from tracker.collectors.web import (
    PageRule,
    WebPageCollector,
    WebSettings,
    explain,
    read_number,
)
from tracker.errors import BadPayload, ConfigError, NotFound, SourceError

AT = datetime(2022, 5, 17, 8, 0, tzinfo=UTC)
PAYLOADS = Path(__file__).parent / "payloads" / "web"
PAGE = (PAYLOADS / "trending_tv.html").read_bytes()
# Variety's real article of 2022-05-23 in Variety's markup (origin: payloads/web/SOURCES.md).
VARIETY_PAGE = (PAYLOADS / "variety_2022-05-23_trending_tv.html").read_bytes()
URL = "https://variety.com/2022/tv/news/trending-tv-fixture/"
# The brief's example, for Variety's prose.
VARIETY = (
    r"(?P<title>Heartstopper)[^.]*?claimed the (?P<rank>top|No\. \d+) spot[^.]*?"
    r"(?P<value>[\d.]+) million engagements"
)
# One rule for every title: `{title}` is replaced by each target's title.
PROSE = (
    r"(?P<title>{title})[^.]*?claimed the (?P<rank>top|No\. \d+) spot[^.]*?"
    r"(?P<value>[\d.,]+)\s(?:million |thousand )?engagements"
)


def rule(name: str = "variety-trending-tv", **fields: Any) -> dict[str, Any]:
    return {"name": name, "url": URL, **fields}


def chart(title: str, page: str = "", subject: str = "") -> Target:
    return Target("chart", title, subject or title, (("page", page),) if page else ())


def collector(*rules: dict[str, Any], **settings: Any) -> WebPageCollector:
    return WebPageCollector(WebSettings(pages=list(rules), **settings))


def parse(c: WebPageCollector, targets: Sequence[Target], body: bytes = PAGE) -> Parsed:
    (request,) = c.plan(targets)
    return c.parse(request, body, AT)


def values(parsed: Parsed) -> dict[tuple[str, str], tuple[int, int | None]]:
    return {(o.key, o.metric): (o.value, o.sig) for o in parsed.observations}


# -- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, after, expected",
    [
        ("top", "", (1, None)),
        ("the top", "", (1, None)),
        ("No. 3", "", (3, None)),
        ("No.3", "", (3, None)),
        ("#12", "", (12, None)),
        ("3rd", "", (3, None)),
        ("815,000", " engagements", (815000, None)),
        ("1.28", " million engagements", (1280000, 3)),
        ("1.28 million", "", (1280000, 3)),
        ("1.28M", "", (1280000, 3)),
        ("640K", "", (640000, 3)),
        ("4.4B", "", (4400000000, 2)),
        ("2 million", "", (2000000, 1)),
        # "th" starts "thousand": a scale word, not an ordinal suffix ('2 thousand' once read 2).
        ("2 thousand", "", (2000, 1)),
        ("2Thousand", "", (2000, 1)),
        ("the 3rd week", "", (3, None)),
        ("1.5", " thousand", (1500, 2)),
        ("first", "", (1, None)),
        ("second", "", (2, None)),
        ("the second spot", "", (2, None)),
        ("Third", "", (3, None)),
        ("fourth", "", (4, None)),
        ("fifth", "", (5, None)),
        ("sixth", "", (6, None)),
        ("seventh", "", (7, None)),
        ("eighth", "", (8, None)),
        ("ninth", "", (9, None)),
        ("tenth", "", (10, None)),
        ("number one", "", (1, None)),
        ("1st", "", (1, None)),
        ("2nd", "", (2, None)),
        ("No. 2", "", (2, None)),
        ("#2", "", (2, None)),
    ],
)
def test_read_number(text: str, after: str, expected: tuple[int, int | None]) -> None:
    assert read_number(text, after) == expected


@pytest.mark.parametrize(
    "text", ["", "none", "1.5", "1.2345 thousand", "N/A", "secondary", "eleventh", "seconds"]
)
def test_read_number_refuses_what_is_not_a_whole_number(text: str) -> None:
    with pytest.raises(ValueError, match=r"^no number in '.*'$|^'.*' is not a whole number$"):
        read_number(text)


# -- parse ----------------------------------------------------------------------------


def test_the_example_pattern_reads_variety_prose_with_its_precision() -> None:
    c = collector(rule(pattern=VARIETY, extra_metrics={"engagements": "value"}))
    parsed = parse(c, [chart("Heartstopper")])
    assert parsed.failures == {}
    assert values(parsed) == {
        ("variety-trending-tv:heartstopper", "chart_rank"): (1, None),
        ("variety-trending-tv:heartstopper", "engagements"): (1280000, 3),
    }
    o = parsed.observations[0]
    assert (o.at, o.period, o.label, o.labels) == (
        AT,
        None,
        "Heartstopper",
        {"page": "variety-trending-tv"},
    )


def test_one_rule_reads_every_title_and_a_missing_one_fails_not_zero() -> None:
    c = collector(rule(pattern=PROSE, extra_metrics={"engagements": "value"}))
    targets = [chart(t) for t in ("heartstopper", "Ozark", "Stranger Things", "Bridgerton")]
    parsed = parse(c, targets)
    assert values(parsed) == {
        ("variety-trending-tv:heartstopper", "chart_rank"): (1, None),
        ("variety-trending-tv:heartstopper", "engagements"): (1280000, 3),
        ("variety-trending-tv:ozark", "chart_rank"): (2, None),
        ("variety-trending-tv:ozark", "engagements"): (815000, None),
        ("variety-trending-tv:stranger things", "chart_rank"): (3, None),
        ("variety-trending-tv:stranger things", "engagements"): (640000, 3),
    }
    assert list(parsed.failures) == ["Bridgerton"]
    assert parsed.failures["Bridgerton"].startswith("nothing matched (?P<title>")


def test_title_group_filters_matches_of_a_general_pattern() -> None:
    general = r"(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+)*) (?P<rank>\d+) "
    c = collector(rule(selector="aside", pattern=general, title_group="name"))
    parsed = parse(c, [chart("Stranger Things"), chart("Ozark")])
    assert values(parsed) == {
        ("variety-trending-tv:stranger things", "chart_rank"): (3, None),
        ("variety-trending-tv:ozark", "chart_rank"): (2, None),
    }


def test_a_selector_reads_the_matched_element() -> None:
    selector = "ol.chart li:-soup-contains({title}) .engagements"
    c = collector(rule(selector=selector, metric="engagements"))
    parsed = parse(c, [chart("Heartstopper"), chart("Ozark"), chart("Bridgerton")])
    assert values(parsed) == {
        ("variety-trending-tv:heartstopper", "engagements"): (1280000, 3),
        ("variety-trending-tv:ozark", "engagements"): (815000, None),
    }
    assert parsed.failures == {
        "Bridgerton": 'nothing matched ol.chart li:-soup-contains("Bridgerton") .engagements'
    }


def test_a_selector_narrows_where_a_pattern_looks() -> None:
    c = collector(rule(selector="aside", pattern=r"(?P<title>{title}) (?P<rank>\d+)"))
    parsed = parse(c, [chart("Ozark")])
    assert values(parsed) == {("variety-trending-tv:ozark", "chart_rank"): (2, None)}


def test_scripts_are_not_read_as_page_text() -> None:
    c = collector(rule(pattern=r"(?P<rank>No\. \d+) spot"))
    parsed = parse(c, [chart("Anything")])
    assert values(parsed) == {("variety-trending-tv:anything", "chart_rank"): (2, None)}


def test_a_changed_page_is_a_failure_of_that_target_not_a_value() -> None:
    c = collector(rule(selector="ol.chart li:-soup-contains({title}) .title"))
    parsed = parse(c, [chart("Ozark")])
    assert parsed.observations == []
    assert parsed.failures["Ozark"].startswith("page changed? no number in 'Ozark'")


def test_one_unreadable_group_keeps_the_others() -> None:
    pattern = r"(?P<title>Ozark)[^.]*?claimed the (?P<rank>No\. \d+) spot with (?P<value>\w+)"
    body = PAGE.replace(b"815,000", b"many")
    c = collector(rule(pattern=pattern, extra_metrics={"engagements": "value"}))
    parsed = parse(c, [chart("Ozark")], body)
    assert values(parsed) == {("variety-trending-tv:ozark", "chart_rank"): (2, None)}
    assert parsed.failures["Ozark"].startswith("engagements: page changed?")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "^empty body$"),
        (b"   ", "^empty body$"),
        (b"null", "^not an HTML page: starts b'null'$"),
        (b'{"rank": 1}', "^not an HTML page: starts b'{\"rank\": 1}'$"),
        (b"Heartstopper claimed the top spot", "^not an HTML page: starts b'Heartstopper"),
    ],
)
def test_bodies_that_are_not_html_raise_bad_payload(body: bytes, message: str) -> None:
    c = collector(rule(pattern=VARIETY))
    with pytest.raises(BadPayload, match=message):
        parse(c, [chart("Heartstopper")], body)


# -- rules and plan ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "give a selector or a pattern"),
        ({"pattern": "(?P<rank>"}, "bad pattern: missing \\)"),
        # chart_rank reads the `rank` group by default
        ({"pattern": r"(?P<value>\d+)"}, r"the pattern has no group\(s\) \['rank'\]"),
        (
            {"pattern": r"(?P<rank>\d+)", "title_group": "title"},
            r"the pattern has no group\(s\) \['title'\]",
        ),
        (
            {"pattern": r"(?P<rank>\d+)", "extra_metrics": {"engagements": "value"}},
            r"the pattern has no group\(s\) \['value'\]",
        ),
        ({"selector": "li:::nope"}, "bad selector: Malformed pseudo-class"),
        ({"selector": "li", "value_group": "rank"}, "groups need a pattern"),
        (
            {"pattern": r"(?P<rank>\d+)", "url": "/relative"},
            "'/relative' is not an absolute http\\(s\\) URL",
        ),
        (
            {"pattern": r"(?P<rank>\d+)", "name": "Has Spaces"},
            "page 'Has Spaces': use lower-case letters, digits",
        ),
    ],
)
def test_bad_rules_fail_at_config_time(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WebSettings(pages=[{**rule(), **fields}])


def test_rule_defaults() -> None:
    r = PageRule(**rule(pattern=r"(?P<title>x) (?P<value>\d+)", metric="engagements"))
    assert (r.value_group, r.title_group) == ("value", "title")
    assert WebSettings().base_url == "https://variety.com"
    with pytest.raises(ValidationError, match=r"page names must be unique; repeated: \['variety"):
        WebSettings(pages=[rule(pattern="(?P<rank>1)"), rule(pattern="(?P<rank>2)")])


def test_plan_makes_one_request_per_page_rule() -> None:
    c = collector(
        rule("trending", pattern=PROSE),
        {"name": "other", "url": "https://example.org/chart", "selector": "li"},
    )
    targets = [chart("A", "trending"), chart("B", "other"), chart("C", "trending")]
    requests = c.plan(targets)
    assert [(r.url, [t.name for t in r.targets]) for r in requests] == [
        (URL, ["A", "C"]),
        ("https://example.org/chart", ["B"]),
    ]
    assert {r.budget for r in requests} == {""}
    with pytest.raises(ConfigError, match="must name its `page`"):
        c.plan([chart("A")])
    with pytest.raises(ConfigError, match="no page rule named 'nope'"):
        c.plan([chart("A", "nope")])


def test_the_only_rule_needs_no_page_option() -> None:
    (request,) = collector(rule(pattern=PROSE)).plan([chart("Heartstopper")])
    assert request.targets[0].option("page") == "variety-trending-tv"


def test_missing_says_a_rule_is_needed() -> None:
    assert "sources.web.pages" in (collector().missing() or "")
    assert collector(rule(pattern=PROSE)).missing() is None


# -- over real sockets ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeWeb]:
    server = FakeWeb()
    server.pages["/trending-tv/week-19"] = PAGE
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _collect(c: WebPageCollector, targets: Sequence[Target]) -> list[Parsed | SourceError]:
    outcomes: list[Parsed | SourceError] = []
    async with httpx.AsyncClient(timeout=1.0, follow_redirects=True) as client:
        for request in c.plan(targets):
            response = await c.fetch(client, request)
            error = c.error(response.status_code, response.headers, response.content)
            outcomes.append(error or c.parse(request, response.content, AT))
    return outcomes


def collect(fake: FakeWeb, path: str, targets: Sequence[Target]) -> list[Parsed | SourceError]:
    c = collector(
        rule(url=f"{fake.url}{path}", pattern=PROSE, extra_metrics={"engagements": "value"})
    )
    return asyncio.run(_collect(c, targets))


def test_round_trip_over_sockets(fake: FakeWeb) -> None:
    (parsed,) = collect(fake, "/trending-tv/week-19", [chart("Heartstopper"), chart("Ozark")])
    assert isinstance(parsed, Parsed) and parsed.failures == {}
    assert len(fake.requests) == 1
    assert values(parsed)[("variety-trending-tv:heartstopper", "engagements")] == (1280000, 3)


def test_a_moved_article_is_followed_and_a_new_week_read(fake: FakeWeb) -> None:
    fake.pages["/trending-tv/week-20"] = article(
        ["<em>Heartstopper</em> claimed the No. 2 spot with 2.1 million engagements."]
    )
    fake.redirects["/trending-tv/latest"] = "/trending-tv/week-20"
    (parsed,) = collect(fake, "/trending-tv/latest", [chart("Heartstopper")])
    assert isinstance(parsed, Parsed)
    assert values(parsed) == {
        ("variety-trending-tv:heartstopper", "chart_rank"): (2, None),
        ("variety-trending-tv:heartstopper", "engagements"): (2100000, 2),
    }


def test_a_missing_page_is_not_found_and_a_bot_wall_an_error(fake: FakeWeb) -> None:
    (missing,) = collect(fake, "/trending-tv/nope", [chart("Heartstopper")])
    assert isinstance(missing, NotFound)
    fake.fail_next(FakeWeb.bot_wall())
    (walled,) = collect(fake, "/trending-tv/week-19", [chart("Heartstopper")])
    assert type(walled) is SourceError and "403" in walled.cause


# -- Variety's real article (2022-05-23) -------------------------------------------------

# Written the way the old rules were: `[^.]*?` cannot pass "No. 1." or a full stop.
ONE_SENTENCE = (
    r"claimed the (?P<rank>top) spot on Variety’s Trending TV chart[^.]*?"
    r"(?P<value>[\d.]+) million engagements"
)
# `.*?` crosses sentences but not blocks.
ACROSS_SENTENCES = (
    r"claimed the (?P<rank>top) spot on Variety’s Trending TV chart.*?"
    r"(?P<value>[\d.]+) million engagements"
)
# One rule for the runners-up: rank as an ordinal word, the figure later in the sentence.
RUNNER_UP = (
    r"“(?P<title>{title})”.*?(?P<rank>\w+) spot.*?(?P<value>[\d,.]+(?: million)?) engagements"
)


def test_a_rule_reaches_a_figure_sentences_after_the_rank_in_the_real_article() -> None:
    rules = {"pattern": ACROSS_SENTENCES, "extra_metrics": {"engagements": "value"}}
    parsed = parse(collector(rule(**rules)), [chart("Heartstopper")], VARIETY_PAGE)
    assert parsed.failures == {}
    assert values(parsed) == {
        ("variety-trending-tv:heartstopper", "chart_rank"): (1, None),
        ("variety-trending-tv:heartstopper", "engagements"): (1280000, 3),
    }
    # The same figure, read the old way, is out of reach: "No. 1." stands in between.
    old = rule(pattern=ONE_SENTENCE, extra_metrics={"engagements": "value"})
    stuck = parse(collector(old), [chart("Heartstopper")], VARIETY_PAGE)
    assert stuck.observations == [] and "nothing matched" in stuck.failures["Heartstopper"]


def test_ordinal_words_are_ranks_in_the_real_article() -> None:
    c = collector(rule(pattern=RUNNER_UP, extra_metrics={"engagements": "value"}))
    parsed = parse(c, [chart("She-Hulk: Attorney at Law")], VARIETY_PAGE)
    assert parsed.failures == {}
    assert values(parsed) == {
        ("variety-trending-tv:she-hulk: attorney at law", "chart_rank"): (2, None),
        ("variety-trending-tv:she-hulk: attorney at law", "engagements"): (634000, None),
    }


def test_a_rank_before_the_title_reads_too() -> None:
    pattern = r"Taking up (?P<rank>\w+) spot on this week’s chart is “(?P<title>{title})”"
    parsed = parse(collector(rule(pattern=pattern)), [chart("The Simpsons")], VARIETY_PAGE)
    assert values(parsed) == {("variety-trending-tv:the simpsons", "chart_rank"): (3, None)}


def test_dot_star_stays_inside_its_block() -> None:
    page = article(["Ozark claimed the top spot.", "Another show drew 5 million engagements."])
    pattern = r"(?P<title>{title}).*?(?P<rank>top).*?(?P<value>\d+) million"
    c = collector(rule(pattern=pattern, extra_metrics={"engagements": "value"}))
    parsed = parse(c, [chart("Ozark")], page)
    assert parsed.observations == []
    assert parsed.failures["Ozark"].startswith("nothing matched")
    # Within one paragraph, the same rule reads across the sentence.
    joined = article(["Ozark claimed the top spot. It drew 5 million engagements."])
    assert values(parse(c, [chart("Ozark")], joined)) == {
        ("variety-trending-tv:ozark", "chart_rank"): (1, None),
        ("variety-trending-tv:ozark", "engagements"): (5000000, 1),
    }


# -- explain (what `tracker web test` prints) -------------------------------------------


def test_explain_says_what_it_read_and_where() -> None:
    r = PageRule(**rule(pattern=RUNNER_UP, extra_metrics={"engagements": "value"}))
    (trial,) = explain(r, VARIETY_PAGE, ["She-Hulk: Attorney at Law"])
    assert trial.values == {"chart_rank": (2, None), "engagements": (634000, None)}
    assert trial.failure == ""
    lines = trial.lines()
    assert lines[:3] == [
        "She-Hulk: Attorney at Law:",
        "  chart_rank = 2",
        "  engagements = 634,000",
    ]
    assert any("read '“She-Hulk: Attorney at Law” bowed in the second spot" in n for n in lines)


def test_explain_shows_why_a_title_is_not_read() -> None:
    # The article's own first paragraph calls the show "Heartbreaker": only the headline
    # names Heartstopper, and there the pattern finds no rank.
    r = PageRule(**rule(pattern=RUNNER_UP, extra_metrics={"engagements": "value"}))
    (trial,) = explain(r, VARIETY_PAGE, ["Heartstopper"])
    assert trial.values == {}
    assert trial.failure.startswith("nothing matched “(?P<title>")
    assert any(
        n.startswith("the title is in '‘Heartstopper’ Sets New Trending TV Record")
        and n.endswith("but the pattern does not match there")
        for n in trial.notes
    )
    general = r"“(?P<title>[^”]+)” claimed the (?P<rank>\w+) spot"
    (passed,) = explain(PageRule(**rule(pattern=general)), VARIETY_PAGE, ["Heartstopper"])
    assert "its 'title' group reads 'Heartbreaker', not 'Heartstopper'" in " ".join(passed.notes)


def test_explain_reports_an_unreadable_group_and_a_selector() -> None:
    r = PageRule(**rule(pattern=r"(?P<title>{title}) claimed the (?P<rank>\w+)"))
    (trial,) = explain(r, PAGE, ["Ozark"])
    assert trial.values == {}
    assert trial.failure == "chart_rank: page changed? no number in 'No'"
    s = PageRule(**rule(selector="ol.chart li:-soup-contains({title}) .engagements"))
    (found, missing) = explain(s, PAGE, ["Ozark", "Bridgerton"])
    assert found.values == {"chart_rank": (815000, None)} and found.failure == ""
    assert missing.notes[0] == (
        'selector ol.chart li:-soup-contains("Bridgerton") .engagements matched 0 element(s)'
    )
    with pytest.raises(BadPayload):
        explain(r, b"", ["Ozark"])


# -- `tracker web test` ---------------------------------------------------------------


def web_test(*args: str, config: Path | None = None) -> tuple[int, str]:
    from typer.testing import CliRunner

    from tracker.cli import app

    head = ["--config", str(config)] if config else []
    result = CliRunner().invoke(app, [*head, "web", "test", *args])
    return result.exit_code, result.output


def test_web_test_tries_a_pattern_on_a_saved_page(tmp_path: Path) -> None:
    saved = tmp_path / "variety.html"
    saved.write_bytes(VARIETY_PAGE)
    code, out = web_test(
        "Heartstopper", "--file", str(saved), "--pattern", ACROSS_SENTENCES,
        "--extra", "engagements=value",
    )  # fmt: skip
    assert code == 0, out
    assert "  chart_rank = 1\n  engagements = 1,280,000 (3 significant figures)\n" in out
    code, out = web_test("Heartstopper", "--file", str(saved), "--pattern", ONE_SENTENCE)
    assert code == 1
    assert "not read: nothing matched claimed the (?P<rank>top) spot" in out


def test_web_test_reads_a_configured_rule_over_a_socket(fake: FakeWeb, tmp_path: Path) -> None:
    fake.pages["/2022/tv/news/heartstopper-record-she-hulk-cgi-1235275369/"] = VARIETY_PAGE
    url = f"{fake.url}/2022/tv/news/heartstopper-record-she-hulk-cgi-1235275369/"
    toml = tmp_path / "tracker.toml"
    toml.write_text(
        "[[sources.web.pages]]\n"
        'name = "variety-trending-tv"\n'
        f'url = "{url}"\n'
        f"pattern = '''{RUNNER_UP}'''\n"
        'extra_metrics = { engagements = "value" }\n'
    )
    code, out = web_test("She-Hulk: Attorney at Law", "The Simpsons", config=toml)
    assert code == 1, out  # The Simpsons' sentence has no engagements: the rule misses it
    assert "She-Hulk: Attorney at Law:\n  chart_rank = 2\n  engagements = 634,000\n" in out
    assert "The Simpsons:\n  not read: nothing matched" in out
    assert "the title is in 'Taking up third spot" in out
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["A", "--file", "/nonexistent/page.html", "--pattern", "(?P<rank>1)"], "--file: cannot"),
        (["A", "--file", "x.html", "--pattern", "(?P<rank>"], "bad pattern"),
        (["A", "--file", "x.html", "--pattern", "(?P<rank>1)", "--extra", "nope"], "--extra"),
        (["A", "--page", "nope"], "--page: no page rule named 'nope'"),
    ],
)
def test_web_test_refuses_bad_input_with_exit_2(
    args: list[str], message: str, tmp_path: Path
) -> None:
    toml = tmp_path / "tracker.toml"
    toml.write_text("")
    code, out = web_test(*args, config=toml)
    assert code == 2 and message in out, out


def test_web_test_says_when_the_page_cannot_be_had(fake: FakeWeb) -> None:
    code, out = web_test("A", "--url", f"{fake.url}/gone", "--pattern", "(?P<rank>1)")
    assert code == 1 and "HTTP 404" in out


def test_the_shipped_config_loads_without_the_html_parser() -> None:
    # bs4 and soupsieve cost ~45 ms of every command's start; they load when a page is read
    # or a selector checked, and the shipped config names no page.
    import subprocess
    import sys

    shipped = Path(__file__).resolve().parents[2] / "config" / "tracker.toml"
    script = (
        "import sys\n"
        "from tracker import config\n"
        f"cfg = config.load({str(shipped)!r})\n"
        "assert 'web' in cfg.sources, sorted(cfg.sources)\n"
        "print(sorted(m for m in ('bs4', 'soupsieve') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr
