"""Where each part of a TOML file is written: statements, values and their offsets.

`tomllib` says what a file means; this module says where each piece of it sits in the text,
so that an edit can splice new text in and leave every other byte as the user wrote it —
nothing is ever re-rendered. It reads only files that `tomllib` has accepted; on anything it
does not expect it raises `Unreadable` with the line, and the caller refuses the edit.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Literal

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# Integers, floats, booleans, inf/nan, dates and times: everything that is not a string,
# an array or an inline table is one run of these characters...
_SCALAR = re.compile(r"[A-Za-z0-9_+\-.:]+")
# ...except a date and a time joined by a space (1979-05-27 07:32:00Z).
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_AFTER_SPACE = re.compile(r" \d{2}:\d{2}")


class Unreadable(Exception):
    """The text has a construct this reader does not follow; `line` is 1-based."""

    def __init__(self, line: int, what: str) -> None:
        self.line, self.what = line, what
        super().__init__(f"line {line}: {what}")


@dataclass(frozen=True, slots=True)
class Value:
    """A value's text span [start, end); arrays list their items, inline tables their pairs."""

    kind: Literal["scalar", "string", "array", "table"]
    start: int
    end: int
    items: tuple[Item, ...] = ()
    pairs: tuple[Pair, ...] = ()


@dataclass(frozen=True, slots=True)
class Item:
    """An array element and the offset of the comma after it (None for a last one without)."""

    value: Value
    comma: int | None


@dataclass(frozen=True, slots=True)
class Pair:
    """`key = value` inside an inline table; `comma` as for `Item`."""

    key: tuple[str, ...]
    start: int
    value: Value
    comma: int | None


@dataclass(frozen=True, slots=True)
class Statement:
    """One top-level statement: whole lines, from the line's start to past its newline.

    kind is "table" ([a.b]), "array" ([[a.b]]), "pair" (a = 1), "comment" or "blank";
    `key` is the header's or the pair's dotted key; `value` is the pair's value.
    """

    kind: Literal["table", "array", "pair", "comment", "blank"]
    start: int
    end: int
    line: int
    key: tuple[str, ...] = ()
    value: Value | None = field(default=None)


def statements(text: str) -> list[Statement]:
    """Every statement of `text`, in order; their spans cover the text exactly."""
    return _Reader(text).statements()


def line_of(text: str, offset: int) -> int:
    """The 1-based line number of `offset`."""
    return text.count("\n", 0, offset) + 1


def line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def line_end(text: str, offset: int) -> int:
    """Offset just past the newline of the line holding `offset` (or the end of the text)."""
    found = text.find("\n", offset)
    return len(text) if found < 0 else found + 1


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def string(value: str) -> str:
    """`value` as a TOML basic string."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif char in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


# A replacement of text[start:end] by `new`.
Splice = tuple[int, int, str]


def apply(text: str, splices: list[Splice]) -> str:
    """`text` with every splice made; splices must not overlap."""
    out, pos = [], 0
    for start, end, new in sorted(splices):
        if start < pos:
            raise ValueError("overlapping splices")
        out += [text[pos:start], new]
        pos = end
    return "".join(out) + text[pos:]


def append_items(text: str, array: Value, items: list[str]) -> list[Splice]:
    """Splices that add `items` (TOML text) at the end of `array`, in the array's own style:
    one line each in a multi-line array, else after a comma and the array's spacing."""
    close = array.end - 1
    if not array.items:
        return [(close, close, ", ".join(items))]
    last = array.items[-1]
    if "\n" in text[last.value.end : close]:  # the closing bracket has a line of its own
        nl, indent = newline_of(text), _indent(text, last.value.start)
        if last.comma is not None:
            at = line_start(text, close)
            return [(at, at, "".join(f"{indent}{item},{nl}" for item in items))]
        after = line_end(text, last.value.end)
        lines = f",{nl}".join(f"{indent}{item}" for item in items) + nl
        return [(last.value.end, last.value.end, ","), (after, after, lines)]
    sep = ", "
    if len(array.items) > 1 and array.items[0].comma is not None:
        between = text[array.items[0].comma + 1 : array.items[1].value.start]
        sep = "," + between if between.strip(" \t") == "" else sep
    if last.comma is not None:
        return [(last.comma + 1, last.comma + 1, sep[1:] + sep.join(items) + ",")]
    return [(last.value.end, last.value.end, sep + sep.join(items))]


