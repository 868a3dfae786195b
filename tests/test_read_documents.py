"""History written from rows (`tracker.read.documents`) is byte for byte what the records
give, and a chart's "not in chart" weeks come from its whole listing — on SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.test_read import WEEK, chart, monday, seed_charts
from tracker import read
from tracker.collectors.base import Observation
from tracker.commands import formats
from tracker.read import NO_VALUE, NOT_IN_CHART, VALUE, HistoryQuery
from tracker.read.documents import (
    CHUNK,
    Stamps,
    compact,
    csv_cell,
    history_csv,
    history_json,
)
from tracker.read.records import PointRecord, iso
from tracker.store import BACKFILLED, Store
from tracker.store.models import SUDDEN
from tracker.timeutil import from_epoch, to_epoch


def seed_mixed(store: Store) -> None:
    """Instants with every flag and rounded values, across days and a pre-1970 time; names
    JSON and CSV must escape."""
    start = datetime(2024, 2, 28, 23, 59, 58, tzinfo=UTC)
    odd = 'Kit "K" Connor, \\ Ünïcode\n'
    subject = [Observation("followers", "did:plc:kit", 1000 + 7 * k, start + timedelta(
        seconds=3601 * k), odd, "kit.bsky.social", {"team": 'a,"b"'}, sig=k % 3 or None)
        for k in range(60)]  # fmt: skip
    store.write("bluesky", subject[:20])
    store.write("bluesky", subject[20:40], BACKFILLED)
    store.write("bluesky", subject[40:50], BACKFILLED | SUDDEN)
    store.write("bluesky", subject[50:], SUDDEN)
    old = datetime(1969, 12, 31, 12, tzinfo=UTC)
    store.write("bluesky", [Observation("followers", "did:plc:kit", 0, old, odd,
                                        "kit.bsky.social", {"team": 'a,"b"'})])  # fmt: skip


QUERIES = [
    HistoryQuery('kit "k" connor, \\ ünïcode\n'),
    HistoryQuery("kit.bsky.social", every=86400),
    HistoryQuery("kit.bsky.social", event=("launch", date(2024, 2, 29))),
    HistoryQuery("Show", since=to_epoch(monday(date(2022, 4, 25)))),
    HistoryQuery(
        "Show", labels={"list": "GB"}, every=14 * 86400, event=("launch", date(2022, 5, 1))
    ),
    HistoryQuery("Show", until=to_epoch(monday(date(2022, 4, 18)))),  # no points
]


def _old_csv(result: read.History) -> str:
    """The CSV as the records wrote it before: a DictWriter over each point's to_dict()."""
    keys = formats.label_keys(s.series for s in result.series)
    out = io.StringIO()
    writer = csv.DictWriter(
        out, [*formats.HISTORY_COLUMNS, *(f"label.{k}" for k in keys)], extrasaction="ignore"
    )
    writer.writeheader()
    for s in result.series:
        for p in s.points:
            row = {**formats.identity(s.series, keys), **p.to_dict(), "start": iso(p.start),
                   "end": iso(p.end)}  # fmt: skip
            writer.writerow({k: formats._cell(v) for k, v in row.items()})
    return out.getvalue()


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_json_and_csv_from_rows_are_the_records_byte_for_byte(
    store: Store, query: HistoryQuery
) -> None:
    seed_mixed(store)
    seed_charts(store)
    result = read.history(store, query)
    assert sum(len(s.rows) for s in result.series) or query.until, "nothing was compared"
    assert "".join(history_json(result)) == compact(result.to_dict())
    keys = formats.label_keys(s.series for s in result.series)
    out = io.StringIO()
    csv.writer(out).writerow([*formats.HISTORY_COLUMNS, *(f"label.{k}" for k in keys)])
    assert out.getvalue() + "".join(history_csv(result, keys)) == _old_csv(result)


