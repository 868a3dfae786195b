"""The campaign report: Markdown and HTML side by side, a PNG chart per series, sources cited.

Each claim and each baseline appears with its verdict and evidence (the read model's one
verdict, as `tracker claims` and `tracker compare` show it); each series of the campaign's
subjects gets a chart around the launch, with the baselines and claims of that series as
horizontal lines and the launch (and other events) as vertical ones. A point over a period
(a chart week, a day) is drawn as a span from its start to its end; the period that contains
the launch is the launch's, never "before" it. A chart's
per-country lists (chart_rank series labelled with a `country`) are drawn as one chart per
source: countries in the Top 10 per week. Each source shown is cited with its collector's
description.

Each chart is drawn by `tracker.charts`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.baselines import human
from tracker.charts import Chart, Line, draw, when
from tracker.read.records import NOT_IN_CHART, PointRecord, VerdictRecord
from tracker.timeutil import day_start, from_epoch, now, to_epoch

if TYPE_CHECKING:
    from tracker.campaign import Campaign
    from tracker.config import Config
    from tracker.store import SeriesInfo, Store

# Charts show this much before the first and after the last dated moment of the campaign.
BEFORE = timedelta(days=60)
AFTER = timedelta(days=90)
COUNTRIES = "countries in the Top 10"


@dataclass(slots=True)
class Written:
    markdown: Path
    html: Path
    charts: list[Path]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "campaign"


def write(
    config: Config,
    store: Store,
    campaign: Campaign,
    folder: Path,
    clock: Callable[[], datetime] = now,
) -> Written:
    """Gather, draw and write the report into `folder`; returns what was written."""
    from tracker import read

    verdicts = read.claims(config, store, campaign.name)
    baselines = [r for r in read.compare(config, store) if r.role == "baseline"]
    lo, hi = _window(campaign)
    charts, empty = _charts(config, store, campaign, lo, hi)
    (folder / "charts").mkdir(parents=True, exist_ok=True)
    pngs = [
        draw(chart, campaign, lo, hi, folder / "charts" / f"{chart.name}.png") for chart in charts
    ]
    sources = _sources(config, [*verdicts, *baselines], charts)
    stem = slug(campaign.name)
    markdown = folder / f"{stem}.md"
    page = folder / f"{stem}.html"
    made = clock()
    markdown.write_text(
        _markdown(campaign, verdicts, baselines, charts, empty, sources, made), encoding="utf-8"
    )
    page.write_text(
        _html(campaign, verdicts, baselines, charts, empty, sources, made), encoding="utf-8"
    )
    return Written(markdown, page, pngs)


def _window(campaign: Campaign) -> tuple[int, int]:
    moments = [campaign.launch, *campaign.dates().values()]
    moments += [r.at for r in campaign.baselines + campaign.claims]
    return (
        to_epoch(day_start(min(moments) - BEFORE)),
        to_epoch(day_start(max(moments) + AFTER)),
    )


def _charts(
    config: Config, store: Store, campaign: Campaign, lo: int, hi: int
) -> tuple[list[Chart], list[str]]:
    from tracker import read
    from tracker.read.history import load

    charts: list[Chart] = []
    empty: list[str] = []
    launch = to_epoch(day_start(campaign.launch))
    for subject in read.subjects_of(config):
        found = store.find_series(subject)
        by_source: dict[str, list[SeriesInfo]] = {}
        for s in found:
            if s.metric == "chart_rank" and s.labels.get("country"):
                by_source.setdefault(s.source, []).append(s)
        for source, countries in sorted(by_source.items()):
            charts.append(_countries(store, subject, source, countries, campaign, lo, hi))
        rest = [s for s in found if s not in by_source.get(s.source, [])]
        for series, points in load(store, rest, lo, hi):
            name = _name(series)
            measured = [p for p in points if p.value is not None]
            if not measured:
                empty.append(name)
                continue
            lines = _lines(campaign, series)
            # Before the launch means over before the launch day: the launch week is not.
            before = [p for p in measured if (p.end or p.start + 1) <= launch]
            if before and series.metric != "chart_rank":
                last = before[-1]
                assert last.value is not None
                label = f"last measured before launch: {human(last.value)} ({when(last)})"
                lines.append(Line(label, last.value, "measured"))
            chart = Chart(
                name,
                slug(f"{series.source}-{series.metric}-{series.id}"),
                series.subject,
                series.source,
                series.metric,
                points,
                sum(p.backfilled for p in points),
                lines,
                ranks=series.metric == "chart_rank",
            )
            charts.append(chart)
    return charts, empty


def _name(series: SeriesInfo) -> str:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(series.labels.items()) if v)
    who = series.label or series.key
    return f"{series.subject}: {series.source} {series.metric} — {who}" + (
        f" [{labels}]" if labels else ""
    )


def _lines(campaign: Campaign, series: SeriesInfo) -> list[Line]:
    out = []
    for kind, refs in (("baseline", campaign.baselines), ("claim", campaign.claims)):
        for ref in refs:
            same = ref.subject.casefold() == series.subject.casefold()
            if same and ref.source == series.source and ref.metric == series.metric:
                value, _ = ref.amount
                out.append(Line(f"{kind}: {ref.value} ({ref.at})", value, kind))
    return out


def _countries(
    store: Store,
    subject: str,
    source: str,
    series: Sequence[SeriesInfo],
    campaign: Campaign,
    lo: int,
    hi: int,
) -> Chart:
    from tracker.read.periods import points as records

    weeks: dict[int, set[str]] = {}
    ends: dict[int, int] = {}
    backfilled = 0
    for s in series:
        for p in records(store.points(s.id, lo, hi)):
            weeks.setdefault(p.start, set()).add(s.labels.get("list", s.key))
            ends[p.start] = p.end or p.start + 7 * 86400
            backfilled += p.backfilled
    seen: set[str] = set()
    running = []
    for ts in sorted(weeks):
        seen |= weeks[ts]
        running.append((ts, len(seen)))
    lines = [
        Line(f"claim: {ref.value} countries ({ref.at})", ref.amount[0], "claim")
        for ref in campaign.claims
        if ref.metric == "countries_in_top10"
        and ref.source == source
        and ref.subject.casefold() == subject.casefold()
    ]
    return Chart(
        f"{subject}: {source} — {COUNTRIES} per week",
        slug(f"{source}-countries-{subject}"),
        subject,
        source,
        "countries_in_top10",
        [PointRecord(ts, ends[ts], len(weeks[ts])) for ts in sorted(weeks)],
        backfilled,
        lines,
        running=running,
    )


def _sources(
    config: Config, verdicts: Sequence[VerdictRecord], charts: Sequence[Chart]
) -> list[str]:
    """The claims' and baselines' citations, then each collector whose data is shown."""
    from tracker import read
    from tracker.collectors import registry

    cited: list[str] = []
    for citation in [v.citation for v in verdicts]:
        if citation and citation not in cited:
            cited.append(citation)
    installed = registry.available()
    used = {c.source for c in charts}
    for v in verdicts:
        used.update(read.readers(v.platform))
    for name in sorted(used):
        if name in installed:
            settings = config.source_settings[name]
            cited.append(f"{name}: {installed[name].description} {settings.base_url}")
    return cited


def _evidence(v: VerdictRecord) -> list[str]:
    lines = [v.summary] if v.summary else []
    lines += [
        f"{e.when}: {e.what}: {e.value:,}" + (" (backfilled)" if e.backfilled else "")
        for e in v.evidence
    ]
    if v.action:
        lines.append(f"to measure: {v.action}")
    return lines


def _caption(chart: Chart) -> str:
    shown = chart.values
    first, last = when(shown[0]), when(shown[-1])
    text = f"{len(shown)} point(s), {first} to {last}"
    absent = len(chart.points) - len(shown)
    if absent:
        text += f"; {absent} week(s) {NOT_IN_CHART}"
    if chart.backfilled:
        text += f"; {chart.backfilled} backfilled from the source's history"
    return text


def _claimed(v: VerdictRecord, campaign: Campaign) -> str:
    day = (v.at - campaign.launch).days
    return f"{v.figure} on {v.at} (day {day:+d})" if day else f"{v.figure} on {v.at} (day 0)"


def _latest(v: VerdictRecord) -> str:
    if v.latest is None:
        return "not measured yet"
    return f"{human(v.latest[1])} on {from_epoch(v.latest[0]):%Y-%m-%d}"


def _heading(campaign: Campaign, made: datetime) -> tuple[str, str]:
    events = ", ".join(f"{name} {day}" for name, day in campaign.dates().items())
    return (
        f"{campaign.name}: the article's claims against the data",
        f"Events: {events}. Generated {made:%Y-%m-%d %H:%M} UTC. Day N counts from the launch.",
    )


def _markdown(
    campaign: Campaign,
    verdicts: Sequence[VerdictRecord],
    baselines: Sequence[VerdictRecord],
    charts: Sequence[Chart],
    empty: Sequence[str],
    sources: Sequence[str],
    made: datetime,
) -> str:
    title, sub = _heading(campaign, made)
    out = [f"# {title}", "", sub, "", "## Claims", ""]
    out += ["| claim | claimed | verdict | measured |", "|---|---|---|---|"]
    for v in verdicts:
        measured = "—" if v.measured is None else f"{v.measured:,}"
        text = v.text.replace("|", "\\|") or v.name
        out.append(f"| {v.name}: {text} | {_claimed(v, campaign)} | **{v.verdict}** | {measured} |")
    for v in verdicts:
        out += ["", f"### {v.name} — {v.verdict}", ""]
        out += [f"- {line}" for line in _evidence(v)]
    out += ["", "## Baselines", ""]
    if not baselines:
        out.append("The campaign has no baselines.")
    else:
        out += ["| baseline | figure | verdict | measured | latest |", "|---|---|---|---|---|"]
    for v in baselines:
        text = v.text.replace("|", "\\|")
        who = f"{v.name} ({v.subject}, {v.platform} {v.metric})" + (f": {text}" if text else "")
        measured = "—" if v.measured is None else f"{v.measured:,}"
        out.append(
            f"| {who} | {_claimed(v, campaign)} | **{v.verdict}** | {measured} | {_latest(v)} |"
        )
    out += ["", "## Charts", ""]
    for chart in charts:
        out += [f"![{chart.title}](charts/{chart.name}.png)", "", f"*{_caption(chart)}*", ""]
    if empty:
        out += ["Series without values around the launch:", ""]
        out += [f"- {name}" for name in empty] + [""]
    out += ["## Sources", ""]
    out += [f"{i}. {text}" for i, text in enumerate(sources, 1)]
    return "\n".join(out) + "\n"


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 960px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.confirmed { color: #fff; background: #2ca02c; }
.contradicted { color: #fff; background: #d62728; }
.unmeasured { background: #ffe9a8; }
.verdict { padding: 2px 6px; border-radius: 4px; white-space: nowrap; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 13px; color: #555; }
ul.evidence { margin: 0; padding-left: 1.2em; font-size: 13px; }
"""


