"""A chart of the report: one series (or a chart's countries per week) around the launch,
drawn as a PNG. Periods (a chart week, a day) are spans from their start to their end; the
weeks a chart's listing lacks the series are shaded "not in chart"; the baselines and claims of
the series are horizontal lines, the launch and other events vertical ones; the axes fit the
data, the events and the lines; long titles wrap.

matplotlib (Agg backend) is imported here only, and only when a chart is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.baselines import human
from tracker.read.records import NOT_IN_CHART, PointRecord
from tracker.timeutil import day_start, from_epoch, to_epoch

if TYPE_CHECKING:
    from tracker.campaign import Campaign


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    value: int
    kind: str  # baseline | claim | measured (the last value before the launch)


@dataclass(slots=True)
class Chart:
    title: str
    name: str  # file name stem
    subject: str
    source: str
    metric: str
    points: list[PointRecord]
    backfilled: int = 0
    lines: list[Line] = field(default_factory=list)
    ranks: bool = False  # rank 1 at the top
    running: list[tuple[int, int]] = field(default_factory=list)  # distinct countries so far

    @property
    def values(self) -> list[PointRecord]:
        return [p for p in self.points if p.value is not None]


def when(p: PointRecord) -> str:
    start = from_epoch(p.start).date()
    if p.end is None or p.end - p.start <= 86400:
        return str(start)
    return f"{start} .. {from_epoch(p.end - 1).date()}"


def _extent(chart: Chart, campaign: Campaign) -> tuple[int, int]:
    """The x range: the data, the events and the dates of the chart's lines, a week around."""
    days = [campaign.launch, *campaign.dates().values()]
    moments = [to_epoch(day_start(d)) for d in days]
    moments += [p.start for p in chart.points] + [p.end or p.start for p in chart.points]
    return min(moments) - 7 * 86400, max(moments) + 7 * 86400


def draw(chart: Chart, campaign: Campaign, lo: int, hi: int, path: Path) -> Path:
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    def x(ts: int) -> float:
        return float(mdates.date2num(from_epoch(ts)))

    def day(d: date) -> float:
        return x(to_epoch(day_start(d)))

    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=100)
    try:
        shown = chart.values
        ys = [p.value or 0 for p in shown]
        if chart.running:
            ax.bar([x(p.start) for p in shown], ys,
                   width=[x(p.end or p.start) - x(p.start) for p in shown], align="edge",
                   color="#9ecae1", edgecolor="white", label="countries that week")  # fmt: skip
            rx = [x(ts) for ts, _ in chart.running] + [
                x(chart.points[-1].end or chart.running[-1][0])
            ]
            ry = [v for _, v in chart.running] + [chart.running[-1][1]]
            ax.step(rx, ry, where="post", color="#08519c", label="distinct countries so far")
        elif any(p.end is not None for p in shown):
            # Periods as spans: each value holds from its start to its end, no longer.
            ax.hlines(ys, [x(p.start) for p in shown], [x(p.end or p.start) for p in shown],
                      color="#08519c", linewidth=3, label=chart.metric)  # fmt: skip
            absent = [p for p in chart.points if p.status == NOT_IN_CHART]
            for i, p in enumerate(absent):
                ax.axvspan(x(p.start), x(p.end or p.start), color="#bbbbbb", alpha=0.35,
                           label=NOT_IN_CHART if i == 0 else None)  # fmt: skip
        else:
            style = "o-" if len(shown) <= 60 else "-"
            ax.plot([x(p.start) for p in shown], ys, style, markersize=3, color="#08519c",
                    label=chart.metric)  # fmt: skip
        colours = {"baseline": "#2ca02c", "claim": "#ff7f0e", "measured": "#9467bd"}
        for line in chart.lines:
            colour = colours[line.kind]
            ax.axhline(line.value, color=colour, linestyle="--", linewidth=1.2, label=line.label)
        launch = f"launch {campaign.launch}"
        ax.axvline(day(campaign.launch), color="#d62728", linewidth=1.5, label=launch)
        for name, when in campaign.dates().items():
            if name != "launch":
                label = f"{name} {when}"
                ax.axvline(day(when), color="#7f7f7f", linestyle=":", linewidth=1.2, label=label)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        top = max([*ys, *(line.value for line in chart.lines), 1])
        if chart.ranks:
            ax.set_ylim(max(10, top) + 0.5, 0.5)  # rank 1 at the top
            ax.set_ylabel("rank (1 = top)")
        else:
            ax.set_ylim(0, top * 1.1)
            ax.set_ylabel(chart.metric.replace("_", " "))
            ax.yaxis.set_major_formatter(lambda v, _pos: human(int(v)) if v >= 1000 else f"{v:g}")
        first, last = _extent(chart, campaign)
        ax.set_xlim(x(first), x(last))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
        ax.set_title(textwrap.fill(chart.title, 95), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
