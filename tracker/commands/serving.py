"""`tracker serve`: the read-only web API, the dashboard pages and /metrics."""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Annotated

import typer

from tracker.commands.context import context, fail

log = logging.getLogger("tracker.serve")


# A host name or an IP address (IPv6 without brackets), and a browser origin.
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$|^[0-9A-Fa-f:.]+$")
_ORIGIN = re.compile(
    r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$"
)


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0: any free one).")] = 8000,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option("--cors-origin", help="Allow this origin's pages to read the API."),
    ] = None,
    max_series: Annotated[
        int, typer.Option("--max-series", help="Series exported on /metrics at most.")
    ] = 2000,
) -> None:
    """Serve the JSON API (/api, OpenAPI at /docs), the dashboard pages and /metrics.

    Read-only. Listens on 127.0.0.1 unless --host says otherwise (with a warning).

    \b
    Examples:
      tracker serve                       # http://127.0.0.1:8000/
      tracker serve --port 9000 --cors-origin https://grafana.example.org
      tracker serve --host 10.0.0.5       # a LAN address: logged as a warning
    """
    import uvicorn

    from tracker import log as logs
    from tracker.web import create_app
    from tracker.web.records import Records

    if not 0 <= port <= 65535:
        fail(f"--port: {port} is not a port number (0..65535)")
    if max_series < 0:
        fail(f"--max-series: {max_series} must be 0 or more")
    if not _HOST.match(host):
        fail(f"--host: {host[:60]!r} is not a host name or an IP address (e.g. 127.0.0.1)")
    for origin in cors_origin or []:
        if origin != "*" and not _ORIGIN.match(origin):
            fail(
                f"--cors-origin: {origin[:80]!r} is not an origin like https://grafana.example.org"
                " (scheme, host and port only) or *"
            )
    config = context(ctx).config()
    store = context(ctx).read_store(config)
    logs.setup(config.log_format)
    if not loopback(host):
        log.warning(
            "serving on %s: anyone who can reach this address can read every series "
            "(the API is read-only; put it behind a proxy with authentication)",
            host,
        )
    records = Records(store, config, context(ctx).database(config))
    app = create_app(records, cors_origin or (), max_series)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    )
    try:
        server.run()
    finally:
        store.close()
