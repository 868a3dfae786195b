"""Charts without an API, read off web pages: a CSS selector or a regular expression per page.

Each page rule (`[[sources.web.pages]]`) names one chart and where it is published. A target
(`kind = "chart"`, name = the title to look for, option `page` = the rule's name) is found
either by a CSS `selector` (the first matched element's text is the number) or by a `pattern`
(a Python regular expression with named groups, run over the page's visible text, or over
the selected elements' text when both are given). `{title}` in either stands for the target's
title: a CSS string, or an escaped expression matching any case.

The text a pattern sees has one line per block (paragraph, list item, table cell, heading),
with the whitespace inside a block collapsed. So `.*?` reaches across sentences but never
out of its block: Variety writes "... claimed the top spot ... has landed at No. 1. The
series earned more than 1.28 million engagements", and `top spot.*?(?P<value>[0-9.]+) million`
reads it, where `[^.]*?` stops at "No." or the full stop.

Numbers are read as prose writes them: "top" and "first" are 1, "second" … "tenth" 2 … 10,
"No. 3", "#3" and "3rd" are 3, "1.28 million" is 1,280,000 to 3 significant figures.
`explain` runs a rule against a page and says what it read and why not: `tracker web test`.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from tracker.collectors.base import (
    Collector,
    Observation,
    Parsed,
    Request,
    SourceSettings,
    Target,
)
from tracker.errors import BadPayload, ConfigError

if TYPE_CHECKING:  # bs4 and soupsieve load when a page is read or a rule checked: ~45 ms
    from bs4 import BeautifulSoup  # of every command's start otherwise, pages or not

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_NUMBER = re.compile(
    r"(?<!\d)(?<!\d[.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:(?:st|nd|rd|th)(?![a-z]))?"
    r"(?:\s*(k|m|b|bn|thousand|million|billion)(?![a-z]))?",
    re.IGNORECASE,
)
_SCALE_AFTER = re.compile(r"^\s*(k|m|b|bn|thousand|million|billion)(?![a-z])", re.IGNORECASE)
_SCALES = {"k": 3, "thousand": 3, "m": 6, "million": 6, "b": 9, "bn": 9, "billion": 9}
_ORDINALS = {
    "top": 1,
    "first": 1,
    "number one": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
_ORDINAL = re.compile(r"\b(" + "|".join(_ORDINALS) + r")\b", re.IGNORECASE)
# Marks where a block ends in the page text; becomes a line break once whitespace is folded.
_BLOCK_END = "\u2029"
_INVISIBLE = ["script", "style", "noscript", "template", "head"]
_BLOCKS = "p div li tr td th h1 h2 h3 h4 h5 h6 br section article blockquote dd dt".split()


class PageRule(BaseModel):
    """One chart on one page, and how to read a title's figure off it."""

    model_config = ConfigDict(extra="forbid")

    name: str  # the chart's name, e.g. "variety-trending-tv"; targets name it as `page`
    url: str
    selector: str = ""  # CSS (soupsieve); `{title}` becomes the target's title as a CSS string
    pattern: str = ""  # Python regex with named groups; `{title}` becomes the escaped title
    metric: str = "chart_rank"
    value_group: str = ""  # default "rank" for chart_rank, else "value"
    title_group: str = ""  # default "title" when the pattern has such a group
    # More metrics read from the same match: metric -> named group, e.g. {engagements = "value"}.
    extra_metrics: dict[str, str] = {}

    @model_validator(mode="after")
    def _rules(self) -> PageRule:
        if not _NAME.match(self.name):
            raise ValueError(f"page {self.name!r}: use lower-case letters, digits, - _ or .")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"page {self.name!r}: {self.url!r} is not an absolute http(s) URL")
        if not self.selector and not self.pattern:
            raise ValueError(f"page {self.name!r}: give a selector or a pattern")
        if self.selector:
            import soupsieve

            try:
                soupsieve.compile(self.selector.replace("{title}", '"x"'))
            except soupsieve.SelectorSyntaxError as exc:
                raise ValueError(f"page {self.name!r}: bad selector: {exc}") from None
        if not self.pattern:
            if self.value_group or self.title_group or self.extra_metrics:
                raise ValueError(f"page {self.name!r}: groups need a pattern")
            return self
        try:
            groups = re.compile(self.pattern.replace("{title}", "x")).groupindex
        except re.error as exc:
            raise ValueError(f"page {self.name!r}: bad pattern: {exc}") from None
        self.value_group = self.value_group or ("rank" if self.metric == "chart_rank" else "value")
        if not self.title_group and "title" in groups:
            self.title_group = "title"
        wanted = [self.value_group, *self.extra_metrics.values()]
        wanted += [self.title_group] if self.title_group else []
        absent = [g for g in wanted if g not in groups]
        if absent:
            raise ValueError(f"page {self.name!r}: the pattern has no group(s) {absent}")
        return self

    @property
    def metrics(self) -> list[tuple[str, str]]:
        """(metric, group) pairs; the group is '' when the selected text is the value."""
        return [(self.metric, self.value_group), *self.extra_metrics.items()]


