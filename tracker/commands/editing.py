"""Commands that edit the config file in place: tracked hashtags and accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracker.commands.context import context

hashtags = typer.Typer(no_args_is_help=True, help="List, add or remove tracked hashtags.")
accounts = typer.Typer(no_args_is_help=True, help="List, add or remove tracked accounts.")


def _config_file(ctx: typer.Context) -> Path:
    from tracker.configfile import config_path

    return config_path(context(ctx).config_path)


def _default_platform(kind: str) -> str:
    """The installed source that takes `kind` when no --platform is given (`default_for`)."""
    from tracker.collectors import registry
    from tracker.config import default_source
    from tracker.errors import UsageError

    try:
        return default_source(kind, registry.available())
    except ValueError as exc:
        raise UsageError(f"--platform: {exc}") from None


@hashtags.command("list")
def hashtags_list(ctx: typer.Context) -> None:
    """Show tracked hashtags.  Example: tracker hashtags list"""
    from tracker import editor, views

    views.records(editor.list_hashtags(_config_file(ctx)), ("tag", "platforms", "subject"))


@hashtags.command("add")
def hashtags_add(
    ctx: typer.Context,
    tag: Annotated[str, typer.Argument(help="With or without '#'.")],
    platform: Annotated[
        list[str] | None,
        typer.Option("--platform", help="Repeatable; default: the source that takes hashtags."),
    ] = None,
    subject: Annotated[str, typer.Option("--subject", help="Who the tag is about.")] = "",
) -> None:
    """Track a hashtag. A tag already tracked on those platforms is left as it is (exit 0).

    \b
    Examples:
      tracker hashtags add '#NickAndCharlie' --platform mastodon
      tracker hashtags add heartstopperseason2 --platform mastodon --subject Heartstopper
    """
    from tracker import editor

    platforms = platform or [_default_platform("hashtag")]
    done = editor.add_hashtag(_config_file(ctx), tag, platforms, subject)
    on = ", ".join(done.platforms)
    if not done.changed:
        typer.echo(f"#{done.name} is already tracked ({on}); nothing changed")
    elif done.new_entry:
        typer.echo(f"tracking #{done.name} ({on})")
    elif done.added:
        typer.echo(f"tracking #{done.name} on {', '.join(done.added)} too ({on})")
    else:
        typer.echo(f"#{done.name} ({on}): subject set to {subject.strip()!r}")


@hashtags.command("remove")
def hashtags_remove(ctx: typer.Context, tag: str) -> None:
    """Stop tracking a hashtag; its history stays.

    \b
    Example:
      tracker hashtags remove heartstopper
    """
    from tracker import editor

    normal = editor.remove_hashtag(_config_file(ctx), tag)
    typer.echo(f"no longer tracking #{normal}")


@accounts.command("list")
def accounts_list(ctx: typer.Context) -> None:
    """Show tracked accounts.  Example: tracker accounts list"""
    from tracker import editor, views

    views.records(editor.list_accounts(_config_file(ctx)), ("platform", "handle", "subject", "id"))


@accounts.command("add")
def accounts_add(
    ctx: typer.Context,
    platform: str,
    handle: str,
    subject: Annotated[str, typer.Option("--subject", help="Who the account belongs to.")],
    id: Annotated[str, typer.Option("--id", help="The platform's stable id, if known.")] = "",
) -> None:
    """Track an account. The same account with the same subject is left as it is (exit 0).

    \b
    Example:
      tracker accounts add bluesky alice.bsky.social --subject "Alice Oseman"
    """
    from tracker import editor

    done = editor.add_account(_config_file(ctx), platform, handle, subject, id)
    if done.changed:
        typer.echo(f"tracking {done.platforms[0]} {done.name} as {subject.strip()!r}")
    else:
        typer.echo(f"{done.platforms[0]} {done.name} is already tracked; nothing changed")


@accounts.command("remove")
def accounts_remove(ctx: typer.Context, platform: str, handle: str) -> None:
    """Stop tracking an account.  Example: tracker accounts remove bluesky alice.bsky.social"""
    from tracker import editor

    editor.remove_account(_config_file(ctx), platform, handle)
    typer.echo(f"no longer tracking {platform} {handle}")
