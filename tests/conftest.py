"""Shared fixtures: a store on each database, the platform fakes, a config pointing at them."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.netflix import PREFIX as NETFLIX_PREFIX
from tests.fakes.netflix import FakeNetflix
from tests.fakes.wikipedia import FakeWikimedia
from tracker.store import Database, Store

PG_ENV = "TRACKER_TEST_DATABASE_URL"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
# Skips that say nothing about the environment, so they stay skips on CI too.
CLOCK_SKIPS = ("the rounds crossed UTC midnight",)


# -- the user's own directories stay untouched ---------------------------------------------
_HOME_VARS = ("XDG_CONFIG_HOME", "XDG_DATA_HOME")
_saved_home: dict[str, str | None] = {}
_test_home: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Point the config and data directories (the default database and, with PostgreSQL, the
    spool) at a directory of this test process, for it and the commands it starts."""
    home = tempfile.mkdtemp(prefix="tracker-tests-")
    _test_home.append(home)
    for name in _HOME_VARS:
        _saved_home[name] = os.environ.get(name)
        os.environ[name] = os.path.join(home, name.lower())


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, value in _saved_home.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    while _test_home:
        shutil.rmtree(_test_home.pop(), ignore_errors=True)
    while _held:
        _held.pop().close()


# -- running in parallel (pytest-xdist) -----------------------------------------------------
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: a worker per core, and one more per core nobody else is using now.

    Most of a test's time is waiting, not computing (servers and child processes starting,
    sockets, the databases, deadlines a test lets pass): with `-n 2` the tests' CPU, their own
    and their children's, was 38 % of their wall time, so on an idle machine a second worker
    per core fills those waits. On a busy one there is no idle core to fill, and each extra
    worker only adds its collection (~5 s of CPU) and contention: measured at loads 6-12, four
    workers took 360 s where two took 310 s."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    return cores + max(0, min(cores, round(_idle_cores(cores))))


def _idle_cores(cores: int, seconds: float = 0.5) -> float:
    """How many cores sat idle over the next half second (/proc/stat), not the last minute's
    load average, which still counts the install `.ci/run` has just finished."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)  # idle and iowait, all

    try:
        idle, total = sample()
        time.sleep(seconds)
        idle2, total2 = sample()
    except (OSError, ValueError, IndexError):  # no /proc: the load average
        return cores - os.getloadavg()[0]
    return (os.cpu_count() or cores) * (idle2 - idle) / max(1, total2 - total)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests sharing a module- or class-scoped fixture run on one worker (`--dist loadgroup`),
    and the slow ones are handed out first.

    Such a fixture is expensive by design (a private PostgreSQL, a whole `run --once`); on two
    workers it would be built twice. Function-scoped fixtures need nothing: every fake listens
    on a port of its own, every database is a file under tmp_path or a schema of its own.
    """
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None or item.get_closest_marker("xdist_group"):
            continue
        shared = sorted(
            f"{defs[-1].baseid or 'conftest'}::{name}"
            for name, defs in info.name2fixturedefs.items()
            if defs and defs[-1].scope in ("module", "class", "package")
        )
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared[0]))
    # The longest tests (`@pytest.mark.slow`) start first: begun last, one of them would keep
    # a worker busy alone at the end while the other idles.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def on_ci() -> bool:
    """CI runs with CI=true and has every tool, service and data file: a skip there fails."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _fail_on_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not on_ci() or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
    if not any(allowed in reason for allowed in CLOCK_SKIPS):
        report.outcome = "failed"
        report.longrepr = f"skipped on CI, where nothing may be missing (CI is set): {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On CI a test may not skip for want of a tool, a service, data or collectors: it fails."""
    report = yield
    _fail_on_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """The same for a whole module skipped at import (`pytest.importorskip`)."""
    report = yield
    _fail_on_ci(report)
    return report


def _pg_schema_url(base: str) -> Iterator[str]:
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite, and PostgreSQL when TRACKER_TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL store tests skipped")
    if "store" not in request.fixturenames:
        yield from _pg_schema_url(base)
        return
    # With `store`: a migrated schema of this test process's pool, emptied after the test.
    schemas: PgSchemas = request.getfixturevalue("_pg_schemas")
    url = schemas.take()
    try:
        yield url
    finally:
        schemas.give(url)


