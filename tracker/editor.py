"""Edit `tracker.toml` in place: list, add and remove hashtags and accounts.

An edit is a splice: `tomltext` finds where the entry is written, the edit replaces exactly
those characters, and every other byte stays as the user wrote it — comments, order and
spacing are never re-rendered, whatever any TOML library would print. Before anything is
written, the result must parse to the old data with only the intended change (else the edit
is refused, naming the entry's line) and pass `tracker.config.load`; then it replaces the
file atomically. A refused edit leaves the file byte-for-byte unchanged.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker import tomltext
from tracker.collectors import registry
from tracker.collectors.base import Collector
from tracker.config import load
from tracker.configfile import read_toml
from tracker.core import normalize_tag
from tracker.errors import ConfigError, UsageError
from tracker.tomltext import Splice, Value


@dataclass(frozen=True, slots=True)
class Added:
    """What an add did. Nothing `changed` means it was already tracked: the file is as it was."""

    name: str  # the tag's normal form, or the handle as written
    platforms: tuple[str, ...]  # every platform it is tracked on now
    added: tuple[str, ...]  # the platforms this add put in
    new_entry: bool  # a new [[hashtags]] or [[accounts]] table
    changed: bool


def list_hashtags(path: str | Path) -> list[dict[str, Any]]:
    """Every `[[hashtags]]` entry as {'tag' (normal form), 'platforms', 'subject'}."""
    found = _entries(Path(path), read_toml(Path(path)), "hashtags")
    return [
        e | {"tag": _normal(str(e.get("tag", ""))), "subject": e.get("subject", "")} for e in found
    ]


def list_accounts(path: str | Path) -> list[dict[str, Any]]:
    """Every `[[accounts]]` entry as {'platform', 'handle', 'subject', 'id'}."""
    keys = ("platform", "handle", "subject", "id")
    found = _entries(Path(path), read_toml(Path(path)), "accounts")
    return [{k: e.get(k, "") for k in keys} for e in found]


def add_hashtag(path: str | Path, tag: str, platforms: list[str], subject: str = "") -> Added:
    """Add a hashtag, or merge new platforms (and a missing subject) into its entry."""
    normal = _normal(tag, given=True)
    wanted = _platforms(platforms, "hashtag")
    subject = subject.strip()
    doc = _open(path, "hashtags")
    index = _find_tag(doc.entries, normal)
    if index is None:
        entry: dict[str, Any] = {"tag": normal, "platforms": wanted}
        entry |= {"subject": subject} if subject else {}
        _write(doc, _checked(doc, _add_entry(doc, entry), [*doc.entries, entry], None))
        return Added(normal, tuple(wanted), tuple(wanted), new_entry=True, changed=True)
    current = doc.entries[index]
    old = str(current.get("subject", ""))
    if subject and old and subject != old:
        raise UsageError(
            f"{doc.where}: hashtags[{index}] (#{normal}) already has subject {old!r}; "
            "remove the hashtag first to change its subject"
        )
    listed = current.get("platforms")
    field = doc.spans[index].pairs.get("platforms")
    if not isinstance(listed, list) or field is None or field.kind != "array":
        raise ConfigError(str(doc.where), f"hashtags[{index}].platforms", "must be a list of names")
    have = [str(p).strip().casefold() for p in listed]
    new = [n for n in wanted if n not in have]
    splices = tomltext.append_items(doc.text, field, [tomltext.string(n) for n in new])
    splices = splices if new else []
    fill = bool(subject) and not old
    if fill:
        splices.append(_add_pair(doc, index, "subject", subject))
    if splices:
        changed = current | {"platforms": [*listed, *new]} | ({"subject": subject} if fill else {})
        expected = [changed if i == index else e for i, e in enumerate(doc.entries)]
        _write(doc, _checked(doc, tomltext.apply(doc.text, splices), expected, index))
    return Added(normal, (*have, *new), tuple(new), new_entry=False, changed=bool(splices))


def remove_hashtag(path: str | Path, tag: str) -> str:
    """Remove the hashtag whose normal form matches `tag`; returns that normal form."""
    normal = _normal(tag, given=True)
    doc = _open(path, "hashtags")
    index = _find_tag(doc.entries, normal)
    if index is None:
        raise UsageError(f"{doc.where}: no hashtag #{normal} to remove")
    _write(doc, _checked(doc, _without(doc, index), _dropped(doc.entries, index), index))
    return normal


def add_account(path: str | Path, platform: str, handle: str, subject: str, id: str = "") -> Added:
    """Add an account; the same account with the same subject again changes nothing."""
    name = _platforms([platform], "account")[0]
    normal = normalize_handle(name, handle)
    subject, id = subject.strip(), id.strip()
    if not subject:
        raise UsageError("subject refused: an account needs a subject (who or what it is)")
    doc = _open(path, "accounts")
    index = _find_account(doc.entries, name, normal)
    if index is not None:
        current = doc.entries[index]
        old, old_id = str(current.get("subject", "")).strip(), str(current.get("id", "")).strip()
        if old == subject and (not id or id == old_id):
            written = str(current.get("handle", normal))
            return Added(written, (name,), (), new_entry=False, changed=False)
        raise UsageError(
            f"{doc.where}: {name} account {normal!r} is already accounts[{index}] "
            f"(subject {old!r}{f', id {old_id!r}' if old_id else ''}); remove it first to change it"
        )
    entry = {"platform": name, "handle": normal, "subject": subject} | ({"id": id} if id else {})
    _write(doc, _checked(doc, _add_entry(doc, entry), [*doc.entries, entry], None))
    return Added(normal, (name,), (name,), new_entry=True, changed=True)


def remove_account(path: str | Path, platform: str, handle: str) -> bool:
    """Remove the account on `platform` with `handle` (case-insensitive); an error if none."""
    name = platform.strip().casefold()
    normal = normalize_handle(name, handle)
    doc = _open(path, "accounts")
    index = _find_account(doc.entries, name, normal)
    if index is None:
        raise UsageError(f"{doc.where}: no {name} account {normal!r} to remove")
    _write(doc, _checked(doc, _without(doc, index), _dropped(doc.entries, index), index))
    return True


def normalize_handle(platform: str, handle: str) -> str:
    """The handle as the platform's collector writes it (`Collector.normalize_handle`): blanks
    stripped, a leading '@' dropped where it is not part of the name, and so on."""
    cls = registry.available().get(platform, Collector)
    try:
        return cls.normalize_handle(handle)
    except ValueError as exc:
        raise UsageError(f"handle {handle!r} refused: {exc}") from None


def _normal(tag: str, given: bool = False) -> str:
    """The normal form; a bad tag is refused if `given`, kept as written if from the file."""
    try:
        return normalize_tag(tag)
    except ValueError as exc:
        if given:
            raise UsageError(f"hashtag {tag!r} refused: {exc}") from None
        return tag


def _platforms(names: list[str], kind: str) -> list[str]:
    """The platforms named, each installed and measuring `kind` (its own reason if not)."""
    collectors = registry.available()
    wanted: list[str] = []
    for raw in names:
        name = raw.strip().casefold()
        failed = registry.broken().get(name)
        if failed:
            raise UsageError(f"platform {raw!r} refused: its plugin failed to load: {failed}")
        if name not in collectors:
            installed = ", ".join(sorted(collectors)) or "none"
            raise UsageError(f"platform {raw!r} refused: unknown (installed: {installed})")
        reason = collectors[name].refusal(kind)
        if reason:
            raise UsageError(f"platform {raw!r} refused: {reason}")
        if name not in wanted:
            wanted.append(name)
    if not wanted:
        raise UsageError(f"platforms refused: a {kind} needs at least one platform")
    return wanted


# -- where the entries are written ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Span:
    """Where one entry is written: a [[key]] table (from its header line to past its last
    pair's line) or an inline table in `key = [...]`."""

    line: int
    start: int
    end: int
    pairs: dict[str, Value]  # its one-part keys
    indent: str  # of its pairs' lines
    inline: bool


@dataclass(frozen=True, slots=True)
class _Doc:
    where: Path
    raw: bytes
    text: str
    data: dict[str, Any]
    key: str
    entries: list[dict[str, Any]]  # data[key]
    spans: list[_Span]  # where each entry is written
    array: Value | None  # `key = [...]`, when the entries are written that way


def _entries(where: Path, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise ConfigError(str(where), key, f"must be an array of tables ([[{key}]])")
    return value


def _open(path: str | Path, key: str) -> _Doc:
    """The file's bytes, its data, and where each `key` entry is written."""
    where = Path(path)
    read_toml(where)  # the same "no such file" / "not valid TOML" errors as `load`
    raw = where.read_bytes()
    text = raw.decode("utf-8")
    data = tomllib.loads(text)  # from these very bytes, should the file change meanwhile
    entries = _entries(where, data, key)
    try:
        found = tomltext.statements(text)
    except tomltext.Unreadable as exc:
        raise ConfigError(
            str(where), "", f"line {exc.line}: {exc.what}: cannot be edited safely; edit it by hand"
        ) from None
    spans: list[_Span] = []
    array: Value | None = None
    table: tuple[str, ...] = ()
    for i, statement in enumerate(found):
        if statement.kind in ("table", "array"):
            table = statement.key
            if statement.kind == "array" and statement.key == (key,):
                spans.append(_table_span(text, found, i))
        elif statement.kind == "pair" and table == () and statement.key == (key,):
            array = statement.value
            assert array is not None  # a pair has a value
            for item in array.items:
                value = item.value
                pairs = {p.key[0]: p.value for p in value.pairs if len(p.key) == 1}
                line = tomltext.line_of(text, value.start)
                spans.append(_Span(line, value.start, value.end, pairs, "", inline=True))
    if len(spans) != len(entries):
        line = spans[0].line if spans else 1
        raise ConfigError(
            str(where), key, f"line {line}: this layout cannot be edited safely; edit it by hand"
        )
    return _Doc(where, raw, text, data, key, entries, spans, array)


def _table_span(text: str, found: list[tomltext.Statement], header: int) -> _Span:
    start = found[header]
    end, indent, pairs = start.end, "", dict[str, Value]()
    for statement in found[header + 1 :]:
        if statement.kind in ("table", "array"):
            break
        if statement.kind == "pair":
            assert statement.value is not None
            if not pairs:
                line = text[statement.start : statement.end]
                indent = line[: len(line) - len(line.lstrip(" \t"))]
            if len(statement.key) == 1:
                pairs[statement.key[0]] = statement.value
            end = statement.end
    return _Span(start.line, start.start, end, pairs, indent, inline=False)


# -- the splices ------------------------------------------------------------------------------
def _add_entry(doc: _Doc, entry: dict[str, Any]) -> str:
    """The text with `entry` after the last entry (or at the end, as a commented array)."""
    text, nl = doc.text, tomltext.newline_of(doc.text)
    if doc.array is not None:
        pairs = ", ".join(f"{k} = {_render(v)}" for k, v in entry.items())
        return tomltext.apply(text, tomltext.append_items(text, doc.array, [f"{{ {pairs} }}"]))
    block = f"[[{doc.key}]]{nl}" + "".join(f"{k} = {_render(v)}{nl}" for k, v in entry.items())
    if not doc.spans:
        head = text.rstrip("\r\n") + nl + nl if text.strip() else ""
        return f"{head}# {doc.key.capitalize()} to track, one [[{doc.key}]] table each.{nl}{block}"
    at = doc.spans[-1].end
    before = text[:at] if text[:at].endswith("\n") else text[:at] + nl
    return before + nl + block + text[at:]


def _add_pair(doc: _Doc, index: int, key: str, value: str) -> Splice:
    span = doc.spans[index]
    if span.inline:
        last = max((v.end for v in span.pairs.values()), default=span.start + 1)
        return (last, last, f", {key} = {_render(value)}")
    nl = tomltext.newline_of(doc.text)
    lead = "" if doc.text[: span.end].endswith("\n") else nl
    return (span.end, span.end, f"{lead}{span.indent}{key} = {_render(value)}{nl}")


def _without(doc: _Doc, index: int) -> str:
    """The text without entry `index`; the comments and blank lines around it stay."""
    if doc.array is not None:
        return tomltext.apply(doc.text, tomltext.remove_item(doc.text, doc.array, index))
    span = doc.spans[index]
    before, after = doc.text[: span.start], doc.text[span.end :]
    if not before.strip():  # the entry was the first thing in the file
        return after.lstrip("\r\n")
    if not after.strip():  # the entry was the last thing in the file
        return before.rstrip("\r\n") + tomltext.newline_of(doc.text)
    while before.endswith(("\n\n", "\n\r\n")) and after.startswith(("\n", "\r\n")):
        after = after[after.index("\n") + 1 :]
    return before + after


def _render(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(tomltext.string(str(v)) for v in value) + "]"
    return tomltext.string(str(value))


def _dropped(entries: list[dict[str, Any]], index: int) -> list[dict[str, Any]]:
    return entries[:index] + entries[index + 1 :]


def _checked(doc: _Doc, text: str, expected: list[dict[str, Any]], index: int | None) -> str:
    """`text`, if it means the old data with `key` set to `expected` and nothing else changed;
    else the edit is refused naming the entry's line."""
    try:
        got: dict[str, Any] | None = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        got = None
    if got is not None and {**got, doc.key: got.get(doc.key, [])} == {
        **doc.data,
        doc.key: expected,
    }:
        return text
    span = doc.spans[index if index is not None else -1] if doc.spans else None
    where = f"{doc.key}[{index}]" if index is not None else doc.key
    line = f"line {span.line}: " if span else ""
    raise ConfigError(
        str(doc.where), where, f"{line}this layout cannot be edited safely; edit it by hand"
    )


def _find_tag(entries: list[dict[str, Any]], normal: str) -> int | None:
    tags = [_normal(str(entry.get("tag", ""))) for entry in entries]
    return tags.index(normal) if normal in tags else None


def _find_account(entries: list[dict[str, Any]], platform: str, handle: str) -> int | None:
    for i, entry in enumerate(entries):
        written = str(entry.get("handle", ""))
        with contextlib.suppress(UsageError):
            written = normalize_handle(platform, written)
        same = str(entry.get("platform", "")).strip().casefold() == platform
        if same and written.casefold() == handle.casefold():
            return i
    return None


def _write(doc: _Doc, text: str) -> None:
    """Validate `text` as `load` would, then replace the file atomically (same mode)."""
    where, raw = doc.where, doc.raw
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
