"""`tracker import netflix-top10 FILE`: a Netflix Top 10 file from disk, read by the same
parser the netflix collector uses on the downloaded files (`collectors.netflix.parse_body`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from tracker.collectors.netflix import NetflixCollector, parse_body
from tracker.core import Parsed, Target
from tracker.importers.base import Importer


class NetflixTop10Importer(Importer):
    name: ClassVar[str] = "netflix-top10"
    source: ClassVar[str] = NetflixCollector.name
    title: ClassVar[str] = "Netflix Top 10"
    kind: ClassVar[str] = "chart"
    description: ClassVar[str] = (
        "A Netflix Top 10 file (all-weeks-global.tsv or all-weeks-countries.tsv)"
    )
    example: ClassVar[str] = "all-weeks-countries.tsv"

    def read(self, body: bytes, targets: Sequence[Target] | None, file_name: str) -> Parsed:
        titles = None if targets is None else {t.name: t.subject for t in targets}
        return parse_body(body, titles, file_name)