def _html(
    campaign: Campaign,
    verdicts: Sequence[VerdictRecord],
    baselines: Sequence[VerdictRecord],
    charts: Sequence[Chart],
    empty: Sequence[str],
    sources: Sequence[str],
    made: datetime,
) -> str:
    e = html.escape
    title, sub = _heading(campaign, made)
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1><p>{e(sub)}</p>",
        "<h2>Claims</h2><table><tr><th>claim</th><th>claimed</th><th>verdict</th>"
        "<th>measured</th><th>evidence</th></tr>",
    ]
    css = {"confirmed": "confirmed", "contradicted": "contradicted"}
    for v in verdicts:
        measured = "—" if v.measured is None else f"{v.measured:,}"
        items = "".join(f"<li>{e(line)}</li>" for line in _evidence(v))
        out.append(
            f"<tr><td><b>{e(v.name)}</b><br>{e(v.text)}</td>"
            f"<td>{e(_claimed(v, campaign))}</td>"
            f'<td><span class="verdict {css.get(v.verdict, "unmeasured")}">{e(v.verdict)}</span>'
            f'</td><td>{measured}</td><td><ul class="evidence">{items}</ul></td></tr>'
        )
    out.append("</table><h2>Baselines</h2>")
    if not baselines:
        out.append("<p>The campaign has no baselines.</p>")
    else:
        out.append(
            "<table><tr><th>baseline</th><th>figure</th><th>verdict</th><th>measured</th>"
            "<th>latest</th></tr>"
        )
        for v in baselines:
            measured = "—" if v.measured is None else f"{v.measured:,}"
            out.append(
                f"<tr><td><b>{e(v.name)}</b> ({e(v.subject)}, {e(v.platform)} {e(v.metric)})"
                f"<br>{e(v.text)}</td><td>{e(_claimed(v, campaign))}</td>"
                f'<td><span class="verdict {css.get(v.verdict, "unmeasured")}">'
                f"{e(v.verdict)}</span></td><td>{measured}</td><td>{e(_latest(v))}</td></tr>"
            )
        out.append("</table>")
    out.append("<h2>Charts</h2>")
    for chart in charts:
        out.append(
            f'<figure><img src="charts/{e(chart.name)}.png" alt="{e(chart.title)}">'
            f"<figcaption>{e(chart.title)} — {e(_caption(chart))}</figcaption></figure>"
        )
    if empty:
        items = "".join(f"<li>{e(name)}</li>" for name in empty)
        out.append(f"<p>Series without values around the launch:</p><ul>{items}</ul>")
    out.append("<h2>Sources</h2><ol>")
    out += [f"<li>{_link(text)}</li>" for text in sources]
    out.append("</ol></body></html>")
    return "\n".join(out) + "\n"


def _link(text: str) -> str:
    """Escape `text`, turning bare http(s) URLs into links."""
    parts = re.split(r"(https?://\S+)", text)
    return "".join(
        f'<a href="{html.escape(p)}">{html.escape(p)}</a>'
        if p.startswith("http")
        else html.escape(p)
        for p in parts
    )