def remove_item(text: str, array: Value, index: int) -> list[Splice]:
    """Splices that remove item `index` of `array` with its comma; an item on lines of its
    own goes with those lines, comments on other lines stay."""
    item = array.items[index]
    start = item.value.start
    end = item.value.end if item.comma is None else item.comma + 1
    rest = text[end : line_end(text, end)].strip()
    if not text[line_start(text, start) : start].strip(" \t") and (not rest or rest[0] == "#"):
        return [(line_start(text, start), line_end(text, end), "")]
    if item.comma is not None:
        after = end
        while text[after : after + 1] in (" ", "\t"):
            after += 1
        return [(start, after, "")]
    if index == 0:
        return [(start, end, "")]
    comma = array.items[index - 1].comma
    assert comma is not None  # every item but the last has one
    if "#" in text[comma:start]:  # keep the comment between them
        return [(comma, comma + 1, ""), (line_start(text, start), end, "")]
    return [(comma, end, "")]


def _indent(text: str, offset: int) -> str:
    head = text[line_start(text, offset) : offset]
    return head[: len(head) - len(head.lstrip(" \t"))]


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # -- statements ----------------------------------------------------------------------
    def statements(self) -> list[Statement]:
        found: list[Statement] = []
        while self.pos < len(self.text):
            found.append(self._statement())
        return found

    def _statement(self) -> Statement:
        start = self.pos
        line = line_of(self.text, start)
        self._blanks()
        char = self._peek()
        if char in ("", "\r", "\n"):
            self._end_of_line()
            return Statement("blank", start, self.pos, line)
        if char == "#":
            self._end_of_line()
            return Statement("comment", start, self.pos, line)
        if char == "[":
            kind: Literal["table", "array"] = "array" if self._at("[[") else "table"
            self.pos += 2 if kind == "array" else 1
            key = self._key()
            self._blanks()
            close = "]]" if kind == "array" else "]"
            if not self._at(close):
                raise self._unreadable(f"expected {close!r} to close the table header")
            self.pos += len(close)
            self._end_of_line()
            return Statement(kind, start, self.pos, line, key)
        key = self._key()
        self._blanks()
        if not self._at("="):
            raise self._unreadable("expected '=' after a key")
        self.pos += 1
        self._blanks()
        value = self._value()
        self._end_of_line()
        return Statement("pair", start, self.pos, line, key, value)

    def _end_of_line(self) -> None:
        """Blanks, an optional comment, then the newline (or the end of the text)."""
        self._blanks()
        if self._peek() == "#":
            self.pos = self._comment_end(self.pos)
        if self._at("\r\n"):
            self.pos += 2
        elif self._at("\n"):
            self.pos += 1
        elif self.pos < len(self.text):
            raise self._unreadable("unexpected text after a statement")

    # -- keys ----------------------------------------------------------------------------
    def _key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self._blanks()
            char = self._peek()
            if char == '"' or char == "'":
                start = self.pos
                self._single_line_string(char)
                parts.append(tomllib.loads(f"k = {self.text[start : self.pos]}")["k"])
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if not match:
                    raise self._unreadable("expected a key")
                parts.append(match.group())
                self.pos = match.end()
            self._blanks()
            if self._peek() != ".":
                return tuple(parts)
            self.pos += 1

    # -- values --------------------------------------------------------------------------
    def _value(self) -> Value:
        start = self.pos
        char = self._peek()
        if self._at('"""') or self._at("'''"):
            self._multi_line_string(self.text[start : start + 3])
            return Value("string", start, self.pos)
        if char == '"' or char == "'":
            self._single_line_string(char)
            return Value("string", start, self.pos)
        if char == "[":
            return self._array()
        if char == "{":
            return self._inline_table()
        match = _SCALAR.match(self.text, start)
        if not match:
            raise self._unreadable("expected a value")
        self.pos = match.end()
        if _DATE.fullmatch(match.group()) and _TIME_AFTER_SPACE.match(self.text, self.pos):
            rest = _SCALAR.match(self.text, self.pos + 1)
            assert rest is not None  # the time pattern matched there
            self.pos = rest.end()
        return Value("scalar", start, self.pos)

    def _single_line_string(self, quote: str) -> None:
        self.pos += 1
        while True:
            char = self._peek()
            if char in ("", "\n"):
                raise self._unreadable("unterminated string")
            if char == "\\" and quote == '"':
                self.pos += 2
                continue
            self.pos += 1
            if char == quote:
                return

    def _multi_line_string(self, delimiter: str) -> None:
        self.pos += 3
        while True:
            if self.pos >= len(self.text):
                raise self._unreadable("unterminated multi-line string")
            if delimiter == '"""' and self._peek() == "\\":
                self.pos += 2
                continue
            if self._at(delimiter):
                self.pos += 3
                # Up to two quotes right before the delimiter belong to the string.
                for _ in range(2):
                    if self._peek() == delimiter[0]:
                        self.pos += 1
                return
            self.pos += 1

    def _array(self) -> Value:
        start = self.pos
        self.pos += 1
        items: list[Item] = []
        while True:
            self._gap()
            if self._peek() == "]":
                self.pos += 1
                return Value("array", start, self.pos, items=tuple(items))
            value = self._value()
            self._gap()
            if self._peek() == ",":
                items.append(Item(value, self.pos))
                self.pos += 1
            elif self._peek() == "]":
                items.append(Item(value, None))
            else:
                raise self._unreadable("expected ',' or ']' in an array")

    def _inline_table(self) -> Value:
        start = self.pos
        self.pos += 1
        pairs: list[Pair] = []
        while True:
            self._gap()
            if self._peek() == "}":
                self.pos += 1
                return Value("table", start, self.pos, pairs=tuple(pairs))
            key_start = self.pos
            key = self._key()
            self._blanks()
            if not self._at("="):
                raise self._unreadable("expected '=' in an inline table")
            self.pos += 1
            self._blanks()
            value = self._value()
            self._gap()
            if self._peek() == ",":
                pairs.append(Pair(key, key_start, value, self.pos))
                self.pos += 1
            elif self._peek() == "}":
                pairs.append(Pair(key, key_start, value, None))
            else:
                raise self._unreadable("expected ',' or '}' in an inline table")

    # -- blanks --------------------------------------------------------------------------
    def _blanks(self) -> None:
        while self._peek() in (" ", "\t"):
            self.pos += 1

    def _gap(self) -> None:
        """Blanks, newlines and comments: what may stand between an array's items."""
        while True:
            self._blanks()
            if self._peek() == "#":
                self.pos = self._comment_end(self.pos)
            elif self._at("\r\n"):
                self.pos += 2
            elif self._at("\n"):
                self.pos += 1
            else:
                return

    def _comment_end(self, pos: int) -> int:
        """Offset of the newline that ends the comment at `pos` (CR LF: of its CR)."""
        end = self.text.find("\n", pos)
        end = len(self.text) if end < 0 else end
        return end - 1 if end > pos and self.text[end - 1] == "\r" else end

    # -- helpers -------------------------------------------------------------------------
    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _at(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def _unreadable(self, what: str) -> Unreadable:
        return Unreadable(line_of(self.text, self.pos), what)
