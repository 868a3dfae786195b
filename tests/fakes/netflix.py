"""A fake of Netflix's Top 10 file host: the two all-weeks TSV files, and its bad days."""

from __future__ import annotations

from tests.fakes.server import FakePlatform, Reply, Seen

PREFIX = "/tudum/top10/data"
TSV = {"Content-Type": "text/tab-separated-values; charset=utf-8"}
MOVED_PAGE = (
    b"<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n"
    b"<center><h1>301 Moved Permanently</h1></center>\r\n</body>\r\n</html>\r\n"
)


class FakeNetflix(FakePlatform):
    """Serves `{PREFIX}/all-weeks-global.tsv` and `{PREFIX}/all-weeks-countries.tsv`.

    `moved[old_prefix] = new_prefix` answers 301 for files under the old prefix, as the
    move from top10.netflix.com/data to netflix.com/tudum/top10/data did.
    """

    def __init__(self, global_tsv: str = "", countries_tsv: str = "") -> None:
        super().__init__()
        self.files: dict[str, bytes] = {
            "all-weeks-global.tsv": global_tsv.encode(),
            "all-weeks-countries.tsv": countries_tsv.encode(),
        }
        self.moved: dict[str, str] = {}

    def route(self, seen: Seen) -> Reply:
        folder, _, name = seen.path.rpartition("/")
        if folder in self.moved:
            location = f"{self.url}{self.moved[folder]}/{name}"
            return Reply(301, {"Location": location, "Content-Type": "text/html"}, MOVED_PAGE)
        if folder != PREFIX or name not in self.files:
            return Reply(404, {"Content-Type": "text/html"}, b"<html><body>Not Found</body></html>")
        return Reply(200, dict(TSV), self.files[name])

    # -- the bodies seen in the wild instead of a TSV --------------------------------
    def moved_page_next(self) -> None:
        """A redirect page served with status 200 (a proxy that swallowed the 301)."""
        self.fail_next(Reply(200, {"Content-Type": "text/html"}, MOVED_PAGE))

    def null_next(self) -> None:
        self.fail_next(Reply(200, {"Content-Type": "application/json"}, b"null"))

    def empty_next(self) -> None:
        self.fail_next(Reply(200, dict(TSV), b""))
