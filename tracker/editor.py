"""Edit `tracker.toml` in place: list, add and remove hashtags and accounts.

tomlkit finds and renders the entries, so only the touched entry's lines change; comments,
blank lines and order stay. The result is checked with `tracker.config.load` and then
replaces the file atomically; a refused edit leaves it byte-for-byte unchanged.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Array, Comment, Table, Whitespace
from tomlkit.toml_document import TOMLDocument

from tracker.collectors import registry
from tracker.config import INSTAGRAM_HASHTAGS, load, normalize_tag
from tracker.configfile import read_toml
from tracker.errors import ConfigError, UsageError

# Platforms whose handles are written with a leading '@' that is not part of the name.
AT_HANDLES = frozenset({"bluesky", "x", "instagram", "tiktok", "youtube", "reddit"})
# Platforms tracker knows about even when no collector for them is installed.
KNOWN_PLATFORMS = AT_HANDLES | {"mastodon"}
_START, _END = "\ue000tracker-cut-start\ue000", "\ue000tracker-cut-end\ue000"


def list_hashtags(path: str | Path) -> list[dict[str, Any]]:
    """Every `[[hashtags]]` entry as {'tag' (normal form), 'platforms', 'subject'}."""
    found = [e.unwrap() for e in _open(path, "hashtags")[3]]
    return [
        e | {"tag": _normal(str(e.get("tag", ""))), "subject": e.get("subject", "")} for e in found
    ]


def list_accounts(path: str | Path) -> list[dict[str, Any]]:
    """Every `[[accounts]]` entry as {'platform', 'handle', 'subject', 'id'}."""
    keys = ("platform", "handle", "subject", "id")
    return [{k: e.unwrap().get(k, "") for k in keys} for e in _open(path, "accounts")[3]]


def add_hashtag(path: str | Path, tag: str, platforms: list[str], subject: str = "") -> str:
    """Add a hashtag (or merge new platforms into it); returns its normal form."""
    normal = _normal(tag, given=True)
    wanted = _platforms(platforms, "hashtag")
    subject = subject.strip()
    where, raw, doc, entries = _open(path, "hashtags")
    index = _find_tag(entries, normal)
    if index is None:
        entry = {"tag": normal, "platforms": wanted} | ({"subject": subject} if subject else {})
        _write(where, raw, _append(where, doc, "hashtags", entry, raw))
        return normal
    current = entries[index]
    old = str(current.get("subject", ""))
    if subject and old and subject != old:
        raise UsageError(
            f"{where}: hashtags[{index}] (#{normal}) already has subject {old!r}; "
            "remove the hashtag first to change its subject"
        )
    listed = current.get("platforms")
    if not isinstance(listed, Array):
        raise ConfigError(str(where), f"hashtags[{index}].platforms", "must be a list of names")
    listed.extend(n for n in wanted if n not in [str(p).strip().casefold() for p in listed])
    if subject and not old:
        current["subject"] = subject
    _write(where, raw, doc.as_string())
    return normal


def remove_hashtag(path: str | Path, tag: str) -> bool:
    """Remove the hashtag whose normal form matches `tag`; an error if there is none."""
    normal = _normal(tag, given=True)
    where, raw, doc, entries = _open(path, "hashtags")
    index = _find_tag(entries, normal)
    if index is None:
        raise UsageError(f"{where}: no hashtag #{normal} to remove")
    _write(where, raw, _without(where, doc, entries, index))
    return True


def add_account(path: str | Path, platform: str, handle: str, subject: str, id: str = "") -> str:
    """Add an account; returns the handle as written. Refuses a duplicate platform+handle."""
    name = _platforms([platform], "account")[0]
    normal = normalize_handle(name, handle)
    if not subject.strip():
        raise UsageError("subject refused: an account needs a subject (who or what it is)")
    where, raw, doc, entries = _open(path, "accounts")
    index = _find_account(entries, name, normal)
    if index is not None:
        raise UsageError(f"{where}: {name} account {normal!r} is already accounts[{index}]")
    entry = {"platform": name, "handle": normal, "subject": subject.strip()}
    entry |= {"id": id.strip()} if id.strip() else {}
    _write(where, raw, _append(where, doc, "accounts", entry, raw))
    return normal


def remove_account(path: str | Path, platform: str, handle: str) -> bool:
    """Remove the account on `platform` with `handle` (case-insensitive); an error if none."""
    name = platform.strip().casefold()
    normal = normalize_handle(name, handle)
    where, raw, doc, entries = _open(path, "accounts")
    index = _find_account(entries, name, normal)
    if index is None:
        raise UsageError(f"{where}: no {name} account {normal!r} to remove")
    _write(where, raw, _without(where, doc, entries, index))
    return True


def normalize_handle(platform: str, handle: str) -> str:
    """Strip blanks; drop a leading '@' (mastodon keeps and requires 'user@domain')."""
    text = handle.strip()
    if platform == "mastodon":
        user, _, domain = text.removeprefix("@").partition("@")
        if not user or not domain or "@" in domain or "/" in domain or " " in text:
            raise UsageError(
                f"handle {handle!r} refused: a Mastodon account is written user@domain, "
                "e.g. alice@mastodon.social"
            )
        return f"{user}@{domain.lower()}"
    if platform in AT_HANDLES:
        text = text.removeprefix("@")
    if not text or any(c.isspace() for c in text):
        raise UsageError(f"handle {handle!r} refused: it must be one word, not empty")
    return text


def _normal(tag: str, given: bool = False) -> str:
    """The normal form; a bad tag is refused if `given`, kept as written if from the file."""
    try:
        return normalize_tag(tag)
    except ValueError as exc:
        if given:
            raise UsageError(f"hashtag {tag!r} refused: {exc}") from None
        return tag


def _platforms(names: list[str], kind: str) -> list[str]:
    collectors = registry.available()
    installed = set(collectors)
    wanted: list[str] = []
    for raw in names:
        name = raw.strip().casefold()
        if kind == "hashtag" and name == "instagram":
            raise UsageError(f"platform 'instagram' refused: {INSTAGRAM_HASHTAGS}")
        if name in collectors and kind not in collectors[name].kinds:
            measures = ", ".join(sorted(collectors[name].kinds))
            raise UsageError(f"platform {raw!r} refused: its collector measures {measures} only")
        if name not in installed and name not in KNOWN_PLATFORMS:
            raise UsageError(
                f"platform {raw!r} refused: unknown (installed: {', '.join(sorted(installed))}; "
                f"known: {', '.join(sorted(KNOWN_PLATFORMS - installed))})"
            )
        if name not in wanted:
            wanted.append(name)
    if not wanted:
        raise UsageError(f"platforms refused: a {kind} needs at least one platform")
    return wanted


def _open(path: str | Path, key: str) -> tuple[Path, bytes, TOMLDocument, AoT | Array]:
    """The file's bytes, its tomlkit document and its `key` array (empty if absent)."""
    where = Path(path)
    read_toml(where)  # the same "no such file" / "not valid TOML" errors as `load`
    raw = where.read_bytes()
    text = raw.decode("utf-8")
    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(str(where), "", f"not valid TOML: {exc}") from None
    if doc.as_string() != text:  # e.g. [[hashtags]] tables split by another table
        raise ConfigError(str(where), "", "this layout cannot be edited safely; edit it by hand")
    value = doc.get(key, tomlkit.aot())
    if not isinstance(value, AoT | Array) or not all(isinstance(e, dict) for e in value):
        raise ConfigError(str(where), key, f"must be an array of tables ([[{key}]])")
    return where, raw, doc, value


