"""Bluesky follower counts through the public AppView (`app.bsky.actor.getProfiles`).

No credentials are needed. Up to 25 actors (handles or DIDs) go in one request; actors the
AppView cannot resolve are silently left out of the answer, so every target is matched back
by handle or DID and the unmatched ones are reported as failures, never as zero.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from tracker.collectors.base import (
    Collector,
    Observation,
    Parsed,
    Request,
    SourceSettings,
    Target,
    as_count,
    error_json,
    load_json,
    require,
)
from tracker.errors import BadPayload, NotFound, SourceError

# The lexicon caps `actors` at 25; a longer list is refused with a 400 for the whole batch.
MAX_BATCH = 25

_HANDLE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")

# Error names the AppView uses for accounts that exist no more or are hidden from view.
_GONE = {"AccountTakedown", "AccountDeactivated", "RepoTakendown", "RepoDeactivated"}


class BlueskySettings(SourceSettings):
    base_url: str = "https://public.api.bsky.app"
    batch_size: int = Field(default=MAX_BATCH, ge=1, le=MAX_BATCH)


def actor_of(target: Target) -> str:
    """The actor string to send: a DID as written, a handle lower-cased without its '@'."""
    name = target.name.strip()
    if name.startswith("did:"):
        return name
    return name.lstrip("@").lower()


def is_valid_actor(actor: str) -> bool:
    return bool(_DID.match(actor) or _HANDLE.match(actor))


class BlueskyCollector(Collector):
    name: ClassVar[str] = "bluesky"
    settings_model: ClassVar[type[SourceSettings]] = BlueskySettings
    kinds: ClassVar[frozenset[str]] = frozenset({"account"})
    description: ClassVar[str] = "Bluesky followers via the public app.bsky.actor.getProfiles"
    handle_prefix: ClassVar[str] = "@"

    settings: BlueskySettings

    @classmethod
    def normalize_handle(cls, handle: str) -> str:
        """As written, without its '@'; refused unless it is a handle (a domain) or a DID."""
        name = super().normalize_handle(handle)
        if not is_valid_actor(name if name.startswith("did:") else name.lower()):
            raise ValueError("a Bluesky account is a handle like alice.bsky.social, or a DID")
        return name

    @property
    def url(self) -> str:
        return f"{self.settings.base_url}/xrpc/app.bsky.actor.getProfiles"

    def plan(self, targets: Sequence[Target]) -> list[Request]:
        by_actor: dict[str, list[Target]] = {}
        for target in targets:
            by_actor.setdefault(actor_of(target), []).append(target)
        valid = [actor for actor in by_actor if is_valid_actor(actor)]
        # A malformed actor makes the AppView refuse the whole list, so each one travels
        # alone and only its own target fails.
        invalid = [[actor] for actor in by_actor if not is_valid_actor(actor)]
        size = self.settings.batch_size
        batches = [valid[i : i + size] for i in range(0, len(valid), size)] + invalid
        return [
            Request(
                targets=tuple(t for actor in batch for t in by_actor[actor]),
                url=self.url,
                params=tuple(("actors", actor) for actor in batch),
            )
            for batch in batches
        ]

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> SourceError | None:
        if status == 400:
            name, message = _xrpc_error(body)
            if message == "Profile not found" or name in _GONE:
                return NotFound(f"Bluesky: {message or name}")
            if name:
                return SourceError(f"Bluesky refused the request: {name}: {message}")
        return super().error(status, headers, body)

    def parse(self, request: Request, body: bytes, at: datetime) -> Parsed:
        profiles = require(load_json(body), "profiles")
        if not isinstance(profiles, list):
            raise BadPayload(f"profiles: expected a list, got {type(profiles).__name__}")
        by_key: dict[str, dict[str, Any]] = {}
        for profile in profiles:
            if not isinstance(profile, dict):
                raise BadPayload(f"profiles[]: expected an object, got {profile!r:.60}")
            for field in ("did", "handle"):
                value = profile.get(field)
                if isinstance(value, str):
                    by_key[value if field == "did" else value.lower()] = profile
        parsed = Parsed()
        for target in request.targets:
            profile = by_key.get(actor_of(target))
            if profile is None:
                parsed.failures[target.name] = "not found: Bluesky left the actor out"
                continue
            try:
                parsed.observations.append(_observation(profile, target, at))
            except BadPayload as exc:
                parsed.failures[target.name] = exc.cause
        return parsed


def _observation(profile: dict[str, Any], target: Target, at: datetime) -> Observation:
    did = require(profile, "did")
    if not isinstance(did, str) or not did.startswith("did:"):
        raise BadPayload(f"profile did: expected a DID, got {did!r:.60}")
    followers = as_count(require(profile, "followersCount"), "followersCount")
    return Observation(
        metric="followers",
        key=did,
        value=followers,
        at=at,
        subject=target.subject,
        label=str(profile.get("handle") or ""),
    )


def _xrpc_error(body: bytes) -> tuple[str, str]:
    """`(error, message)` from an XRPC error body; empty strings when it is not one."""
    data = error_json(body)
    return str(data.get("error") or ""), str(data.get("message") or "")