@pytest.fixture
def store(database_url: str, request: pytest.FixtureRequest) -> Iterator[Database]:
    """`database_url` migrated to the newest schema, migrated once per test process: the SQLite
    file is a copy of a migrated template; the PostgreSQL schema comes from `PgSchemas`, which
    runs the statements Alembic ran on a template and empties a schema for the next test
    (Alembic per test cost ~0.5 s of each store test; the migrations themselves are tested in
    test_schema.py and through `tracker db upgrade`)."""
    if database_url.startswith("sqlite:///"):
        template = request.getfixturevalue("_sqlite_template")
        shutil.copyfile(template, database_url.removeprefix("sqlite:///"))
    s = Database.open(database_url)
    yield s
    s.close()


Statement = tuple[str, dict[str, object] | None]


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "tracker.db"
    s = Database.open(f"sqlite:///{path}")
    s.upgrade()
    s.close()  # the last connection closed: the WAL is checkpointed into the file and removed
    assert not path.with_name("tracker.db-wal").exists()
    return path


@pytest.fixture(scope="session")
def _pg_migration() -> Iterator[list[Statement]]:
    """Every statement `upgrade()` sends to an empty schema, in order, with its parameters."""
    from sqlalchemy import event

    base = os.environ[PG_ENV]
    recorded: list[Statement] = []
    for url in _pg_schema_url(base):
        s = Database.open(url)

        @event.listens_for(s.engine, "before_cursor_execute")
        def _record(
            conn: object, cursor: object, sql: str, params: object, context: object, many: bool
        ) -> None:
            assert not many and (isinstance(params, Mapping) or not params), (sql, params)
            recorded.append((sql, dict(params) or None if isinstance(params, Mapping) else None))

        try:
            s.upgrade()
        finally:
            s.close()
    yield recorded


@pytest.fixture(scope="session")
def _pg_schemas(_pg_migration: list[Statement]) -> Iterator[PgSchemas]:
    schemas = PgSchemas(os.environ[PG_ENV], _pg_migration)
    yield schemas
    schemas.close()


# The catalog of one schema, its name written as "S": tables, sequences, indexes, views (kind
# and privileges), columns (type, null, default), constraints, triggers, functions, the
# schema's privileges and Alembic's revision. Equal to the template's: nothing but rows changed.
_CATALOG = """
SELECT 'class', c.relname, c.relkind::text, coalesce(c.relacl::text, ''), ''
  FROM pg_class c WHERE c.relnamespace = %(ns)s::text::regnamespace
UNION ALL
SELECT 'column', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       a.attnotnull::text || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = %(ns)s::text::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index', indexname, indexdef, '', '' FROM pg_indexes WHERE schemaname = %(ns)s::text
UNION ALL
SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid), ''
  FROM pg_constraint WHERE connamespace = %(ns)s::text::regnamespace
UNION ALL
SELECT 'trigger', c.relname, t.tgname, pg_get_triggerdef(t.oid), ''
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = %(ns)s::text::regnamespace AND NOT t.tgisinternal
UNION ALL
SELECT 'function', p.proname, pg_get_function_identity_arguments(p.oid), '', ''
  FROM pg_proc p WHERE p.pronamespace = %(ns)s::text::regnamespace
UNION ALL
SELECT 'schema', '', coalesce(n.nspacl::text, ''), '', ''
  FROM pg_namespace n WHERE n.oid = %(ns)s::text::regnamespace
"""


