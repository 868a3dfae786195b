"""A durable local spool for the values a round collected while the database was down.

When the store refuses a round's write, the round's observations and its attempt go to one
JSON-lines file: written under a temporary name, fsync'd, renamed into place and the directory
fsync'd, so once `put` returns the values survive a crash or a power cut. At the start of every
round (and when the daemon starts) the spool is replayed into the store, oldest file first,
and a file is deleted only after its write committed. Replaying is idempotent: snapshots are
keyed by (series, time), and an attempt already recorded is not recorded again.

    <spool_dir>/<database digest>-<time ns>-<pid>-<n>-<source>.jsonl
    line 1    {"spool": 1, "database": ..., "source": ..., "count": N, "attempt": {...}}
    lines 2+  one observation each

A file names the database it was meant for (password hidden) and only that database replays
it: a spool shared by two databases never stores one's values in the other. A file that cannot
be replayed — unreadable, or values the database refuses (StoreRefused) — is renamed `*.bad`,
its reason written beside it (`*.bad.why`), and left for a person to look at, never deleted;
the files behind it are replayed all the same. Only an unreachable database stops a replay.

One process replays a spool at a time: a replay holds an exclusive `flock` on
`<digest>.lock` in the directory, and a second process finding it held leaves the files to
the first (no attempt row is written twice).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import logging
import os
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from tracker.configfile import user_data_dir
from tracker.core import Observation, Sudden
from tracker.errors import StoreError, StoreRefused
from tracker.store import Store
from tracker.store.models import Attempt

log = logging.getLogger("tracker.spool")

FORMAT = 1
SUFFIX = ".jsonl"
ASIDE = ".bad"
WHY = ".why"
# A temporary file this old belongs to a writer that died before its rename: never durable.
STALE_TMP_SECONDS = 3600
_ATTEMPT_FIELDS = ("source", "started", "finished", "outcome", "targets", "stored", "failed")
_ATTEMPT_TEXT = ("kind", "cause")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_sequence = itertools.count()


def database_identity(url: URL) -> str:
    """The database a URL names, password hidden; a SQLite file by its absolute path."""
    if url.get_backend_name() == "sqlite":
        name = url.database or ""
        if name and name != ":memory:" and not name.startswith("file:"):
            return f"sqlite:///{Path(name).resolve()}"
    return url.render_as_string(hide_password=True)


def spool_directory(setting: str, url: URL) -> Path:
    """`setting` as a directory: a relative one sits beside a SQLite file, else (a server
    database) in the user's data directory, so it does not depend on where tracker is run."""
    path = Path(setting).expanduser()
    if path.is_absolute():
        return path
    name = url.database or ""
    if url.get_backend_name() == "sqlite" and name and name != ":memory:":
        if not name.startswith("file:"):
            return Path(name).resolve().parent / path
    return user_data_dir() / path


@dataclass(slots=True)
class Batch:
    """One spool file, read back."""

    path: Path
    source: str
    observations: list[Observation]
    attempt: Attempt


@dataclass(slots=True)
class Replayed:
    """What one replay did."""

    files: int = 0  # files written to the store and deleted
    values: int = 0  # observations in them
    stored: int = 0  # of which new to the store
    waiting: int = 0  # files still in the spool for this database
    bad: list[Path] = field(default_factory=list)  # files set aside as *.bad
    error: str = ""  # why the replay stopped early (the database is still down)
    busy: bool = False  # another process holds the replay lock: its replay, not ours


@dataclass(slots=True)
class Aside:
    """A spool file set aside: it cannot be replayed, and why."""

    path: Path
    reason: str


