"""/metrics: the store as Prometheus sees it, read afresh on every scrape.

A custom Collector (not gauges set in the background): a scrape reads the store once, so
what Prometheus stores is what the database held at that moment, and `tracker serve` keeps no
state of its own.

Exported, per series, as `tracker_series_value` and `tracker_series_observed_timestamp_seconds`
with labels subject, platform, metric, key and the series' own labels (as `label_<name>`).
A value of a period (a weekly chart rank, a day's page views: the snapshot's period set)
is a statement about that period, published after it ends; it is exported as the series'
current value only while it is current (`current`): of its chart's newest period, and ended
less than two periods ago. A title that fell off a weekly chart, or a 2022 chart imported from
a file, is not exported as today's rank; `tracker_series_ended{platform,metric}` counts them.

Cardinality is bounded: at most `max_series` series (newest observation first, then by id) are
exported per scrape; `tracker_series_omitted{platform,metric}` counts the rest, so a large
import (~50,000 per-country chart series) costs a bounded scrape and says what it left out.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tracker.store.ledger import COLLECTED

if TYPE_CHECKING:
    from tracker.store import SeriesInfo
    from tracker.store.latest import LatestRow
    from tracker.web.records import Records

MAX_SERIES = 2000
_FIXED = ("subject", "platform", "metric", "key")
_BAD = re.compile(r"[^a-zA-Z0-9_]")


# A chart: one source's series of one metric, period length and set of label names (a
# countries file's charts apart from the global one's).
Chart = tuple[str, str, int, frozenset[str]]


def current(
    latest: list[LatestRow], known: dict[int, SeriesInfo], now: float
) -> tuple[list[LatestRow], list[LatestRow]]:
    """The newest values split into (current, ended).

    A value with no period is current. A value of the period [ts, ts + period) is current
    while both hold:
    - its period is the newest its chart has: once the next week's chart lands, a title that
      is not on it is no longer ranked (its last rank is history, not its rank now);
    - the period ended less than two periods ago: a chart comes out after its period ends
      (a week's chart days into the next week), and the next is collected up to a period
      later; a chart whose source stopped reporting, or one imported from an old file, ends.
    """
    newest: dict[Chart, int] = {}
    for sid, ts, _, period in latest:
        info = known.get(sid)
        if period and info is not None:
            chart = (info.source, info.metric, period, frozenset(info.labels))
            newest[chart] = max(newest.get(chart, ts), ts)
    live, ended = [], []
    for row in latest:
        sid, ts, _, period = row
        info = known.get(sid)
        if period and info is not None:
            chart = (info.source, info.metric, period, frozenset(info.labels))
            if ts < newest[chart] or now >= ts + 3 * period:
                ended.append(row)
                continue
        live.append(row)
    return live, ended


def label_name(name: str) -> str:
    """A series label as a Prometheus label name: `label_` + the name, other characters `_`."""
    return "label_" + _BAD.sub("_", name)


class StoreCollector(Collector):
    """Reads the latest value per series, source health, budgets and round durations."""

    def __init__(
        self,
        records: Records,
        max_series: int = MAX_SERIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.records = records
        self.max_series = max_series
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        yield from self._series()
        yield from self._sources()
        yield from self._budgets()
        took = GaugeMetricFamily(
            "tracker_scrape_duration_seconds", "How long this scrape took to read the store."
        )
        took.add_metric([], time.perf_counter() - started)
        yield took

    def _series(self) -> Iterator[Metric]:
        store = self.records.store
        latest = store.latest_values()
        known = self.records.all_series()
        if any(row[0] not in known for row in latest):
            known = self.records.all_series(fresh=True)
        shown, ended = current(latest, known, self.clock())
        shown.sort(key=lambda row: (-row[1], row[0]))
        value = Metric("tracker_series_value", "The newest stored value of a series.", "gauge")
        seen = Metric(
            "tracker_series_observed_timestamp_seconds",
            "When the newest stored value of a series was observed (Unix time).",
            "gauge",
        )
        omitted: Counter[tuple[str, str]] = Counter()
        exported = 0
        for sid, ts, number, _ in shown:
            info = known.get(sid)
            if info is None:
                continue
            if exported >= self.max_series:
                omitted[(info.source, info.metric)] += 1
                continue
            labels = {label_name(k): v for k, v in info.labels.items()}
            labels |= dict(
                zip(_FIXED, (info.subject, info.source, info.metric, info.key), strict=True)
            )
            value.add_sample("tracker_series_value", labels, float(number))
            seen.add_sample("tracker_series_observed_timestamp_seconds", labels, float(ts))
            exported += 1
        yield value
        yield seen
        left = GaugeMetricFamily(
            "tracker_series_omitted",
            f"Series not exported this scrape (over the cap of {self.max_series}).",
            labels=["platform", "metric"],
        )
        for (platform, metric), count in sorted(omitted.items()):
            left.add_metric([platform, metric], count)
        yield left
        over = GaugeMetricFamily(
            "tracker_series_ended",
            "Series whose newest value is of a period that is over (a title no longer on its "
            "weekly chart, an old chart): not exported as a current value.",
            labels=["platform", "metric"],
        )
        by_chart = Counter((known[r[0]].source, known[r[0]].metric) for r in ended)
        for (platform, metric), count in sorted(by_chart.items()):
            over.add_metric([platform, metric], count)
        yield over
        total = GaugeMetricFamily("tracker_series", "Series with at least one stored value.")
        total.add_metric([], len(latest))
        yield total

    def _sources(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "tracker_source_up",
            "1 when the source's last round collected values.",
            labels=["source"],
        )
        success = GaugeMetricFamily(
            "tracker_source_last_success_timestamp_seconds",
            "When the source last collected values (Unix time).",
            labels=["source"],
        )
        failures = GaugeMetricFamily(
            "tracker_source_failures_in_a_row",
            "Failed rounds since the last success.",
            labels=["source"],
        )
        duration = GaugeMetricFamily(
            "tracker_round_duration_seconds",
            "How long the source's newest round took.",
            labels=["source", "outcome"],
        )
        store = self.records.store
        for s in store.status():
            up.add_metric([s.source], 1.0 if s.last_outcome in COLLECTED else 0.0)
            if s.last_success is not None:
                success.add_metric([s.source], s.last_success.timestamp())
            failures.add_metric([s.source], s.failures_in_a_row)
            newest = store.attempts(s.source, limit=1)
            if newest:
                a = newest[0]
                duration.add_metric([s.source, a.outcome], float(a.finished - a.started))
        yield from (up, success, failures, duration)

    def _budgets(self) -> Iterator[Metric]:
        left = GaugeMetricFamily(
            "tracker_quota_left", "Units of the budget left in its window.", labels=["budget"]
        )
        limit = GaugeMetricFamily(
            "tracker_quota_limit", "Units the budget allows per window.", labels=["budget"]
        )
        for b in self.records.store.quotas():
            left.add_metric([b.key], b.left)
            limit.add_metric([b.key], b.limit)
        yield from (left, limit)