class PgSchemas:
    """Migrated PostgreSQL schemas of one test process, each reused once a test is done with it.

    A new schema replays the statements Alembic ran on a template; a schema given back is
    emptied (every table but alembic_version, children before the tables they reference) and
    its sequences restarted, in one transaction, which costs a tenth of dropping the schema
    and migrating a new one. A schema whose catalog or revision is no longer the template's
    (a test altered or dropped something), or that cannot be emptied, is dropped instead; so
    is every schema if the migrations write rows of their own besides the revision."""

    def __init__(self, base: str, statements: list[Statement]) -> None:
        self.base = base.replace("postgresql+psycopg://", "postgresql://")
        self.url = base
        self.statements = statements
        self.free: list[str] = []
        self.made: list[str] = []
        self.catalog: list[tuple[str, ...]] | None = None
        self.revision: list[tuple[str, ...]] | None = None
        self.reuse = True

    def take(self) -> str:
        if self.free:
            return self._url(self.free.pop())
        import psycopg

        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        self.made.append(schema)
        _replay(self._url(schema), self.statements)
        if self.catalog is None:
            with psycopg.connect(self.base) as conn:
                self.catalog, self.revision = self._state(conn, schema)
                # Rows a migration wrote (beyond its revision) would be emptied with the rest:
                # then no schema is reused.
                self.reuse = not any(
                    conn.execute(f'SELECT 1 FROM "{schema}"."{table}" LIMIT 1').fetchone()
                    for table in self._tables(conn, schema)
                )
        return self._url(schema)

    def _url(self, schema: str) -> str:
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}options=-csearch_path%3D{schema}"

    @staticmethod
    def _state(conn: Any, schema: str) -> tuple[list[tuple[str, ...]], list[Any]]:
        rows = conn.execute(_CATALOG, {"ns": schema}).fetchall()
        catalog = sorted(tuple(str(v).replace(schema, "S") for v in row) for row in rows)
        revision = conn.execute(f'SELECT version_num FROM "{schema}".alembic_version').fetchall()
        return catalog, revision

    def give(self, url: str) -> None:
        import psycopg

        schema = url.rsplit("search_path%3D", 1)[1]
        if not self.reuse:
            self._drop(schema)
            return
        try:
            with psycopg.connect(self.base) as conn:  # one transaction, committed on leaving
                conn.execute("SET LOCAL lock_timeout = '10s'")
                if self._state(conn, schema) != (self.catalog, self.revision):
                    raise ValueError(f"schema {schema} is no longer the template's")
                for table in self._tables(conn, schema):
                    conn.execute(f'DELETE FROM "{schema}"."{table}"')
                for sequence, start in conn.execute(
                    "SELECT sequencename, start_value FROM pg_sequences WHERE schemaname = %s",
                    (schema,),
                ).fetchall():
                    conn.execute(
                        "SELECT setval(%s, %s, false)", (f'"{schema}"."{sequence}"', start)
                    )
        except (psycopg.Error, ValueError):
            self._drop(schema)
            return
        self.free.append(schema)

    @staticmethod
    def _tables(conn: Any, schema: str) -> list[str]:
        """The schema's tables but alembic_version, each after every table referencing it."""
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename",
                (schema,),
            ).fetchall()
            if name != "alembic_version"
        ]
        references = conn.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
            "WHERE connamespace = %s::regnamespace AND contype = 'f'",
            (schema,),
        ).fetchall()
        refs = {(a.rsplit(".", 1)[-1].strip('"'), b.rsplit(".", 1)[-1].strip('"'))
                for a, b in references}  # fmt: skip
        ordered: list[str] = []
        while len(ordered) < len(tables):
            left = [t for t in tables if t not in ordered]
            ready = [t for t in left if not any(b == t and a in left and a != t for a, b in refs)]
            ordered.extend(ready or left)  # a cycle: left to the DELETE (then the drop) to say
        return ordered

    def _drop(self, schema: str) -> None:
        import psycopg

        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if schema in self.made:
            self.made.remove(schema)

    def close(self) -> None:
        for schema in list(self.made):
            self._drop(schema)
        self.free.clear()


def _replay(url: str, statements: list[Statement]) -> None:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    batch: list[str] = []  # statements without parameters go in one round trip
    with psycopg.connect(plain) as conn:  # one transaction, committed on leaving
        for sql, params in [*statements, ("", {})]:
            if params is None:
                batch.append(sql)
                continue
            if batch:
                conn.execute(";\n".join(batch))
                batch.clear()
            if sql:
                conn.execute(sql, params)


@pytest.fixture
def fakes() -> Iterator[dict[str, object]]:
    """Every platform fake, started, keyed by source name."""
    running = {
        "bluesky": FakeBluesky().start(),
        "mastodon": FakeMastodon().start(),
        "wikipedia": FakeWikimedia().start(),
        "netflix": FakeNetflix().start(),
    }
    yield running
    for fake in running.values():
        fake.stop()