def test_plain_and_other_points_mixed_across_chunks_are_the_records(store: Store) -> None:
    """Plain instants (the fast comprehensions) and points with flags, figures or a zero value
    (the general path) interleaved over more than one chunk, with and without an event: the
    JSON and the CSV are the records'."""
    start = datetime(2024, 3, 30, 22, tzinfo=UTC)
    points = [Observation("followers", "did:plc:kit", (k * 37) % 5 * k, start + timedelta(
        minutes=7 * k), "Kit", "kit.bsky.social", sig=3 if k % 11 == 0 else None)
        for k in range(CHUNK + 900)]  # fmt: skip
    store.write("bluesky", [p for k, p in enumerate(points) if k % 13])
    store.write("bluesky", [p for k, p in enumerate(points) if not k % 13], BACKFILLED)
    for query in (HistoryQuery("kit"), HistoryQuery("kit", event=("launch", date(2024, 4, 2)))):
        result = read.history(store, query)
        (found,) = result.series
        assert len(found.rows) == CHUNK + 900
        assert {bool(flags) for *_, flags in found.rows} == {False, True}
        assert {sig for _, _, _, sig, _ in found.rows} == {None, 3}
        assert "".join(history_json(result)) == compact(result.to_dict())
        keys = formats.label_keys(s.series for s in result.series)
        out = io.StringIO()
        csv.writer(out).writerow([*formats.HISTORY_COLUMNS, *(f"label.{k}" for k in keys)])
        assert out.getvalue() + "".join(history_csv(result, keys)) == _old_csv(result)