def _find_tag(entries: AoT | Array, normal: str) -> int | None:
    tags = [_normal(str(entry.get("tag", ""))) for entry in entries]
    return tags.index(normal) if normal in tags else None


def _find_account(entries: AoT | Array, platform: str, handle: str) -> int | None:
    for i, entry in enumerate(entries):
        written = str(entry.get("handle", ""))
        with contextlib.suppress(UsageError):
            written = normalize_handle(platform, written)
        same = str(entry.get("platform", "")).strip().casefold() == platform
        if same and written.casefold() == handle.casefold():
            return i
    return None


def _trailing(table: Table) -> int:
    """Index in the table's body where its trailing blank lines and comments begin."""
    body = table.value.body
    end = len(body)
    while end and body[end - 1][0] is None and isinstance(body[end - 1][1], Comment | Whitespace):
        end -= 1
    return end


def _render(doc: TOMLDocument, where: Path) -> tuple[str, str]:
    """Render with the cut markers in; returns the text before and after them."""
    text = doc.as_string()
    if text.count(_START) != 1 or text.count(_END) != 1:
        raise ConfigError(str(where), "", "this layout cannot be edited safely; edit it by hand")
    return text.split(_START)[0], text.split(_END)[1]


def _without(where: Path, doc: TOMLDocument, entries: AoT | Array, index: int) -> str:
    """The document text without entry `index`, keeping the comments that follow it."""
    if isinstance(entries, Array):
        del entries[index]
        return doc.as_string()
    table = entries[index]
    table.value.body.insert(_trailing(table), (None, Whitespace(_END)))
    table.trivia.indent = _START + table.trivia.indent
    before, after = _render(doc, where)
    if not before.strip():  # the entry was the first thing in the file
        return after.lstrip("\r\n")
    if not after.strip():  # the entry was the last thing in the file
        return before.rstrip("\r\n") + _newline(before)
    while before.endswith(("\n\n", "\n\r\n")) and after.startswith(("\n", "\r\n")):
        after = after[after.index("\n") + 1 :]
    return before + after


def _append(where: Path, doc: TOMLDocument, key: str, entry: dict[str, Any], raw: bytes) -> str:
    """The document text with `entry` after the last `[[key]]` table (or at the end)."""
    entries = doc.get(key)
    if isinstance(entries, Array):
        entries.append(tomlkit.inline_table())
        entries[-1].update(entry)
        return doc.as_string()
    new = tomlkit.document()
    new.append(key, tomlkit.aot())
    new[key].append(entry)
    nl = _newline(raw.decode("utf-8"))
    block = new.as_string().replace("\n", nl)
    if not entries:
        text = doc.as_string()
        head = text.rstrip("\r\n") + nl + nl if text.strip() else ""
        return f"{head}# {key.capitalize()} to track, one [[{key}]] table each.{nl}{block}"
    last = entries[-1]
    last.value.body.insert(_trailing(last), (None, Whitespace(_START + _END)))
    before, after = _render(doc, where)
    if not before.endswith("\n"):
        before += nl
    return before + nl + block + after


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _write(where: Path, raw: bytes, text: str) -> None:
    """Validate `text` as `load` would, then replace the file atomically (same mode)."""
    data = text.encode("utf-8")
    if data == raw:
        return
    target = where.resolve()  # write through a symlink, not over it
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            load(tmp)
        except ConfigError as exc:
            file = str(where) if exc.file == tmp else exc.file
            raise ConfigError(
                file, exc.key, f"{exc.reason} (edit refused, file unchanged)"
            ) from None
        if where.read_bytes() != raw:
            raise ConfigError(str(where), "", "changed by someone else during the edit; retry")
        os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
