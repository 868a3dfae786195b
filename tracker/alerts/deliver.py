"""Deliver the outbox through Apprise: a rate limit per destination, bounded retries, a log.

Each due alert is claimed, sent and marked sent; every attempt goes into the delivery log
(rule, series, message, destination, outcome). A destination is named by where its URL is
read from ("env ALERT_APPRISE_URL"), never by the URL: the URL holds secrets, is read like
every other credential (`tracker.secrets.secret`) and is masked wherever it would appear.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tracker.alerts import destination
from tracker.alerts.evaluate import Evaluation, evaluate
from tracker.secrets import RedactingFilter, redact
from tracker.store import Store
from tracker.store.alerting import Outgoing
from tracker.timeutil import now, to_epoch

if TYPE_CHECKING:
    from tracker.alerts.rules import Rule
    from tracker.config import Config

log = logging.getLogger("tracker.alerts")

# A claim older than this is a sender that died mid-send: the alert is due again.
STALE_SECONDS = 600
# Waits between attempts: 30 s doubling, at most an hour.
FIRST_WAIT, LONGEST_WAIT = 30, 3600
# A destination whose URL is not set, or over its rate, is looked at again after this.
HOLD_SECONDS = 60
HOUR = 3600

# (url, title, body) -> (sent, why not)
Notifier = Callable[[str, str, str], tuple[bool, str]]


def apprise_notify(url: str, title: str, body: str) -> tuple[bool, str]:
    """Send one alert through Apprise; the reason of a failure comes from Apprise's log."""
    with warnings.catch_warnings():
        # Apprise 2.x loads `imghdr` with its plugins (deprecated since Python 3.11, a shim
        # on 3.13): the warning says nothing about tracker.
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        _mask_apprise_log()
        box = apprise.Apprise()
        if not box.add(url):
            return False, "not a URL Apprise knows (see https://appriseit.com for the forms)"
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as output:
            sent = bool(box.notify(title=title, body=body))
            said = " ".join(output.getvalue().split())
    return sent, "" if sent else (said[-300:] or "Apprise could not send it")


def _mask_apprise_log() -> None:
    """Apprise (and urllib3 under it) log the URL they post to, at debug level and in their
    own forms: masked at the source, whatever handler (a test's, a service's) reads them."""
    for name in ("apprise", "urllib3.connectionpool"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


@dataclass(slots=True)
class Delivered:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    held: int = 0  # over the rate limit or without a URL: they wait, nothing is dropped

    @property
    def any(self) -> bool:
        return bool(self.sent or self.retrying or self.failed or self.held)

    def line(self) -> str:
        return (
            f"{self.sent} sent, {self.retrying} to retry, {self.failed} given up, "
            f"{self.held} waiting"
        )


def deliver(
    config: Config,
    store: Store,
    clock: Callable[[], datetime] = now,
    notify: Notifier = apprise_notify,
) -> Delivered:
    """Send every due alert of the outbox."""
    rules = {rule.name: rule for rule in config.alerts}
    done = Delivered()
    for row in store.alert_claim(to_epoch(clock()), STALE_SECONDS):
        outcome = _one(store, rules.get(row.rule), row, to_epoch(clock()), notify)
        setattr(done, outcome, getattr(done, outcome) + 1)
    return done


def _one(store: Store, rule: Rule | None, row: Outgoing, at: int, notify: Notifier) -> str:
    if rule is None:
        store.alert_done(row, "failed", "the rule is no longer in the config", at, None)
        log.warning("alert %s not sent: the rule is no longer in the config", row.rule)
        return "failed"
    url = destination.url(rule)
    if not url:
        where = " or ".join(
            w for w in (f"${rule.url_env}" if rule.url_env else "", rule.url_file or "") if w
        )
        why = f"no destination URL: set {where}"
        store.alert_done(row, "held", why, at, at + HOLD_SECONDS)
        log.warning("alert %s waits: %s", row.rule, why)
        return "held"
    if store.alert_sent_since(row.destination, at - HOUR) >= rule.per_hour:
        why = f"rate limit: {rule.per_hour} per hour to {row.destination}"
        store.alert_done(row, "held", why, at, at + max(HOLD_SECONDS, HOUR // rule.per_hour))
        return "held"
    try:
        sent, why = notify(url, row.title, row.message)
    except Exception as exc:  # a notifier's bug must not lose the alert: it is retried
        sent, why = False, f"{type(exc).__name__}: {exc}"
    why = redact(why)
    if sent:
        store.alert_done(row, "sent", "", at, None)
        return "sent"
    if row.attempts + 1 >= rule.retries:
        store.alert_done(row, "failed", why, at, None)
        log.error(
            "alert %s to %s given up after %d attempts: %s",
            row.rule,
            row.destination,
            row.attempts + 1,
            why,
        )
        return "failed"
    wait = min(FIRST_WAIT * 2**row.attempts, LONGEST_WAIT)
    store.alert_done(row, "error", why, at, at + wait)
    log.warning("alert %s to %s failed, retried in %ds: %s", row.rule, row.destination, wait, why)
    return "retrying"


def run(
    config: Config,
    store: Store,
    clock: Callable[[], datetime] = now,
    notify: Notifier = apprise_notify,
) -> tuple[Evaluation, Delivered]:
    """Evaluate every rule, then deliver what is due: what the daemon does after a round."""
    evaluation = evaluate(config, store, clock)
    return evaluation, deliver(config, store, clock, notify)


def after_round(config: Config, store: Store, clock: Callable[[], datetime] = now) -> None:
    """The daemon's hook after each round: never raises, since alerts must not stop rounds."""
    if not config.alerts:
        return
    try:
        evaluation, delivered = run(config, store, clock)
    except Exception as exc:  # the database away, a bug: logged, and tried again next round
        log.warning("alerts not evaluated: %s", redact(" ".join(str(exc).split())[:300]))
        return
    if evaluation.fired or delivered.any:
        log.info(
            "alerts: %d fired; %s",
            len(evaluation.fired),
            delivered.line(),
            extra={"event": "alerts", "fired": len(evaluation.fired), "sent": delivered.sent},
        )
