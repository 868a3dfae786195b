"""Evaluate the rules on the store at a moment: episodes open and close, due alerts queue.

Takes the store and the clock, so the daemon after each round, `tracker alerts test` and
worker processes all run the same code. What becomes due is written with the episode that
made it due, in one transaction (`Store.alert_save`): delivery is `tracker.alerts.deliver`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from tracker.alerts import conditions
from tracker.alerts.conditions import Check
from tracker.alerts.rules import Rule
from tracker.store import SeriesInfo, Store
from tracker.store.alerting import Due, Episode
from tracker.store.timeseries import PointRow
from tracker.timeutil import now, to_epoch

if TYPE_CHECKING:
    from tracker.config import Config

log = logging.getLogger("tracker.alerts")


@dataclass(frozen=True, slots=True)
class Fired:
    rule: str
    series: str
    episode: int
    message: str


@dataclass(slots=True)
class Evaluation:
    checked: int = 0  # (rule, series) pairs looked at
    holding: int = 0  # of those, where the condition holds now
    fired: list[Fired] = field(default_factory=list)
    queued: int = 0  # alerts written to the outbox (0 in a dry run)


def claim_verdicts(config: Config, store: Store) -> list[tuple[str, str, bool, str]]:
    """(claim, verdict, measured at all, summary) of each campaign claim: the one call into
    the read model's verdicts."""
    from tracker.claims import NOT_MEASURABLE
    from tracker.read import verdicts

    if config.campaign is None:
        return []
    found = verdicts.claims(config, store)
    return [
        (v.name, v.verdict, v.verdict != NOT_MEASURABLE, v.summary)
        for v in found
        if v.role == "claim"
    ]


def evaluate(
    config: Config,
    store: Store,
    clock: Callable[[], datetime] = now,
    *,
    rules: Sequence[Rule] | None = None,
    save: bool = True,
) -> Evaluation:
    """Every rule (or those given) against the store now; with `save`, the episodes that
    changed and the alerts they made due are written (else: what would fire)."""
    moment = clock()
    at = to_epoch(moment)
    known = {(s.rule, s.series): s for s in store.alert_states()}
    result = Evaluation()
    changed: list[Episode] = []
    due: list[Due] = []
    for rule in config.alerts if rules is None else rules:
        for key, about, check in _checks(config, store, rule, moment):
            result.checked += 1
            result.holding += check.holds is True
            old = known.get((rule.name, key)) or Episode(rule.name, key, False, 0)
            new = _step(old, check, at)
            if new is None:
                continue
            changed.append(new)
            if new.episode != old.episode:
                message = f"{about}: {check.says}"
                result.fired.append(Fired(rule.name, key, new.episode, message))
                due.append(Due(rule.name, key, new.episode, rule.destination, title(rule), message))
    if save and changed:
        result.queued = store.alert_save(changed, due, at)
        for fired in result.fired:
            log.info("alert %s fired: %s", fired.rule, fired.message, extra={"event": "alert"})
    return result


def title(rule: Rule) -> str:
    return f"tracker alert: {rule.name}"


def _step(old: Episode, check: Check, at: int) -> Episode | None:
    """The episode after `check`, or None when nothing changes."""
    if check.holds is True:
        if not old.active or (check.mark and check.mark != old.mark):
            return Episode(old.rule, old.series, True, old.episode + 1, check.mark, at, at)
        return None
    if check.holds is False and (old.active or (check.mark and check.mark != old.mark)):
        return Episode(old.rule, old.series, False, old.episode, check.mark, at, old.fired)
    return None


def _checks(
    config: Config, store: Store, rule: Rule, moment: datetime
) -> Iterator[tuple[str, str, Check]]:
    """(series key, what it is, the check) for everything `rule` watches."""
    if rule.kind == "claim":
        for name, status, measured, summary in claim_verdicts(config, store):
            if not rule.claim or rule.claim == name:
                check = conditions.verdict(status, measured, summary)
                yield f"claim:{name}", f"claim {name!r}", check
        return
    if rule.kind == "failing":
        for state in store.status():
            if not rule.platform or rule.platform == state.source:
                check = conditions.failing(rule, state, moment)
                yield f"source:{state.source}", f"source {state.source}", check
        return
    if rule.kind == "quota":
        for budget in store.quotas():
            if not rule.platform or budget.key.split(":")[0] == rule.platform:
                check = conditions.quota(rule, budget, moment)
                yield f"quota:{budget.key}", f"quota {budget.key}", check
        return
    base = _baseline(config, store, rule)
    found = _select(store, rule, base)
    ids = [s.id for s in found]
    latest = store.alert_latest(ids)
    if rule.kind == "chart":
        checks = _charts(store, rule, found, latest)
    elif rule.kind == "threshold":
        checks = [conditions.threshold(rule, [latest[i]] if i in latest else []) for i in ids]
    else:
        window = int(rule.window.total_seconds()) if rule.window else None
        old = store.alert_latest(ids, to_epoch(moment) - window) if window else {}
        value = base[:2] if base else None
        checks = [conditions.growth(rule, latest.get(i), old.get(i), value) for i in ids]
    for series, check in zip(found, checks, strict=True):
        yield f"series:{series.id}", describe(series), check


def _charts(
    store: Store, rule: Rule, found: Sequence[SeriesInfo], latest: dict[int, PointRow]
) -> list[Check]:
    """Chart checks: the history is read (in one go) only for series in the chart, where an
    entry or a best rank looks back; most series of a chart's source are not in it."""
    newest = {key: store.alert_newest(*key) for key in {(s.source, s.metric) for s in found}}
    tops = {s.id: newest[(s.source, s.metric)] for s in found}
    looking_back = rule.event in ("enters", "best")
    inside = [
        i for i, top in tops.items() if i in latest and top and conditions.in_chart(latest[i], top)
    ]
    history = store.alert_history(inside) if looking_back else {}
    checks = []
    for series in found:
        row, top = latest.get(series.id), tops[series.id]
        if row is None or top is None:
            checks.append(conditions.KEEP)
            continue
        checks.append(conditions.chart(rule, history.get(series.id, [row]), top))
    return checks


def _baseline(
    config: Config, store: Store, rule: Rule
) -> tuple[int, int | None, str, str, str] | None:
    """(value, sig, subject, source, metric) of the campaign baseline the rule names."""
    if not rule.baseline or config.campaign is None:
        return None
    for ref in store.baselines(config.campaign.name):
        if ref.name == rule.baseline and ref.role == "baseline":
            return ref.value, ref.sig, ref.subject, ref.source, ref.metric
    return None


def _select(
    store: Store, rule: Rule, base: tuple[int, int | None, str, str, str] | None
) -> list[SeriesInfo]:
    """The series the rule selects; a baseline's subject, source and metric fill the gaps."""
    subject, platform, metric = rule.subject, rule.platform, rule.metric
    if base is not None:
        subject, platform, metric = subject or base[2], platform or base[3], metric or base[4]
    return store.find_series(subject or None, platform or None, metric or None, rule.labels)


def describe(series: SeriesInfo) -> str:
    """A series as people name it: subject, source, metric, handle and labels."""
    labels = ", ".join(f"{k}={v}" for k, v in sorted(series.labels.items()))
    handle = f" {series.label}" if series.label and series.label != series.subject else ""
    extra = f" ({labels})" if labels else ""
    return f"{series.subject} {series.source} {series.metric}{handle}{extra}"
