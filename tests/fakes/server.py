"""A small threaded HTTP server that platform fakes build on.

A fake answers from its own `route` method, which a test can pre-empt with faults:

    fake.fail_next(Reply(429, {"Retry-After": "1"}, b"..."))   # next request gets this
    fake.fail_next(Fault.TIMEOUT)                                # sleep past the client timeout
    fake.fail_next(Fault.RESET)                                  # drop the connection mid-body
    fake.fail_next(Fault.TRICKLE)                                # one byte every trickle_seconds
    fake.fail_next(Fault.ENDLESS)                                # a chunked body that never ends

Every request is recorded in `fake.requests` so tests can count them.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


class _Server(ThreadingHTTPServer):
    """A client that hangs up mid-answer (tracker stops reading past its body limit or its
    deadline) is the client's choice, not an error of the fake: no traceback on stderr, where
    a test in the same process reading its own stderr would find it."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, merged, json.dumps(data).encode())


class Fault(Enum):
    TIMEOUT = "timeout"  # answer nothing for `slow_seconds`
    RESET = "reset"  # send headers and half a body, then close the socket
    TRICKLE = "trickle"  # a 200 whose body comes one byte every `trickle_seconds`
    ENDLESS = "endless"  # a 200 with a chunked body that never ends (until the client leaves)


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    def params(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]

    def param(self, name: str) -> str | None:
        values = self.params(name)
        return values[0] if values else None


class FakePlatform:
    """Base of every fake: start it, point a collector's base_url at `.url`, stop it."""

    slow_seconds = 3.0
    trickle_seconds = 0.2

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._faults: deque[Reply | Fault] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # Seconds from a request's arrival to its answer, the fake's own work included
        # (a fault comes after the delay).
        self.delay = 0.0

    # -- to override -------------------------------------------------------------------
    def route(self, seen: Seen) -> Reply:
        return Reply(404, {}, b'{"error":"not found"}')

    def pause(self, arrived: float) -> None:
        """Before every answer (in the request's thread): the answer is due `delay` seconds
        after the request came (`arrived`, `time.perf_counter()`), its making included, as a
        platform's latency includes its own work."""
        left = self.delay - (time.perf_counter() - arrived)
        if left > 0:
            time.sleep(left)

    # -- test controls -----------------------------------------------------------------
    def fail_next(self, *faults: Reply | Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    @property
    def url(self) -> str:
        assert self._server is not None, "fake not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakePlatform:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every answer.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _serve(self) -> None:
                arrived = time.perf_counter()  # the request line and headers are read
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qsl(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with fake._lock:
                    fake.requests.append(seen)
                    fault = fake._faults.popleft() if fake._faults else None
                if isinstance(fault, Reply) or fault is None:
                    reply = fault if isinstance(fault, Reply) else fake.route(seen)
                    fake.pause(arrived)
                    self._answer(reply)
                    return
                fake.pause(arrived)
                if fault is Fault.TIMEOUT:
                    time.sleep(fake.slow_seconds)
                    self.close_connection = True
                    return
                if fault is Fault.RESET:
                    self.send_response(200)
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b'{"partial": ')
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if fault is Fault.TRICKLE:
                    self._trickle(b'{"profiles": []}' + b" " * 10_000)
                    return
                if fault is Fault.ENDLESS:
                    self._endless()

            def _answer(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def _trickle(self, body: bytes) -> None:
                self.close_connection = True
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(fake.trickle_seconds)
                except OSError:  # the client gave up: what the fault is for
                    return

            def _endless(self) -> None:
                self.close_connection = True
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b" " * 65536
                try:
                    while True:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except OSError:
                    return

            do_GET = do_POST = _serve

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakePlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
