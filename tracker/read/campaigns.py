"""The campaign as the read model sees it: its events, its subjects, the one asked for."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from tracker.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from tracker.campaign import Campaign
    from tracker.config import Config


def events(config_file: str | None) -> dict[str, date]:
    """The campaign's events (launch first) read from the file alone: the read commands do
    not load the full config (its collectors and environment overrides) for this."""
    from pydantic import ValidationError

    from tracker.campaign import Campaign
    from tracker.configfile import find_config, read_toml

    where = find_config(config_file)
    if where is None:
        return {}
    data = read_toml(where).get("campaign")
    if data is None:
        return {}
    try:
        return Campaign.model_validate(data).dates()
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(["campaign", *(str(part) for part in first["loc"])])
        raise ConfigError(str(where), key, first["msg"].removeprefix("Value error, ")) from None


def event(option: str, known: dict[str, date], name: str) -> tuple[str, date]:
    """The event called `name` (any case), or a UsageError naming the option and the choices."""
    if not known:
        raise UsageError(f"{option}: {name!r}: the config has no [campaign] to take events from")
    for found, day in known.items():
        if found.casefold() == name.strip().casefold():
            return found, day
    raise UsageError(f"{option}: no event named {name!r} (the campaign has: {', '.join(known)})")


def chosen(config: Config, name: str | None, option: str = "CAMPAIGN") -> Campaign:
    """The config's campaign, checked against the name the user gave."""
    if config.campaign is None:
        raise ConfigError(str(config.path), "campaign", "no [campaign] section")
    if name is not None and name.strip().casefold() != config.campaign.name.casefold():
        raise UsageError(
            f"{option}: no campaign named {name!r} in {config.path} "
            f"(it has {config.campaign.name!r})"
        )
    return config.campaign


def subjects_of(config: Config) -> list[str]:
    """Everything the campaign and the targets are about, in config order, once each."""
    found: list[str] = []
    if config.campaign:
        found += [r.subject for r in config.campaign.baselines + config.campaign.claims]
    for source in sorted(config.platforms_named()):
        found += [t.subject for t in config.targets(source)]
    once: dict[str, str] = {}
    for name in found:
        once.setdefault(name.casefold(), name)
    return list(once.values())
