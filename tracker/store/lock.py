"""The one-daemon lock: at most one daemon per database, the holder named when refused.

The holder refreshes a heartbeat. A holder on this host keeps the lock while its process
lives, however old its heartbeat (the database may have been away), and loses it the moment
the process is gone; a holder on another host loses it when its heartbeat is older than
LOCK_STALE_SECONDS.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from tracker.errors import LockHeld
from tracker.store.engine import Gateway
from tracker.store.models import DaemonLock
from tracker.timeutil import from_epoch, to_epoch

# A daemon whose heartbeat is older than this is gone, whatever its lock row says.
LOCK_STALE_SECONDS = 90


class Lock:
    """Named locks held by this process (pid on host), refreshed by heartbeats."""

    def __init__(self, gateway: Gateway, clock: Callable[[], datetime]) -> None:
        self._db = gateway
        self._clock = clock

    def acquire(self, name: str = "daemon") -> None:
        """Take the lock, or raise LockHeld naming the process that has it."""
        me_host, me_pid, stamp = socket.gethostname(), os.getpid(), to_epoch(self._clock())
        with self._db.session() as session:
            held = session.get(DaemonLock, name, with_for_update=not self._db.is_sqlite)
            if held is not None and not _stale(held, stamp) and held.pid != me_pid:
                raise LockHeld(
                    f"another tracker daemon (pid {held.pid} on {held.host}, running since "
                    f"{from_epoch(held.started):%Y-%m-%d %H:%M:%S} UTC) holds this database"
                )
            if held is None:
                session.add(
                    DaemonLock(name=name, pid=me_pid, host=me_host, started=stamp, heartbeat=stamp)
                )
            else:
                held.pid, held.host, held.started, held.heartbeat = me_pid, me_host, stamp, stamp
                session.add(held)
            try:
                session.commit()
            except SQLAlchemyError:
                raise LockHeld("another tracker daemon took the lock at the same moment") from None

    def heartbeat(self, name: str = "daemon") -> None:
        """Tell other processes the holder is alive; LockHeld when another process has taken
        the lock meanwhile (a holder on another host, after the database was away longer than
        LOCK_STALE_SECONDS): the caller must stop, so two daemons never run on."""
        me_host, me_pid = socket.gethostname(), os.getpid()
        with self._db.session() as session:
            held = session.get(DaemonLock, name)
            if held is not None and (held.pid, held.host) != (me_pid, me_host):
                raise LockHeld(
                    f"another tracker daemon (pid {held.pid} on {held.host}) took this "
                    "database's lock while it could not be refreshed"
                )
            stamp = to_epoch(self._clock())
            if held is None:  # the row is gone (a restored database): hold it again
                held = DaemonLock(
                    name=name, pid=me_pid, host=me_host, started=stamp, heartbeat=stamp
                )
            held.heartbeat = stamp
            session.add(held)
            session.commit()

    def release(self, name: str = "daemon") -> None:
        with self._db.session() as session:
            held = session.get(DaemonLock, name)
            if held is not None and (held.pid, held.host) == (os.getpid(), socket.gethostname()):
                session.delete(held)
                session.commit()


def _stale(held: DaemonLock, stamp: int) -> bool:
    """Whether the holder is gone. On this host its liveness decides, before the heartbeat's
    age: a holder whose heartbeat could not be written (the database away longer than
    LOCK_STALE_SECONDS) is alive all the same. On another host the heartbeat is all there is."""
    if held.host == socket.gethostname():
        try:
            os.kill(held.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False
    return stamp - held.heartbeat > LOCK_STALE_SECONDS
