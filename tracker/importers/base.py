"""The importer interface, and loading one file through it into the store.

An importer is the file-reading half of a platform: a pure `read` from a file's bytes to
observations of one source, like a collector's `parse`. The import itself (reading the
file, choosing what to keep from the config, storing, counting) is the same for every one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from tracker.core import Parsed, Target
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


def import_file(
    config: Config, store: Store, importer: Importer, path: Path, everything: bool
) -> str:
    """Read `path` with `importer`, store what the config tracks (or everything); one line."""
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
    stored = store.write(importer.source, parsed.observations, sudden=config.sudden)
    skipped = f", {len(parsed.failures)} malformed row(s) skipped" if parsed.failures else ""
    return f"{path.name}: {len(parsed.observations)} value(s) read, {stored} new{skipped}"