def test_the_command_writes_the_same_document(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_charts(store)
    result = read.history(store, HistoryQuery("Show", event=("launch", date(2022, 4, 22))))
    formats.history(result, "json")  # captured: not a terminal, so compact, from the rows
    written = capsys.readouterr().out
    assert written == compact(result.to_dict()) + "\n"
    assert json.loads(written)["series"][0]["points"][0]["phase"] == "event"


def test_csv_cells_are_the_csv_modules() -> None:
    for text in ("", "a", "a,b", 'say "hi"', "line\nbreak", "cr\r", " lead", "Ünï"):
        out = io.StringIO()
        csv.writer(out).writerow(["x", text, "y"])
        assert out.getvalue() == f"x,{csv_cell(text)},y\r\n", text


def test_stamps_are_isoformat() -> None:
    stamp = Stamps()
    for ts in (0, -1, -86_400, 59, 3_599, 86_399, 951_782_400, 1_709_164_799, 253_402_300_799):
        assert stamp(ts) == iso(ts), ts
        assert stamp(ts) == iso(ts), ts  # cached


# -- "not in chart" from the whole listing ---------------------------------------------------
def test_absence_is_judged_from_series_not_asked_for(store: Store) -> None:
    # Show is in GB's list in week 1 only; Other (never asked for) is in FR's list in weeks
    # 1..3 and GB's in week 4; nothing at all is stored for week 5 (no listing: a gap).
    w = [date(2022, 4, 18) + k * WEEK for k in range(6)]
    store.write("netflix", chart("Show", "GB", {w[0]: 5, w[5]: 9}))
    store.write("netflix", chart("Other", "FR", {w[0]: 1, w[1]: 1, w[2]: 1}))
    store.write("netflix", chart("Other", "GB", {w[3]: 2}))
    (gb,) = read.history(store, HistoryQuery("Show")).series
    got = [(p.start, p.status, p.value) for p in gb.points]
    starts = [to_epoch(monday(d)) for d in w]
    assert got == [
        (starts[0], VALUE, 5),
        (starts[1], NOT_IN_CHART, None),
        (starts[2], NOT_IN_CHART, None),
        (starts[3], NOT_IN_CHART, None),
        # week 5 (w[4]): no series of the listing has a point: unknown, not listed
        (starts[5], VALUE, 9),
    ]
    # compare --at: the same answer, from the same rows.
    table = read.values_at(store, ["show"], [3, 10, 24], ("launch", date(2022, 4, 22)))
    (row,) = table.rows
    assert [c.status for c in row.cells] == [NOT_IN_CHART, NOT_IN_CHART, NO_VALUE]
    # A range asks the listing only within it; a range without the series' own points still
    # shows its listing's weeks.
    since, until = to_epoch(monday(w[1])), to_epoch(monday(w[3]))
    (part,) = read.history(store, HistoryQuery("Show", since=since, until=until)).series
    assert [(p.start, p.status) for p in part.points] == [
        (starts[1], NOT_IN_CHART), (starts[2], NOT_IN_CHART),
    ]  # fmt: skip


def test_the_global_list_and_another_platform_are_other_listings(store: Store) -> None:
    w = [date(2022, 4, 18) + k * WEEK for k in range(3)]
    store.write("netflix", chart("Show", "global", {w[0]: 3}))
    store.write("netflix", chart("Other", "GB", {w[1]: 1}))  # the per-country lists
    store.write("othertv", chart("Other", "global", {w[2]: 1}))  # another platform
    (shown,) = read.history(store, HistoryQuery("Show")).series
    assert [p.status for p in shown.points] == [VALUE]
    store.write("netflix", chart("Other", "global", {w[2]: 4}))
    (shown,) = read.history(store, HistoryQuery("Show")).series
    assert [(p.start, p.status) for p in shown.points] == [
        (to_epoch(monday(w[0])), VALUE), (to_epoch(monday(w[2])), NOT_IN_CHART),
    ]  # fmt: skip


def test_period_starts_reads_only_the_series_given(store: Store) -> None:
    w = [date(2022, 4, 18) + k * WEEK for k in range(3)]
    store.write("netflix", chart("Show", "GB", {w[0]: 5, w[2]: 1}))
    store.write("netflix", chart("Other", "GB", {w[1]: 1}))
    ids = {s.subject: s.id for s in store.find_series(source="netflix")}
    week = 7 * 86400
    starts = [to_epoch(monday(d)) for d in w]
    assert store.period_starts([ids["Show"]], week) == [starts[0], starts[2]]
    assert store.period_starts([ids["Show"], ids["Other"]], week) == starts
    assert store.period_starts([ids["Show"], ids["Other"]], week, starts[1], starts[2]) == [
        starts[1]
    ]
    assert store.period_starts([ids["Show"]], 86400) == []  # another length
    assert store.period_starts([], week) == []
    many = [*range(100_000, 101_200), ids["Other"]]  # beyond one statement's 500 ids
    assert store.period_starts(many, week) == [starts[1]]


# -- the table: the same text as before its fast paths ---------------------------------------
def _old_span(p: PointRecord) -> str:
    start = from_epoch(p.start)
    if p.end is None:
        return f"{start:%Y-%m-%d %H:%M}"
    last = from_epoch(p.end - 1)
    if p.start % 86400 == 0 and p.end % 86400 == 0:
        return (
            f"{start:%Y-%m-%d}"
            if p.end - p.start == 86400
            else f"{start:%Y-%m-%d} .. {last:%Y-%m-%d}"
        )
    return f"{start:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M}"


def _old_plain(header: list[str], rows: list[list[str]], right: int | None, room_of: int) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    lead = sum(widths[:-1]) + 2 * (len(widths) - 1)
    room = max(room_of - lead, 24)
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.rjust(w) if i == right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row[:-1], widths[:-1], strict=True))
        ]
        last = row[-1]
        if right == len(header) - 1:
            last = last.rjust(widths[-1])
        parts = textwrap.wrap(last, room, break_on_hyphens=False) or [""]
        lines.append("  ".join([*cells, parts[0]]).rstrip())
        lines += [" " * (lead + 2) + part for part in parts[1:]]
    return "\n".join(lines) + "\n"


def test_table_cells_and_columns_are_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    for start, end in [(0, None), (-1, None), (1_650_240_000, 1_650_844_800),
                       (1_650_240_000, 1_650_326_400), (1_650_243_600, 1_650_247_200),
                       (1_650_240_000, 1_651_449_600)]:  # fmt: skip
        p = PointRecord(start, end, 1)
        assert formats.span(p) == _old_span(p)
    long = "word " * 40
    tables = [
        (["  when", "value"], [["  2024-01-01", "1,234*"], ["  x", ""]], 1),
        (["a", "b", "c"], [["1", "2", long], ["", "", "tab\tand\nnewline  "]], None),
        (["  points", "first", "last", "series"], [["  12", "—", "—", "Ünï {x} [a=b]"]], 0),
        (["only"], [["x"], [long]], None),
        (["a", "b"], [["1", "  lead and  double  spaces"], ["2", "\u00a0nbsp"]], 1),
    ]
    for header, rows, right in tables:
        assert formats._plain(header, rows, right) == _old_plain(header, rows, right, 80)