# -- a seeded campaign on the fakes, for the round, CLI and daemon tests ------------------
NETFLIX_SEASON = "Heartstopper: Season 1"
NETFLIX_GLOBAL_COLUMNS = (
    "week", "category", "weekly_rank", "show_title", "season_title",
    "weekly_hours_viewed", "cumulative_weeks_in_top_10",
)  # fmt: skip
NETFLIX_COUNTRY_COLUMNS = (
    "country_name", "country_iso2", "week", "category", "weekly_rank",
    "show_title", "season_title", "cumulative_weeks_in_top_10",
)  # fmt: skip
NETFLIX_GLOBAL_ROWS = (
    ("2022-05-01", "TV (English)", "5", "Heartstopper", NETFLIX_SEASON, "23940000", "2"),
    ("2022-04-24", "TV (English)", "7", "Heartstopper", NETFLIX_SEASON, "14550000", "1"),
    ("2022-04-24", "Films (English)", "1", "Senior Year", "N/A", "62420000", "1"),
)
NETFLIX_COUNTRY_ROWS = (
    ("United Kingdom", "GB", "2022-05-01", "TV", "1", "Heartstopper", NETFLIX_SEASON, "2"),
    ("Brazil", "BR", "2022-05-01", "TV", "3", "Heartstopper", NETFLIX_SEASON, "1"),
    ("Spain", "ES", "2022-05-01", "TV", "2", "Another Show", "N/A", "1"),
)
UNUSED_URL = "https://unused.invalid"