class Spool:
    """The spool directory of one database."""

    def __init__(self, directory: Path, database: str) -> None:
        self.directory = directory
        self.database = database
        self._prefix = hashlib.sha256(database.encode()).hexdigest()[:12]

    @classmethod
    def for_store(cls, setting: str, store: Store) -> Spool:
        url = store.url
        return cls(spool_directory(setting, url), database_identity(url))

    # -- writing -------------------------------------------------------------------------
    def put(self, source: str, observations: Sequence[Observation], attempt: Attempt) -> Path:
        """Write one durable file; raises StoreError when the disk refuses it."""
        header = {
            "spool": FORMAT,
            "database": self.database,
            "source": source,
            "count": len(observations),
            "attempt": {name: getattr(attempt, name) for name in _ATTEMPT_FIELDS + _ATTEMPT_TEXT},
        }
        name = (
            f"{self._prefix}-{time.time_ns():020d}-{os.getpid()}-{next(_sequence):06d}-"
            f"{_UNSAFE.sub('_', source)}{SUFFIX}"
        )
        final = self.directory / name
        temporary = final.with_name(name + ".tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(json.dumps(header, ensure_ascii=False) + "\n")
                for obs in observations:
                    out.write(json.dumps(_encode(obs), ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, final)
            _sync_directory(self.directory)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise StoreError(f"cannot spool to {self.directory}: {exc}") from None
        return final

    # -- reading -------------------------------------------------------------------------
    def files(self) -> list[Path]:
        """This database's spool files, oldest first."""
        try:
            found = [p for p in self.directory.iterdir() if self._mine(p, SUFFIX)]
        except OSError:  # no spool yet (or none possible: put() says why)
            return []
        return sorted(found, key=lambda p: p.name)

    def aside(self) -> list[Aside]:
        """This database's set-aside files, oldest first, with their reasons."""
        try:
            found = sorted(p for p in self.directory.iterdir() if self._mine(p, SUFFIX + ASIDE))
        except OSError:
            return []
        result = []
        for path in found:
            try:
                reason = path.with_name(path.name + WHY).read_text(encoding="utf-8").strip()
            except OSError:
                reason = "reason not recorded"
            result.append(Aside(path, reason))
        return result

    def check(self) -> str:
        """'' when values can be spooled here; else why not (made, written, synced, removed)."""
        probe = self.directory / f".probe-{os.getpid()}-{next(_sequence)}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, b"{}\n" * 512)
                os.fsync(fd)
            finally:
                os.close(fd)
            probe.unlink()
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
            with contextlib.suppress(OSError, ValueError):
                probe.unlink()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return f"{self.directory} cannot hold spooled values: {reason}"
        return ""

    def pending(self) -> int:
        """How many values wait in the spool for this database."""
        total = 0
        for path in self.files():
            try:
                with path.open(encoding="utf-8") as lines:
                    total += int(json.loads(lines.readline())["count"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return total

    def read(self, path: Path) -> Batch:
        """One file; ValueError when it is not a complete spool file of this database."""
        lines = path.read_text(encoding="utf-8").splitlines()
        if not lines:
            raise ValueError("empty file")
        header = json.loads(lines[0])
        if not isinstance(header, dict) or header.get("spool") != FORMAT:
            raise ValueError(f"not a spool file of format {FORMAT}")
        if header.get("database") != self.database:
            raise ValueError(f"written for another database ({header.get('database')})")
        observations = [_decode(json.loads(line)) for line in lines[1:] if line]
        if len(observations) != header.get("count"):
            raise ValueError(f"{len(observations)} values, header says {header.get('count')}")
        raw = header.get("attempt")
        if not isinstance(raw, dict):
            raise ValueError("no attempt in the header")
        attempt = Attempt(**{name: raw[name] for name in _ATTEMPT_FIELDS + _ATTEMPT_TEXT})
        return Batch(path, str(header["source"]), observations, attempt)

    # -- replaying -----------------------------------------------------------------------
    def replay(self, store: Store, sudden: Sudden | None = None) -> Replayed:
        """Write every file into `store`, oldest first; stop only when the database is away.

        A file that cannot be read, or whose values the database refuses, is set aside and
        the replay goes on with the next one."""
        files = self.files()
        if not files:
            return Replayed()
        with self._replay_lock() as held:
            if not held:
                return Replayed(waiting=len(files), busy=True)
            return self._replay(store, sudden)

    @contextlib.contextmanager
    def _replay_lock(self) -> Iterator[bool]:
        try:
            fd = os.open(self.directory / f"{self._prefix}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # a read-only spool: nothing can be deleted, replay as before
            yield True
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    def _replay(self, store: Store, sudden: Sudden | None) -> Replayed:
        done = Replayed()
        self._drop_stale_temporaries()
        files = self.files()  # again, under the lock: another replay may have taken some
        for index, path in enumerate(files):
            try:
                batch = self.read(path)
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError) as exc:
                done.bad.append(self._set_aside(path, exc))
                continue
            try:
                stored = store.write(batch.source, batch.observations, sudden=sudden)
                if not _recorded(store, batch.attempt):
                    # Plus what the round's own batches stored before the database failed.
                    batch.attempt.stored += stored
                    store.record_attempt(batch.attempt)
            except StoreRefused as exc:
                # The database is there and refuses these values: waiting will not change
                # that, so they must not hold up the files behind them.
                done.bad.append(self._set_aside(path, exc))
                continue
            except StoreError as exc:
                done.error = _one_line(exc)
                done.waiting = len(files) - index
                break
            path.unlink(missing_ok=True)  # another process may have replayed it meanwhile
            _sync_directory(self.directory)
            done.files += 1
            done.values += len(batch.observations)
            done.stored += stored
            log.info(
                "spool: wrote %s's %d value(s) from %s (%d new)",
                batch.source,
                len(batch.observations),
                path.name,
                stored,
            )
        return done

    def _mine(self, path: Path, suffix: str) -> bool:
        return path.name.startswith(self._prefix + "-") and path.name.endswith(suffix)

    def _set_aside(self, path: Path, exc: Exception) -> Path:
        bad = path.with_name(path.name + ASIDE)
        reason = _one_line(exc)
        with contextlib.suppress(OSError):
            path.with_name(bad.name + WHY).write_text(reason + "\n", encoding="utf-8")
        try:
            os.replace(path, bad)
        except OSError:
            bad = path
        log.error("spool: %s cannot be replayed (%s); kept as %s", path.name, reason, bad.name)
        return bad

    def _drop_stale_temporaries(self) -> None:
        try:
            candidates = [p for p in self.directory.iterdir() if self._mine(p, ".tmp")]
        except OSError:  # no spool yet (or none possible: put() says why)
            return
        cutoff = time.time() - STALE_TMP_SECONDS
        for path in candidates:
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue


def _recorded(store: Store, attempt: Attempt) -> bool:
    """Whether the attempt is in the store already (recorded when spooled, or replayed twice)."""
    return any(
        (a.started, a.finished, a.outcome, a.cause)
        == (attempt.started, attempt.finished, attempt.outcome, attempt.cause)
        for a in store.attempts(attempt.source, limit=200)
    )


def _encode(obs: Observation) -> dict[str, Any]:
    return {
        "metric": obs.metric,
        "key": obs.key,
        "value": obs.value,
        "at": obs.at.isoformat(),
        "subject": obs.subject,
        "label": obs.label,
        "labels": dict(obs.labels),
        "period": obs.period.total_seconds() if obs.period is not None else None,
        "sig": obs.sig,
    }


def _decode(data: dict[str, Any]) -> Observation:
    at = datetime.fromisoformat(data["at"])
    if at.tzinfo is None:
        raise ValueError(f"naive time {data['at']!r} in a spool file")
    period = data.get("period")
    return Observation(
        metric=str(data["metric"]),
        key=str(data["key"]),
        value=int(data["value"]),
        at=at,
        subject=str(data["subject"]),
        label=str(data.get("label") or ""),
        labels={str(k): str(v) for k, v in (data.get("labels") or {}).items()},
        period=timedelta(seconds=period) if period is not None else None,
        sig=data.get("sig"),
    )


def _sync_directory(directory: Path) -> None:
    """fsync a directory so a rename or unlink in it survives a power cut."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
