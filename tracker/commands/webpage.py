"""`tracker web test`: try a page rule on a page and see what it reads, and why not."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tracker.commands.context import EXIT_FAILED, context, fail

if TYPE_CHECKING:
    from tracker.collectors.web import PageRule
    from tracker.config import HttpSettings

app = typer.Typer(no_args_is_help=True, help="Write and check the web source's page rules.")


@app.command("test")
def test(
    ctx: typer.Context,
    titles: Annotated[list[str], typer.Argument(help="Titles to look for, as targets name them.")],
    page: Annotated[str, typer.Option("--page", help="A rule of sources.web.pages.")] = "",
    url: Annotated[str, typer.Option("--url", help="Read this URL [the rule's url].")] = "",
    file: Annotated[
        Path | None, typer.Option("--file", help="Read a saved page instead of a URL.")
    ] = None,
    pattern: Annotated[str, typer.Option("--pattern", help="Try this pattern instead.")] = "",
    selector: Annotated[str, typer.Option("--selector", help="Try this selector instead.")] = "",
    metric: Annotated[str, typer.Option("--metric", help="What the value is [chart_rank].")] = "",
    extra: Annotated[
        list[str] | None,
        typer.Option("--extra", help="More metrics from the match: metric=group (repeatable)."),
    ] = None,
) -> None:
    """Run a page rule against a page: what each title reads, or why nothing was read.

    Nothing is stored. Exit 0 when every title gave every metric, 1 otherwise.

    \b
    Examples:
      tracker web test Heartstopper --page variety-trending-tv
      tracker web test Heartstopper --file saved.html \\
        --pattern 'claimed the (?P<rank>top) spot.*?(?P<value>[0-9.]+) million engagements' \\
        --extra engagements=value
    """
    import asyncio

    from tracker.collectors.web import WebPageCollector, WebSettings, explain
    from tracker.errors import BadPayload

    overrides: dict[str, Any] = {"pattern": pattern, "selector": selector, "metric": metric}
    overrides = {k: v for k, v in overrides.items() if v}
    if extra:
        overrides["extra_metrics"] = dict(_pair(item) for item in extra)
    rule, http = _rule(ctx, page, url, file, overrides)
    if file is not None:
        try:
            body = file.read_bytes()
        except OSError as exc:
            fail(f"--file: cannot read {file}: {exc.strerror or exc}")
    else:
        collector = WebPageCollector(WebSettings(pages=[rule]))
        body = asyncio.run(_fetch(collector, url or rule.url, http))
    try:
        trials = explain(rule, body, titles)
    except BadPayload as exc:
        fail(f"{file or url or rule.url}: {exc.cause}", EXIT_FAILED)
    typer.echo(f"rule {rule.name}: " + (f"pattern {rule.pattern}" if rule.pattern else ""))
    if rule.selector:
        typer.echo(f"  selector {rule.selector}")
    for trial in trials:
        typer.echo("\n".join(trial.lines()))
    if any(trial.failure for trial in trials):
        raise typer.Exit(EXIT_FAILED)


def _pair(item: str) -> tuple[str, str]:
    metric, sep, group = item.partition("=")
    if not sep or not metric.strip() or not group.strip():
        fail(f"--extra: {item!r} is not metric=group, e.g. engagements=value")
    return metric.strip(), group.strip()


def _rule(
    ctx: typer.Context, page: str, url: str, file: Path | None, overrides: dict[str, Any]
) -> tuple[PageRule, HttpSettings]:
    """The rule to try (a configured one, changed by the options) and the HTTP settings."""
    from pydantic import ValidationError

    from tracker.collectors.web import PageRule, WebSettings
    from tracker.config import HttpSettings

    http = HttpSettings()
    base: dict[str, Any] = {}
    if page or not (overrides.get("pattern") or overrides.get("selector")):
        config = context(ctx).config()
        http = config.http
        settings = config.source_settings.get("web")
        rules = {r.name: r for r in settings.pages} if isinstance(settings, WebSettings) else {}
        known = ", ".join(rules) or "none"
        if not page and len(rules) != 1:
            fail(f"name a rule with --page (sources.web.pages: {known}) or give --pattern")
        chosen = rules.get(page) if page else next(iter(rules.values()))
        if chosen is None:
            fail(f"--page: no page rule named {page!r} in {config.path} (known: {known})")
        base = chosen.model_dump()
        if "pattern" in overrides or "metric" in overrides:
            # Let the groups default again for the new pattern or metric.
            base.update(value_group="", title_group="")
    else:
        base = {"name": "test", "url": url or "http://localhost/"}
    if url:
        base["url"] = url
    elif file is not None and not base.get("url"):
        base["url"] = "http://localhost/"
    try:
        return PageRule(**{**base, **overrides}), http
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"rule: {first['msg'].removeprefix('Value error, ')}")


async def _fetch(collector: Any, url: str, http: HttpSettings) -> bytes:
    import httpx

    from tracker.http import make_client

    async with make_client(http) as client:
        try:
            response = await client.get(url)
        except httpx.HTTPError as exc:
            fail(f"{url}: {type(exc).__name__}: {exc}", EXIT_FAILED)
    error = collector.error(response.status_code, response.headers, response.content)
    if error is not None:
        fail(f"{url}: {error.cause}", EXIT_FAILED)
    content: bytes = response.content
    return content
