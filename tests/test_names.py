"""Series found by name through an index (migration 0004), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import text

from tracker.collectors.base import Observation
from tracker.migrate import upgrade
from tracker.store import Database
from tracker.store.models import FOLDED

T0 = datetime(2022, 4, 22, tzinfo=UTC)


def _kit(value: int = 1, label: str = "kitconnor.bsky.social") -> Observation:
    return Observation("followers", "did:plc:kit", value, T0, "Kit Connor", label)


def test_a_name_is_a_subject_a_handle_or_a_platform_id_in_any_case(store: Database) -> None:
    store.write("bluesky", [_kit()])
    store.write("wikipedia", [Observation("pageviews", "en:Kit_Connor", 5, T0, "Kit Connor")])
    store.write("tiktok", [Observation("hashtag_views", "heartstopper", 9, T0, "#Heartstopper")])
    by_subject = store.series_named("KIT CONNOR")
    assert sorted(s.source for s in by_subject) == ["bluesky", "wikipedia"]
    (by_handle,) = store.series_named("KitConnor.BSKY.social")
    (by_id,) = store.series_named("did:plc:kit")
    assert by_handle.id == by_id.id == store.series_named("kit connor", "bluesky")[0].id
    assert [s.subject for s in store.series_named("#heartstopper")] == ["#Heartstopper"]
    assert store.series_named("Kit Conor") == []
    assert store.series_named("kit connor", metric="pageviews")[0].source == "wikipedia"


def test_a_renamed_handle_is_found_by_its_new_name_only(store: Database) -> None:
    store.write("bluesky", [_kit(1, "kit.old")])
    store.write("bluesky", [_kit(2, "Kit.New")])
    assert store.series_named("kit.old") == []
    (series,) = store.series_named("kit.new")
    assert series.label == "Kit.New"


def test_casefolding_goes_beyond_ascii(store: Database) -> None:
    # SQLite's lower() leaves "Ü" as it is; Python's casefold() also makes "ß" match "SS".
    store.write("bluesky", [Observation("followers", "k1", 1, T0, "Jürgen Straße")])
    assert [s.subject for s in store.find_series("JÜRGEN STRASSE")] == ["Jürgen Straße"]
    assert len(store.series_named("jürgen straße")) == 1


def test_the_name_lookups_use_the_indexes(store: Database) -> None:
    store.write("bluesky", [_kit()])
    fold = FOLDED[store.engine.dialect.name]
    folded = f"(SELECT id FROM name WHERE {fold} = 'kit connor')"
    match = "IN " + folded if store.is_sqlite else f"= ANY(ARRAY{folded})"  # as the store asks
    query = f"SELECT id FROM series WHERE subject {match} OR label {match}"
    with store.engine.connect() as conn:
        if store.is_sqlite:
            plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {query}")))
        else:
            conn.execute(text("SET enable_seqscan = off"))  # a tiny table is scanned otherwise
            plan = " ".join(str(r[0]) for r in conn.execute(text(f"EXPLAIN {query}")))
    for index in ("ix_series_subject", "ix_series_label", "ix_name_fold"):
        assert index in plan, plan


def test_the_migration_fills_the_keys_of_series_stored_before_it(database_url: str) -> None:
    store = Database.open(database_url)
    try:
        upgrade(store.engine, "0003")
        with store.engine.begin() as conn:
            for i, (subject, label) in enumerate([("Kit Connor", "KitConnor"), ("Ölsen", "")]):
                conn.execute(
                    text(
                        "INSERT INTO series (source, metric, key, subject, label, labels, created)"
                        " VALUES ('bluesky', 'followers', :key, :subject, :label, :labels, 0)"
                    ),
                    {"key": f"k{i}", "subject": subject, "label": label, "labels": json.dumps({})},
                )
        store.upgrade()
        assert [s.key for s in store.series_named("KITCONNOR")] == ["k0"]
        assert [s.key for s in store.find_series("ÖLSEN")] == ["k1"]
    finally:
        store.close()


def test_a_name_right_after_a_large_import_is_one_index_lookup(store: Database) -> None:
    """PostgreSQL without statistics of a freshly filled table scanned the (source, metric)
    index for a subject: the store refreshes them after creating many series at once."""
    store.write(
        "netflix",
        [
            Observation("chart_rank", f"show {i}|C{i % 90}", 1, T0, f"Show {i // 90}")
            for i in range(20_000)
        ],
    )
    query = (
        "SELECT s.id FROM series s JOIN kind k ON k.id = +s.kind WHERE s.subject IN "
        f"(SELECT id FROM name WHERE {FOLDED[store.engine.dialect.name]} = 'show 7') "
        "AND k.source = 'netflix' "
        "AND k.metric = 'chart_rank' ORDER BY s.id"
    )
    with store.engine.connect() as conn:
        explain = "EXPLAIN QUERY PLAN " if store.is_sqlite else "EXPLAIN "
        plan = " ".join(
            str(r[-1] if store.is_sqlite else r[0]) for r in conn.execute(text(explain + query))
        )
    assert "ix_series_subject" in plan, plan
    assert len(store.find_series("SHOW 7", "netflix", "chart_rank")) == 90