class WebSettings(SourceSettings):
    # Unused: every page rule carries its own absolute URL. Kept because every source has one.
    base_url: str = "https://variety.com"
    interval: timedelta = timedelta(days=1)
    pages: list[PageRule] = []

    @field_validator("pages")
    @classmethod
    def _unique(cls, value: list[PageRule]) -> list[PageRule]:
        names = [rule.name for rule in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"page names must be unique; repeated: {twice}")
        return value


class WebPageCollector(Collector):
    name: ClassVar[str] = "web"
    settings_model: ClassVar[type[SourceSettings]] = WebSettings
    kinds: ClassVar[frozenset[str]] = frozenset({"chart"})
    description: ClassVar[str] = "Chart figures read off web pages by CSS selector or pattern."
    # Claims name the chart's publisher; this generic reader is what reads its page.
    aliases: ClassVar[frozenset[str]] = frozenset({"variety"})

    settings: WebSettings

    @classmethod
    def answers(cls, alias: str, key: str, labels: Mapping[str, str]) -> bool:
        # Many publishers' charts: only the series of a page rule named after the publisher.
        return alias in labels.get("page", key)

    def missing(self) -> str | None:
        if self.settings.pages:
            return None
        return "add a page rule ([[sources.web.pages]] with name, url, selector or pattern)"

    def rule(self, target: Target) -> PageRule:
        rules = {rule.name: rule for rule in self.settings.pages}
        name = target.option("page")
        if not name and len(rules) == 1:
            return self.settings.pages[0]
        if name not in rules:
            known = ", ".join(rules) or "none"
            why = f"no page rule named {name!r} (sources.web.pages: {known})"
            if not name:
                why = f"several page rules ({known}): the target must name its `page`"
            raise ConfigError("sources.web", target.name, why)
        return rules[name]

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        by_rule: dict[str, list[Target]] = {}
        for target in targets:
            if target.kind in self.kinds:
                rule = self.rule(target)
                options = (*(kv for kv in target.options if kv[0] != "page"), ("page", rule.name))
                by_rule.setdefault(rule.name, []).append(
                    dataclasses.replace(target, options=options)
                )
        urls = {rule.name: rule.url for rule in self.settings.pages}
        return [Request(targets=tuple(group), url=urls[name]) for name, group in by_rule.items()]

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        soup = _document(body)
        parsed = Parsed()
        for target in request.targets:
            rule = self.rule(target)
            try:
                texts, where = _texts(soup, rule, target.name)
                found = _find(texts, rule, target.name)
            except BadPayload as exc:
                parsed.failures[target.name] = exc.cause
                continue
            if found is None:
                parsed.failures[target.name] = f"nothing matched {where[:120]}"
                continue
            title, values, errors = found
            key, labels = f"{rule.name}:{_fold(target.name)}", {"page": rule.name}
            for metric, (value, sig) in values.items():
                parsed.observations.append(
                    Observation(metric, key, value, at, target.subject, title, labels, sig=sig)
                )
            if errors:
                parsed.failures[target.name] = "; ".join(errors)
        return parsed


def read_number(text: str, after: str = "") -> tuple[int, int | None]:
    """'top' -> (1, None); 'second' -> (2, None); 'No. 3' -> (3, None);
    '1.28 million' -> (1280000, 3 figures).

    A scale word may follow the text in `after` ('1.28' + ' million engagements'). Exact
    numbers have no significant-figure count; scaled ones count the figures written.
    """
    match = _NUMBER.search(text)
    if match is None:
        word = _ORDINAL.search(text)
        if word:
            return _ORDINALS[" ".join(word.group(1).lower().split())], None
        raise ValueError(f"no number in {text.strip()[:60]!r}")
    whole, fraction, scale = match.group(1).replace(",", ""), match.group(2) or "", match.group(3)
    if scale is None and not text[match.end() :].strip():
        follow = _SCALE_AFTER.match(after)
        scale = follow.group(1) if follow else None
    if scale is None:
        if fraction:
            raise ValueError(f"{match.group(0)!r} is not a whole number")
        return int(whole), None
    mantissa = Decimal(f"{whole}.{fraction}" if fraction else whole)
    value = mantissa.scaleb(_SCALES[scale.lower()])
    if value != value.to_integral_value():
        raise ValueError(f"{match.group(0)!r} is not a whole number")
    return int(value), len((whole + fraction).lstrip("0")) or 1