def netflix_tsv(columns: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> str:
    """A Top 10 file in Netflix's layout."""
    return "".join("\t".join(line) + "\n" for line in (columns, *rows))


def free_port() -> int:
    """A local port free now, for a server a test starts (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_held: list[socket.socket] = []


def closed_port() -> int:
    """A local port nothing listens on: bound and never listening (a connection is refused),
    and held for the rest of the test run so no other test's server can take it meanwhile."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    _held.append(sock)
    return int(sock.getsockname()[1])


@dataclass
class Seeded:
    """The fakes, loaded with one small campaign; `config_text` is a tracker.toml for them.

    Bluesky   kit.bsky.social 1800 followers (Kit Connor), joe.bsky.social 950 (Joe Locke)
    Mastodon  alice@mastodon.social 420 followers (Alice Oseman); #heartstopper, newest first
              (today, 1, 2, 3 days ago): uses 7, 30, 12, 5 and accounts 3, 20, 9, 4
    Wikipedia Heartstopper_(TV_series): 100*k + 7 views k days ago (k = 1..11; 10 are asked);
              Kit_Connor: 50 yesterday, 40 the day before, nothing else
    Netflix   NETFLIX_GLOBAL_ROWS and NETFLIX_COUNTRY_ROWS; the chart tracked is Heartstopper
    Campaign  a baseline of 1200 and a claim of "3.6K" Bluesky followers for Kit Connor
    """

    bluesky: FakeBluesky
    mastodon: FakeMastodon
    wikipedia: FakeWikimedia
    netflix: FakeNetflix
    today: date

    @property
    def urls(self) -> dict[str, str]:
        return {
            "bluesky": self.bluesky.url,
            "mastodon": self.mastodon.url,
            "wikipedia": self.wikipedia.url,
            "netflix": self.netflix.url + NETFLIX_PREFIX,
        }

    def config_text(
        self,
        base_urls: Mapping[str, str] | None = None,
        *,
        interval: str = "1h",
        extra: str = "",
    ) -> str:
        """The TOML; base URLs default to the fakes (pass {} to leave them to the env)."""
        urls = (
            self.urls
            if base_urls is None
            else {**dict.fromkeys(self.urls, UNUSED_URL), **base_urls}
        )
        return f"""\
contact = "tests@example.org"

[http]
timeout = 2.0
connect_timeout = 1.0
max_attempts = 2
max_wait = 5.0

[sources.bluesky]
base_url = "{urls["bluesky"]}"
interval = "{interval}"
jitter = 0

[sources.mastodon]
base_url = "{urls["mastodon"]}"
tag_instances = ["mastodon.social"]
interval = "{interval}"
jitter = 0

[sources.wikipedia]
base_url = "{urls["wikipedia"]}"
days = 10
interval = "{interval}"
jitter = 0

[sources.netflix]
base_url = "{urls["netflix"]}"
interval = "{interval}"
jitter = 0

[[accounts]]
platform = "bluesky"
handle = "kit.bsky.social"
subject = "Kit Connor"

[[accounts]]
platform = "bluesky"
handle = "joe.bsky.social"
subject = "Joe Locke"

[[accounts]]
platform = "mastodon"
handle = "alice@mastodon.social"
subject = "Alice Oseman"

[[hashtags]]
tag = "#Heartstopper"
platforms = ["mastodon"]
subject = "#heartstopper"

[[charts]]
source = "netflix"
title = "Heartstopper"
subject = "Heartstopper"

[[pages]]
article = "Heartstopper_(TV_series)"
subject = "Heartstopper"

[[pages]]
article = "Kit_Connor"
subject = "Kit Connor"

[campaign]
name = "Test campaign"
launch = 2024-01-15

[[campaign.baselines]]
name = "kit-bluesky-prelaunch"
subject = "Kit Connor"
source = "bluesky"
metric = "followers"
value = 1200
at = 2024-01-01
citation = "Test fixture baseline"

[[campaign.claims]]
name = "kit-bluesky-claim"
subject = "Kit Connor"
source = "bluesky"
metric = "followers"
value = "3.6K"
at = 2024-06-01
citation = "Test fixture claim"
{extra}"""

    def write_config(
        self,
        path: Path,
        base_urls: Mapping[str, str] | None = None,
        *,
        interval: str = "1h",
        extra: str = "",
    ) -> Path:
        text = self.config_text(base_urls, interval=interval, extra=extra)
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def seeded(fakes: dict[str, object]) -> Seeded:
    """The started fakes (stopped by `fakes`), loaded with the campaign `Seeded` describes."""
    return seed(fakes)


def seed(fakes: Mapping[str, object]) -> Seeded:
    """Load started fakes (keyed as `fakes` keys them) with the campaign `Seeded` describes."""
    bluesky, mastodon = fakes["bluesky"], fakes["mastodon"]
    wikipedia, netflix = fakes["wikipedia"], fakes["netflix"]
    assert isinstance(bluesky, FakeBluesky) and isinstance(mastodon, FakeMastodon)
    assert isinstance(wikipedia, FakeWikimedia) and isinstance(netflix, FakeNetflix)
    today = datetime.now(UTC).date()
    bluesky.add("kit.bsky.social", 1800)
    bluesky.add("joe.bsky.social", 950)
    mastodon.add_account("alice@mastodon.social", 420)
    mastodon.add_tag("heartstopper", [7, 30, 12, 5], [3, 20, 9, 4], today=today)
    wikipedia.views[("en.wikipedia", "Heartstopper_(TV_series)")] = {
        today - timedelta(days=k): 100 * k + 7 for k in range(1, 12)
    }
    wikipedia.views[("en.wikipedia", "Kit_Connor")] = {
        today - timedelta(days=1): 50,
        today - timedelta(days=2): 40,
    }
    netflix.files["all-weeks-global.tsv"] = netflix_tsv(
        NETFLIX_GLOBAL_COLUMNS, NETFLIX_GLOBAL_ROWS
    ).encode()
    netflix.files["all-weeks-countries.tsv"] = netflix_tsv(
        NETFLIX_COUNTRY_COLUMNS, NETFLIX_COUNTRY_ROWS
    ).encode()
    return Seeded(bluesky, mastodon, wikipedia, netflix, today)


def tracker_env(config: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `python -m tracker` subprocess: no stray TRACKER_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env |= {"PYTHONIOENCODING": "utf-8", "COLUMNS": "200", "NO_COLOR": "1"}
    env |= {"TRACKER_CONFIG": str(config), "TRACKER_DATABASE_URL": database_url}
    return env | extra


# -- reliability (test_faults, test_reliability, test_security, test_soak_smoke) ----------
class Sleeps:
    """A `sleep` for the retry policy that records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


StoredRow = tuple[str, str, str, int, int]  # source, metric, key, ts, value


def stored_rows(store: Store, source: str | None = None) -> set[StoredRow]:
    """Every stored value (of one source), as comparable tuples."""
    return {
        (s.source, s.metric, s.key, int(ts), int(value))
        for s in store.find_series(source=source)
        for ts, value in store.history(s.id)
    }


def open_fds() -> int:
    """File descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))
