"""A fake web site: small HTML pages by path, and the answers a bot wall gives."""

from __future__ import annotations

from .server import FakePlatform, Reply, Seen

HTML = {"Content-Type": "text/html; charset=utf-8"}


def article(paragraphs: list[str], title: str = "Trending TV") -> bytes:
    """A short trade-paper-like article page around `paragraphs` (HTML allowed in them)."""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title><script>var rank = 'No. 9 spot';</script></head>"
        f"<body><header><a href='/'>Home</a></header><article class='article-body'>"
        f"<h1>{title}</h1>\n{body}\n</article><footer>Fixture.</footer></body></html>"
    ).encode()


class FakeWeb(FakePlatform):
    """`pages[path]` = HTML bytes; `redirects[path]` = the path it moved to."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}

    def route(self, seen: Seen) -> Reply:
        if seen.path in self.redirects:
            return Reply(301, {"Location": self.redirects[seen.path], **HTML}, b"")
        page = self.pages.get(seen.path)
        if page is None:
            return Reply(404, HTML, b"<html><body><h1>Page not found</h1></body></html>")
        return Reply(200, HTML, page)

    @staticmethod
    def bot_wall() -> Reply:
        """What a CDN's bot check answers instead of the page."""
        page = b"<html><head><title>Just a moment...</title></head><body>Checking</body></html>"
        return Reply(403, HTML, page)
