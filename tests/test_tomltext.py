"""The TOML text reader: statements cover the text exactly, values are found where written,
and array splices keep the array's own style."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tracker import tomltext

ROOT = Path(__file__).resolve().parents[1]

TRICKY = '''\
# a comment with "quotes" and [[brackets]] and = signs
"quoted key" = 'literal \\ no escape'   # trailing
dotted.key . spaced = 1_000
when = 1979-05-27 07:32:00Z
day = 1979-05-27
time = 07:32:00.999
floats = [+1.5e3, -inf, nan, 0xdead_beef ]
text = """
[[hashtags]]
tag = "not a table" \\"""
still inside """
raw = \'\'\'
it's [not] # a comment\'\'\'\'
five = """a""\"""
empty = []
nested = [ [1, 2], ["a", 'b'], [ { x = 1 } ] ]
inline = { name = "renewal", date = 2022-05-20, deep = { a = [1, 2,] } }

[table . "sub"]   # header comment
key = "value with # hash"
multi = [
  "one",   # first
  # a comment line
  "two",
]

\t[[aot]]
\ta = 1
[[aot]]
b = "\\u00e9\\t\\"q\\""
'''


def _corpus() -> list[str]:
    files = [TRICKY, TRICKY.replace("\n", "\r\n"), "", "\n", "a = 1", "# only\n\n"]
    files += [(ROOT / "config" / "tracker.toml").read_text(encoding="utf-8")]
    return files


@pytest.mark.parametrize("text", _corpus(), ids=lambda t: repr(t[:20]))
def test_statements_cover_the_text_and_values_parse_alone(text: str) -> None:
    tomllib.loads(text)  # the corpus is valid TOML
    found = tomltext.statements(text)
    assert "".join(text[s.start : s.end] for s in found) == text
    for statement in found:
        assert statement.line == text.count("\n", 0, statement.start) + 1
        if statement.kind != "pair":
            continue
        assert statement.value is not None
        written = text[statement.value.start : statement.value.end]
        assert written == written.strip() and written
        tomllib.loads(f"v = {written}")


def test_root_values_are_found_where_written() -> None:
    found = tomltext.statements(TRICKY)
    data = tomllib.loads(TRICKY)
    values = {}
    for statement in found:
        if statement.kind in ("table", "array"):
            break
        if statement.kind == "pair":
            assert statement.value is not None
            written = TRICKY[statement.value.start : statement.value.end]
            values[statement.key] = tomllib.loads(f"v = {written}")["v"]
    assert values[("quoted key",)] == "literal \\ no escape"
    assert values[("dotted", "key", "spaced")] == data["dotted"]["key"]["spaced"] == 1000
    assert values[("when",)] == data["when"]
    assert values[("text",)] == data["text"] and "[[hashtags]]" in data["text"]
    assert values[("raw",)] == data["raw"] == "it's [not] # a comment'"
    assert values[("five",)] == data["five"] == 'a""'
    assert values[("inline",)] == data["inline"]
    assert values[("nested",)] == data["nested"]
    headers = [(s.kind, s.key, s.line) for s in found if s.kind in ("table", "array")]
    assert headers == [
        ("table", ("table", "sub"), 19),
        ("array", ("aot",), 27),
        ("array", ("aot",), 29),
    ]


def test_items_and_pairs_are_listed() -> None:
    text = 'a = [ {x = 1, y = "two"}, 3 ,\n 4 # c\n ]\n'
    (statement,) = tomltext.statements(text)
    assert statement.value is not None
    items = statement.value.items
    assert [text[i.value.start : i.value.end] for i in items] == ['{x = 1, y = "two"}', "3", "4"]
    assert [i.comma is not None for i in items] == [True, True, False]
    table = items[0].value
    assert [(p.key, text[p.value.start : p.value.end]) for p in table.pairs] == [
        (("x",), "1"),
        (("y",), '"two"'),
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [("a = 1\nb = @\n", 2), ("[t\n", 1), ("a = 1 2\n", 1), ('a = "open\n', 1)],
)
def test_what_it_cannot_read_names_the_line(text: str, line: int) -> None:
    with pytest.raises(tomltext.Unreadable) as caught:
        tomltext.statements(text)
    assert caught.value.line == line


@pytest.mark.parametrize(
    "value", ["plain", 'quo"te', "back\\slash", "tab\tnew\nline", "\x00\x1f\x7f", "é ✓ 🎉", ""]
)
def test_strings_round_trip(value: str) -> None:
    assert tomllib.loads(f"v = {tomltext.string(value)}")["v"] == value


def _append(text: str, items: list[str]) -> str:
    (statement,) = [s for s in tomltext.statements(text) if s.kind == "pair"]
    assert statement.value is not None
    return tomltext.apply(text, tomltext.append_items(text, statement.value, items))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = []\n", 'a = ["n", "m"]\n'),
        ('a = ["x"]\n', 'a = ["x", "n", "m"]\n'),
        ('a = ["x","y"]  # c\n', 'a = ["x","y","n","m"]  # c\n'),
        ('a = [ "x", ]\n', 'a = [ "x", "n", "m", ]\n'),
        ('a = [\n  "x",  # c\n]\n', 'a = [\n  "x",  # c\n  "n",\n  "m",\n]\n'),
        ('a = [\n    "x"  # c\n]\n', 'a = [\n    "x",  # c\n    "n",\n    "m"\n]\n'),
        ('a = [\r\n  "x",\r\n]\r\n', 'a = [\r\n  "x",\r\n  "n",\r\n  "m",\r\n]\r\n'),
    ],
)
def test_append_keeps_the_array_style(text: str, expected: str) -> None:
    assert _append(text, ['"n"', '"m"']) == expected
    assert tomllib.loads(expected)["a"][-2:] == ["n", "m"]


def _remove(text: str, index: int) -> str:
    (statement,) = [s for s in tomltext.statements(text) if s.kind == "pair"]
    assert statement.value is not None
    return tomltext.apply(text, tomltext.remove_item(text, statement.value, index))


@pytest.mark.parametrize(
    ("text", "index", "expected"),
    [
        ('a = ["x"]\n', 0, "a = []\n"),
        ('a = ["x", "y", "z"]\n', 0, 'a = ["y", "z"]\n'),
        ('a = ["x", "y", "z"]\n', 1, 'a = ["x", "z"]\n'),
        ('a = ["x", "y", "z"]\n', 2, 'a = ["x", "y"]\n'),
        ('a = [\n  "x",  # one\n  "y",  # two\n]\n', 0, 'a = [\n  "y",  # two\n]\n'),
        ('a = [\n  "x",  # one\n  "y"  # two\n]\n', 1, 'a = [\n  "x",  # one\n]\n'),
        ('a = ["x",  # one\n  "y"]\n', 1, 'a = ["x"  # one\n]\n'),
    ],
)
def test_remove_keeps_the_other_items_and_comments(text: str, index: int, expected: str) -> None:
    assert _remove(text, index) == expected
    before = tomllib.loads(text)["a"]
    assert tomllib.loads(expected)["a"] == before[:index] + before[index + 1 :]


def test_overlapping_splices_are_refused() -> None:
    with pytest.raises(ValueError, match="overlapping"):
        tomltext.apply("abcdef", [(0, 3, "x"), (2, 4, "y")])
