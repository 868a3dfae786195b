"""A rule's destination: the Apprise URL(s) read like any credential, their secrets masked.

The parts of an Apprise URL that carry secrets are registered with `tracker.secrets`, so the
log filter and `redact` mask them wherever they would appear: the password and the user, a
host that is no host name (Telegram's bot token, Discord's webhook id), and every path segment
and query value that looks like a token. The whole URL is not registered: its 8-character
runs ("https://", "127.0.0.") would mask every other URL in every log line.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from tracker.secrets import remember, unmasked

if TYPE_CHECKING:
    from tracker.alerts.rules import Rule

# Apprise takes several URLs in one value, separated by commas or whitespace.
_SEPARATORS = re.compile(r"[\s,]+")
_PORT = re.compile(r":\d+$")


def url(rule: Rule) -> str | None:
    """The rule's Apprise URL(s), from `url_env` or `url_file`; None when neither is set."""
    value = unmasked(rule.url_env, rule.url_file)
    if value:
        for part in secret_parts(value):
            remember(part)
    return value


def secret_parts(value: str) -> list[str]:
    """What in Apprise URL(s) is a secret (see the module docstring)."""
    found: list[str] = []
    for one in _SEPARATORS.split(value.strip()):
        if "://" not in one:
            continue
        parts = urlsplit(one)
        userinfo, _, hostport = parts.netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        host = _PORT.sub("", hostport)
        found += [unquote(password), unquote(user) if _tokenish(user) else ""]
        if "." not in host and host.lower() != "localhost":
            found.append(unquote(host))
        found += [unquote(s) for s in parts.path.split("/") if _tokenish(s)]
        found += [v for _, v in parse_qsl(parts.query) if _tokenish(v)]
        found += [unquote(parts.fragment)] if _tokenish(parts.fragment) else []
    return [f for f in found if len(f) >= 4]


def _tokenish(text: str) -> bool:
    """A credential rather than a word: long, or holding a digit."""
    return len(text) >= 12 or (len(text) >= 6 and any(c.isdigit() for c in text))
