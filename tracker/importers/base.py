"""The importer interface, and loading one file through it into the store.

An importer is the file-reading half of a platform: a pure `read` from a file's bytes to
observations of one source, like a collector's `parse`. The import itself (reading the
file, choosing what to keep from the config, storing, counting) is the same for every one.
"""

from __future__ import annotations

import gc
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from tracker.core import Parsed, Target, clash_examples, split_collisions
from tracker.errors import BadPayload, UsageError

if TYPE_CHECKING:
    from tracker.config import Config
    from tracker.store import Store


class Importer(ABC):
    """Base of every importer; subclasses set `name`, `source`, `title` and `read`."""

    name: ClassVar[str]  # the word after `tracker import`, e.g. "netflix-top10"
    source: ClassVar[str]  # the source the values are stored under
    title: ClassVar[str]  # what such a file is, for "not a ... file"
    # The config's targets of `source` that choose what is kept (`--all`: everything).
    kind: ClassVar[str] = "chart"
    description: ClassVar[str] = ""
    example: ClassVar[str] = ""  # a file name, for help and hints

    @abstractmethod
    def read(self, body: bytes, targets: Sequence[Target] | None, file_name: str) -> Parsed:
        """A file's bytes -> observations of `targets` (every row when None). Pure; raises
        BadPayload when the file is not of this kind; rows it cannot read are failures."""


# Observations stored per write.
WRITE_SLICE = 20_000


@dataclass(slots=True)
class Tally:
    """What became of a file's values: each one read is stored, already there, or refused
    with its reason (`tracker.commands.importing.counts_line` says it in one line)."""

    file: str
    values: int = 0  # values the file's rows held (a row may hold several metrics)
    stored: int = 0
    present: int = 0  # already in the store, or repeated in the file with the same value
    clashing: int = 0  # values refused: one series and time with different values
    clashes: str = ""  # a few of them, for the message
    malformed: int = 0  # rows refused: unreadable numbers, dates, field counts

    @property
    def read(self) -> int:
        return self.values + self.malformed

    @property
    def refused(self) -> dict[str, int]:
        """Reason -> how many were refused for it."""
        reasons = {
            "one series and week twice with different values, two titles the file cannot "
            f"tell apart ({self.clashes})": self.clashing,
            "malformed row(s)": self.malformed,
        }
        return {why: n for why, n in reasons.items() if n}


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the duration (and back as it was after).

    An import builds a few hundred thousand objects that hold no reference cycles (each is
    freed by its count once written), and every collection of the oldest generation walks
    them all: with it on, collections took about half the time of reading a countries file.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def import_file(
    config: Config, store: Store, importer: Importer, path: Path, everything: bool
) -> Tally:
    """Read `path` with `importer`, store what the config tracks (or everything); the tally."""
    with _collector_paused():
        return _import(config, store, importer, path, everything)


def _import(
    config: Config, store: Store, importer: Importer, path: Path, everything: bool
) -> Tally:
    targets = [t for t in config.targets(importer.source) if t.kind == importer.kind]
    if not everything and not targets:
        raise UsageError(
            f"{config.path}: {importer.kind}s: no {importer.source} {importer.kind} configured; "
            "add one or use --all"
        )
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"FILE: cannot read {path}: {exc}") from None
    try:
        parsed = importer.read(body, None if everything else targets, path.name)
    except BadPayload as exc:
        raise UsageError(f"{path}: not a {importer.title} file: {exc.cause}") from None
    del body
    tally = Tally(path.name, values=len(parsed.observations), malformed=len(parsed.failures))
    kept, repeated, clashes = split_collisions(parsed.observations)
    del parsed
    if clashes:
        tally.clashing = sum(len(c) for c in clashes)
        tally.clashes = clash_examples(clashes)
    accepted = len(kept)
    # In slices, each let go of once written: the rows of one write are built at once, and
    # what the store then holds (its series cache, SQLite's page cache) reuses the memory.
    while kept:
        tally.stored += store.write(importer.source, kept[:WRITE_SLICE], sudden=config.sudden)
        del kept[:WRITE_SLICE]
    tally.present = accepted - tally.stored + repeated
    return tally
