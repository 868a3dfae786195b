"""`tracker alerts list | test RULE | history`: the rules, a dry run on stored data, the log."""

from __future__ import annotations

from typing import Annotated

import typer

from tracker.commands.context import EXIT_FAILED, context, fail

app = typer.Typer(
    no_args_is_help=True,
    help="Alert rules ([[alerts]] in the config): their state, a dry run, what was sent.",
)


@app.command("list")
def list_rules(ctx: typer.Context) -> None:
    """Every rule: what it watches, its destination, open episodes and when it last fired.

    \b
    Example:
      tracker alerts list
    """
    from tracker.alerts import destination
    from tracker.timeutil import from_epoch

    config = context(ctx).config()
    store = context(ctx).read_store(config)
    try:
        states, waiting = store.alert_states(), store.alert_waiting()
    finally:
        store.close()
    if not config.alerts:
        typer.echo(f"no [[alerts]] rules in {config.path}")
        return
    for rule in config.alerts:
        mine = [s for s in states if s.rule == rule.name]
        fired = max((s.fired for s in mine if s.fired), default=None)
        last = f"{from_epoch(fired):%Y-%m-%d %H:%M} UTC" if fired else "never"
        has_url = destination.url(rule) is not None
        where = rule.destination + ("" if has_url else " (not set: nothing can be sent)")
        selection = " ".join(
            f"{key}={value}"
            for key, value in (
                ("subject", rule.subject),
                ("platform", rule.platform),
                ("metric", rule.metric),
                *sorted(rule.labels.items()),
            )
            if value
        )
        typer.echo(f"{rule.name}  ({rule.kind}{', ' + selection if selection else ''})")
        typer.echo(
            f"  state: {sum(s.active for s in mine)} of {len(mine)} watched in an episode; "
            f"last fired {last}; {waiting.get(rule.name, 0)} waiting to be sent"
        )
        typer.echo(f"  destination: {where}; at most {rule.per_hour} per hour")


@app.command("test")
def test_rule(
    ctx: typer.Context,
    rule: Annotated[str, typer.Argument(help="The rule's name (see `tracker alerts list`).")],
    send: Annotated[
        bool, typer.Option("--send", help="Send what would fire to the rule's destination.")
    ] = False,
) -> None:
    """Evaluate one rule on the stored data and show what would fire now. Nothing is
    recorded, and nothing is sent unless --send.

    \b
    Examples:
      tracker alerts test kit-10x
      tracker alerts test kit-10x --send
    """
    from tracker.alerts import destination
    from tracker.alerts.deliver import apprise_notify
    from tracker.alerts.evaluate import evaluate, title
    from tracker.secrets import redact

    config = context(ctx).config()
    chosen = next((r for r in config.alerts if r.name == rule), None)
    if chosen is None:
        known = ", ".join(r.name for r in config.alerts) or "none"
        fail(f"RULE: no alert rule named {rule!r} in {config.path} (known: {known})")
    store = context(ctx).read_store(config)
    try:
        result = evaluate(config, store, rules=[chosen], save=False)
    finally:
        store.close()
    typer.echo(
        f"{rule}: {result.checked} watched, the condition holds for {result.holding}; "
        f"{len(result.fired)} would fire now"
    )
    for fired in result.fired:
        typer.echo(f"  would fire: {fired.message}")
    if not send or not result.fired:
        return
    url = destination.url(chosen)
    if url is None:
        fail(f"--send: no destination URL: set {chosen.destination}")
    failures = 0
    for fired in result.fired:
        sent, why = apprise_notify(url, title(chosen), fired.message)
        failures += not sent
        typer.echo(f"  {'sent' if sent else 'not sent: ' + redact(why)}: {fired.message}")
    if failures:
        raise typer.Exit(EXIT_FAILED)


@app.command("history")
def history(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule's.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="How many.")] = 50,
) -> None:
    """The delivery log, newest first: rule, series, outcome, destination, message.

    \b
    Example:
      tracker alerts history --limit 20
    """
    from tracker.timeutil import from_epoch

    store = context(ctx).query_store()
    try:
        rows = store.alert_deliveries(rule, limit)
    finally:
        store.close()
    if not rows and rule:
        fail(f"--rule: no delivery of a rule named {rule!r} in the log", EXIT_FAILED)
    if not rows:
        typer.echo("no alert delivered or attempted yet")
        return
    for row in rows:
        when = f"{from_epoch(row.at):%Y-%m-%d %H:%M:%S}"
        why = f" ({row.detail})" if row.detail else ""
        typer.echo(f"{when}  {row.outcome:<6}  {row.rule}  to {row.destination}{why}")
        typer.echo(f"    {row.message}")
