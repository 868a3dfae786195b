"""Content codings over real sockets: every coding the client decodes is bounded, and none
it cannot bound reaches a decoder — brotli and zstd, asked for or not, stacked codings.

The zstd bomb is made by hand (RLE blocks: 4 bytes stand for 128 KiB), so it needs no zstd
package; the decoder test puts a naive one where httpx looks for installed decoders, as
installing `zstandard` or `brotli` would.
"""

from __future__ import annotations

import contextlib
import struct
import tracemalloc
import zlib
from collections.abc import Callable, Iterator

import pytest

from tests.fakes.bluesky import FakeBluesky
from tests.fakes.server import Reply
from tests.test_http import Sleeps, fetch, settings
from tracker.errors import BadPayload, SourceError, TemporaryError

JSON = {"Content-Type": "application/json"}
BLOCK = 128 * 1024  # the largest zstd block


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    server = FakeBluesky()
    server.start()
    server.add("kit.bsky.social", 1800)
    try:
        yield server
    finally:
        server.stop()


def zstd_bomb(decoded: int) -> bytes:
    """A zstd frame of RLE blocks of zeros: `decoded` bytes from ~decoded / 32768 bytes."""
    magic = struct.pack("<I", 0xFD2FB528)
    header = bytes([0x00, 7 << 3])  # no content size, no checksum; a 128 KiB window
    blocks = decoded // BLOCK
    body = b"".join(
        (1 * (i == blocks - 1) | 1 << 1 | BLOCK << 3).to_bytes(3, "little") + b"\0"
        for i in range(blocks)
    )
    return magic + header + body


def naive_zstd(frame: bytes) -> bytes:
    """Decodes `zstd_bomb` frames whole, as an unbounded decoder would."""
    out, at = bytearray(), 6
    while at < len(frame):
        head = int.from_bytes(frame[at : at + 3], "little")
        out += frame[at + 3 : at + 4] * (head >> 3)
        at += 4
    return bytes(out)


def gzip(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return packer.compress(data) + packer.flush()


def gzip_bomb(decoded: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = b"\0" * (1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(decoded >> 20)) + packer.flush()


def test_the_client_asks_only_for_codings_it_decodes_within_the_limit(
    fake: FakeBluesky,
) -> None:
    fetch(fake.url, settings(max_attempts=1), Sleeps())
    asked = fake.requests[0].headers["accept-encoding"]
    assert [c.strip() for c in asked.split(",")] == ["gzip", "deflate"]


def test_the_hand_made_zstd_bomb_is_one(fake: FakeBluesky) -> None:
    bomb = zstd_bomb(64 << 20)
    assert len(bomb) < 3000 and len(naive_zstd(bomb)) == 64 << 20


@pytest.mark.parametrize("coding", ["zstd", "br", "compress", "ZSTD", "gzip, br"])
def test_a_coding_not_asked_for_is_refused_unread(fake: FakeBluesky, coding: str) -> None:
    fake.fail_next(Reply(200, JSON | {"Content-Encoding": coding}, zstd_bomb(1 << 30)))
    refused = coding.lower().split(", ")[-1]
    with pytest.raises(BadPayload, match=rf"encoded as '{refused}'.*gzip or deflate"):
        fetch(fake.url, settings(max_body=1 << 20, max_attempts=1), Sleeps())
    assert len(fake.requests) == 1  # not asked again: the answer would be the same


@pytest.mark.parametrize("coding", ["zstd", "br"])
def test_a_zstd_or_brotli_bomb_never_reaches_an_installed_decoder(
    fake: FakeBluesky, coding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if `zstandard` or `brotli` were installed: httpx would decode the whole bomb."""
    from httpx import _decoders

    calls: list[int] = []

    class Naive(_decoders.ContentDecoder):
        def decode(self, data: bytes) -> bytes:
            calls.append(len(data))
            return naive_zstd(data)

        def flush(self) -> bytes:
            return b""

    monkeypatch.setitem(_decoders.SUPPORTED_DECODERS, coding, Naive)
    fake.fail_next(Reply(200, JSON | {"Content-Encoding": coding}, zstd_bomb(64 << 20)))
    with pytest.raises(BadPayload, match=rf"encoded as '{coding}'"):
        fetch(fake.url, settings(max_body=1 << 20, max_attempts=1), Sleeps())
    assert calls == []
    fake.fail_next(Reply(200, JSON | {"Content-Encoding": coding}, zstd_bomb(64 << 20)))
    assert peak_of(lambda: fetch(fake.url, settings(max_body=1 << 20), Sleeps())) < 8 << 20


def peak_of(run: Callable[[], object]) -> int:
    """The most memory Python held at once while `run` ran (its own and the fake's)."""
    tracemalloc.start()
    try:
        with contextlib.suppress(SourceError):
            run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("coding", ["gzip, identity", "identity, gzip", "gzip, gzip", "GZIP"])
def test_a_gzip_bomb_under_a_stacked_or_odd_coding_stops_at_the_limit(
    fake: FakeBluesky, coding: str
) -> None:
    bomb = gzip_bomb(64 << 20)  # 64 MiB of zeros
    if coding == "gzip, gzip":
        bomb = gzip(bomb)
    fake.fail_next(Reply(200, JSON | {"Content-Encoding": coding}, bomb))
    with pytest.raises(
        SourceError, match=r"larger than 1,048,576 bytes \(decompressed\)"
    ) as caught:
        fetch(fake.url, settings(max_body=1 << 20, max_attempts=1), Sleeps())
    assert not isinstance(caught.value, TemporaryError)
    fake.fail_next(Reply(200, JSON | {"Content-Encoding": coding}, bomb))
    assert peak_of(lambda: fetch(fake.url, settings(max_body=1 << 20), Sleeps())) < 8 << 20


@pytest.mark.parametrize("coding", ["identity", "utf-8", "none", "identity, gzip, binary"])
def test_identity_or_a_servers_mistake_is_no_coding(fake: FakeBluesky, coding: str) -> None:
    """As httpx takes them; the body is still bounded as sent."""
    body = b'{"profiles": []}'
    sent = gzip(body) if "gzip" in coding else body
    fake.fail_next(Reply(200, JSON | {"Content-Encoding": coding}, sent))
    assert fetch(fake.url, settings(max_attempts=1), Sleeps()) == body
    fake.fail_next(Reply(200, JSON | {"Content-Encoding": coding}, sent + b" " * 5000))
    with pytest.raises(SourceError, match=r"larger than 4,096 bytes \(sent\)"):
        fetch(fake.url, settings(max_body=4096, max_attempts=1), Sleeps())


@pytest.mark.parametrize("coding", ["gzip, gzip", "deflate, gzip"])
def test_stacked_codings_within_the_limit_decode(fake: FakeBluesky, coding: str) -> None:
    body = b'{"profiles": [], "pad": "' + b"x" * 200_000 + b'"}'
    packed = body
    for name in (c.strip() for c in coding.split(",")):
        packed = gzip(packed) if name == "gzip" else zlib.compress(packed)
    fake.fail_next(Reply(200, JSON | {"Content-Encoding": coding}, packed))
    assert fetch(fake.url, settings(max_attempts=1), Sleeps()) == body