def _document(body: bytes) -> BeautifulSoup:
    head = body.lstrip()[:1]
    if not head:
        raise BadPayload("empty body")
    if head != b"<":
        raise BadPayload(f"not an HTML page: starts {body.strip()[:40]!r}")
    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(body, "html.parser")
    if soup.find(True) is None:
        raise BadPayload("no HTML elements in the page")
    for tag in soup.find_all(_INVISIBLE):
        tag.decompose()
    # Each block becomes a line of its own (see _clean), so '<p>a.</p><p>b</p>' reads 'a.' and
    # 'b' on two lines, never 'a.b', and `.` in a pattern stays within one block.
    for tag in soup.find_all(_BLOCKS):
        tag.append(_BLOCK_END)
    return soup


def _texts(soup: BeautifulSoup, rule: PageRule, title: str) -> tuple[list[str], str]:
    """The texts to read for `title`, and what was looked for (for 'nothing matched')."""
    if not rule.selector:
        return [_clean(soup.get_text(""))], rule.pattern
    selector = rule.selector.replace("{title}", _css_string(title))
    elements = soup.select(selector)
    return [_clean(e.get_text("")) for e in elements], selector


def _find(
    texts: list[str], rule: PageRule, title: str, log: list[str] | None = None
) -> tuple[str, dict[str, tuple[int, int | None]], list[str]] | None:
    """(title as seen, metric -> (value, sig), errors) of the first match, or None.

    `log`, when given, gets a line per match passed over (another title) and for the one read.
    """
    if not rule.pattern:
        if not texts:
            return None
        return title, {rule.metric: _number(texts[0], "")}, []
    pattern = re.compile(rule.pattern.replace("{title}", f"(?i:{re.escape(title)})"))
    for text in texts:
        for match in pattern.finditer(text):
            seen = match.group(rule.title_group) if rule.title_group else title
            if seen is None or _fold(seen) != _fold(title):
                if log is not None:
                    shown = "nothing" if seen is None else repr(" ".join(seen.split()))
                    log.append(
                        f"passed over {_excerpt(match.group(0))}: its {rule.title_group!r} "
                        f"group reads {shown}, not {title!r}"
                    )
                continue
            if log is not None:
                log.append(f"read {_excerpt(match.group(0))}")
            values: dict[str, tuple[int, int | None]] = {}
            errors: list[str] = []
            for metric, group in rule.metrics:
                raw = match.group(group)
                try:
                    if raw is None:
                        raise BadPayload(f"group {group!r} matched nothing")
                    values[metric] = _number(raw, text[match.end(group) :])
                except BadPayload as exc:
                    errors.append(f"{metric}: {exc.cause}")
            return " ".join(seen.split()), values, errors
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class Trial:
    """What one rule read for one title on one page, and why it read no more."""

    title: str
    values: dict[str, tuple[int, int | None]]  # metric -> (value, significant figures)
    failure: str  # the cause a round would record; '' when every metric was read
    notes: tuple[str, ...]  # where the rule looked and what it passed over

    def lines(self) -> list[str]:
        head = [f"{self.title}:"]
        for metric, (value, sig) in self.values.items():
            precision = f" ({sig} significant figures)" if sig else ""
            head.append(f"  {metric} = {value:,}{precision}")
        if self.failure:
            head.append(f"  not read: {self.failure}")
        return head + [f"  - {note}" for note in self.notes]


def explain(rule: PageRule, body: bytes, titles: Sequence[str]) -> list[Trial]:
    """Run `rule` over a page for each title, as a round would, and say why not. Pure.

    Raises BadPayload when the body is no HTML page (what a round records for every title).
    """
    soup = _document(body)
    trials = []
    for title in titles:
        texts, where = _texts(soup, rule, title)
        if rule.selector:
            notes = [f"selector {where} matched {len(texts)} element(s)"]
        else:
            notes = [f"searched {sum(t.count(chr(10)) + 1 for t in texts)} block(s) of text"]
        log: list[str] = []
        values: dict[str, tuple[int, int | None]] = {}
        try:
            found = _find(texts, rule, title, log)
            failure = "" if found else f"nothing matched {where[:120]}"
        except BadPayload as exc:
            found, failure = None, exc.cause
        if found is not None:
            _, values, errors = found
            failure = "; ".join(errors)
        elif rule.pattern:
            lines = [line for text in texts for line in text.split("\n")]
            mentions = [line for line in lines if _fold(title) in _fold(line)]
            notes += [
                f"the title is in {_excerpt(line)}, but the pattern does not match there"
                for line in mentions[:3]
            ]
            if not mentions:
                notes.append(f"{title!r} appears nowhere in the text searched")
        more = [f"... and {len(log) - 6} more"] if len(log) > 6 else []
        trials.append(Trial(title, values, failure, (*notes, *log[:6], *more)))
    return trials


def _excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _number(text: str, after: str) -> tuple[int, int | None]:
    try:
        return read_number(text, after)
    except ValueError as exc:
        raise BadPayload(f"page changed? {exc}") from None


def _clean(text: str) -> str:
    """One line per block, whitespace folded inside each; empty blocks dropped."""
    lines = (" ".join(part.split()) for part in text.split(_BLOCK_END))
    return "\n".join(line for line in lines if line)


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
