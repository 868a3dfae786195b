"""`tracker dispatch` and `tracker worker`: the distributed mode; its part of `tracker status`."""

from __future__ import annotations

import logging
import signal
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.commands.context import EXIT_STORE, EXIT_USAGE, context, fail

if TYPE_CHECKING:
    from tracker.config import Config
    from tracker.store import Store

BrokerOption = Annotated[
    str | None,
    typer.Option("--broker", help="RabbitMQ URL [env TRACKER_BROKER_URL]; its password is masked."),
]
QueueOption = Annotated[
    str | None, typer.Option("--queue", help="Queue name [env TRACKER_QUEUE, else 'tracker'].")
]
LogOption = Annotated[
    str | None, typer.Option("--log-format", help="text (default) or json lines.")
]


def dispatch(
    ctx: typer.Context,
    broker: BrokerOption = None,
    queue: QueueOption = None,
    tick: Annotated[
        float, typer.Option("--tick", min=0.1, help="Seconds between looks for due slots.")
    ] = 1.0,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Targets per message.")] = 50,
    log_format: LogOption = None,
) -> None:
    """Send each due slot of every source, once, as messages for `tracker worker`s
    (the distributed mode: PostgreSQL and RabbitMQ; run any number of dispatchers).
    SIGHUP or a change to the config file reloads it; SIGTERM/SIGINT stop.

    \b
    Example:
      TRACKER_BROKER_URL=amqp://guest:guest@127.0.0.1:5672/%2F \\
        tracker --database postgresql://postgres@127.0.0.1/tracker dispatch
    """
    from tracker.distributed import dispatch as dispatching
    from tracker.distributed.messages import make_broker

    stop = _stop_on_signals()
    hangup = threading.Event()  # SIGHUP: reload the config now (a changed file is polled)
    signal.signal(signal.SIGHUP, lambda *_: hangup.set())
    config, store, url, name = _setup(ctx, broker, queue, log_format)
    dispatcher = dispatching.Dispatcher(config, store, make_broker(url), name, batch=batch)
    try:
        dispatching.serve(dispatcher, tick, stop, broker_url=url, hangup=hangup)
    finally:
        store.close()


def worker(
    ctx: typer.Context,
    broker: BrokerOption = None,
    queue: QueueOption = None,
    threads: Annotated[
        int, typer.Option("--threads", min=1, help="Messages worked on at once.")
    ] = 8,
    log_format: LogOption = None,
) -> None:
    """Collect the parts of slots that `tracker dispatch` sends, until SIGTERM/SIGINT
    (the distributed mode: run as many workers, on as many machines, as you like).

    \b
    Example:
      TRACKER_BROKER_URL=amqp://guest:guest@127.0.0.1:5672/%2F \\
        tracker --database postgresql://postgres@127.0.0.1/tracker worker --threads 8
    """
    from tracker.distributed import worker as working

    stop = _stop_on_signals()
    config, store, url, name = _setup(ctx, broker, queue, log_format)
    try:
        working.serve(config, store, url, name, threads=threads, stop=stop)
    finally:
        store.close()


def _stop_on_signals() -> threading.Event:
    """SIGTERM/SIGINT set the event, from the very start: a stop during start-up is clean too."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _setup(
    ctx: typer.Context, broker: str | None, queue: str | None, log_format: str | None
) -> tuple[Config, Store, str, str]:
    """The config, the migrated PostgreSQL store, the broker URL (reachable) and the queue."""
    from tracker import log
    from tracker.distributed.messages import broker_url, queue_name

    config = context(ctx).config()
    if log_format not in (None, "text", "json"):
        fail(f"--log-format: {log_format!r} is not one of text, json")
    url, name = broker_url(broker), queue_name(queue)
    database = context(ctx).database(config)
    if not database.startswith(("postgresql", "postgres:")):
        fail(
            "the distributed mode needs PostgreSQL (dispatchers share slots through its row "
            f"locks), and the database is {database.split(':', 1)[0]}: set --database or "
            "TRACKER_DATABASE_URL to a postgresql:// URL (or run `tracker run` on SQLite)",
            EXIT_USAGE,
        )
    _reachable(url)
    log.setup(log_format or config.log_format)
    # Their connection chatter is not the operator's business; their warnings are.
    for noisy in ("pika", "dramatiq"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # A tick still running when the next is due is skipped: by design (coalesced), not news.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    store = context(ctx).store(config)
    store.upgrade()
    return config, store, url, name


def _reachable(url: str) -> None:
    """Stop with a message (exit 3) when the broker cannot be reached or refuses the login."""
    import pika
    import pika.exceptions

    from tracker.distributed.messages import mask

    params = pika.URLParameters(url)
    params.connection_attempts, params.socket_timeout = 1, 5
    try:
        pika.BlockingConnection(params).close()
    except pika.exceptions.AMQPError as exc:
        why = " ".join(f"{type(exc).__name__} {exc}".split())
        fail(f"broker {mask(url)} unreachable: {why} (is RabbitMQ running there?)", EXIT_STORE)


def show(store: Store) -> None:
    """The distributed mode's lines of `tracker status`; nothing when it never ran here."""
    from tracker.timeutil import format_duration, now, to_epoch

    at = to_epoch(now())
    seen = store.distribution(at)
    if not seen.sources:
        return
    from datetime import timedelta

    typer.echo("")
    typer.echo("Distributed mode:")
    names = ", ".join(f"{w.name} ({w.messages} done)" for w in seen.workers) or "none"
    typer.echo(f"  workers seen (last minute): {len(seen.workers)} — {names}")
    depth = _queue_depth()
    typer.echo(f"  messages waiting: {seen.waiting} (database){depth}")
    oldest = (
        format_duration(timedelta(seconds=max(0, at - seen.oldest)))
        if seen.oldest is not None
        else "—"
    )
    typer.echo(f"  oldest waiting message: {oldest}")
    typer.echo(f"  dead letters: {seen.dead}; dropped as late: {seen.late}")


def _queue_depth() -> str:
    """'; N in RabbitMQ queue Q, D dead-lettered' when TRACKER_BROKER_URL reaches it."""
    import os

    from tracker.distributed.messages import BROKER_ENV, make_broker, queue_name

    url = os.environ.get(BROKER_ENV)
    if not url:
        return f" (set {BROKER_ENV} to see the broker's queue)"
    try:
        name = queue_name(None)
        broker = make_broker(url)
        try:
            ready, delayed, dead = broker.get_queue_message_counts(name)
        finally:
            broker.close()
    except Exception as exc:  # status still shows the rest
        return f"; broker unreachable ({' '.join(str(exc).split())[:120]})"
    return f"; {ready + delayed} in RabbitMQ queue {name!r}, {dead} in its dead-letter queue"
