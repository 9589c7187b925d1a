"""Which coordinator is active: a lease, so that two coordinators on one database never both serve.

With PostgreSQL, any number of coordinator processes may share one database; the one holding a
session-level advisory lock is active, the others are standbys that try again every
``poll_s`` seconds. The lock lives on a connection of its own: when the active process dies,
its connection closes and the server releases the lock at once, so a standby takes over
within one poll. The active coordinator checks its lease connection every second and stops
serving the moment it cannot (``serve_until_signalled``), so it never outlives its lease by
more than that. With SQLite there is one coordinator per state folder and the lease is
trivially held.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from abc import ABC, abstractmethod
from typing import Any, Final

from coordinator.state.database import redact

log = logging.getLogger("fedcredit.coordinator.lease")

# The advisory lock key: any constant that no other application on the database uses.
LEASE_KEY: Final = 7162002
POLL_S: Final = 0.5


class Lease(ABC):
    """The right to be the active coordinator."""

    @abstractmethod
    def acquire(self, stop: threading.Event) -> bool:
        """Block until the lease is held (True) or ``stop`` is set (False)."""

    @abstractmethod
    def held(self) -> bool:
        """Whether the lease is still held; False once it may have passed to another."""

    @abstractmethod
    def release(self) -> None: ...


class SoleLease(Lease):
    """SQLite: the state folder's own lock already makes this the only coordinator."""

    def acquire(self, stop: threading.Event) -> bool:
        return not stop.is_set()

    def held(self) -> bool:
        return True

    def release(self) -> None:
        pass


class AdvisoryLease(Lease):
    """A PostgreSQL session-level advisory lock on a dedicated connection.

    Keep-alives on the connection let the server notice a coordinator host that vanished
    without closing its sockets (power loss, partition) within about ten seconds, so its
    lock is released even then.
    """

    def __init__(self, url: str, key: int = LEASE_KEY, poll_s: float = POLL_S) -> None:
        self.url, self.key, self.poll_s = url, key, poll_s
        self._conn: Any = None
        self._lock = threading.Lock()

    def acquire(self, stop: threading.Event) -> bool:
        import psycopg

        waiting_logged = False
        while not stop.is_set():
            try:
                if self._conn is None:
                    self._conn = psycopg.connect(
                        self.url,
                        autocommit=True,
                        connect_timeout=5,
                        keepalives=1,
                        keepalives_idle=5,
                        keepalives_interval=2,
                        keepalives_count=3,
                    )
                row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
                if row and row[0]:
                    log.info("holding the coordinator lease on %s", redact(self.url))
                    return True
                if not waiting_logged:
                    log.info("standby: another coordinator holds the lease; waiting")
                    waiting_logged = True
            except psycopg.Error as exc:
                log.warning("lease database unreachable (%s); retrying", type(exc).__name__)
                self._drop()
            stop.wait(self.poll_s)
        return False

    def held(self) -> bool:
        import psycopg

        with self._lock:
            if self._conn is None:
                return False
            try:
                self._conn.execute("SELECT 1", prepare=False)
            except psycopg.Error:
                self._drop()
                return False
            return True

    def release(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None


def lease_for(url: str | None) -> Lease:
    """The lease matching the state database: advisory lock on PostgreSQL, else sole."""
    if url and url.split(":", 1)[0] in ("postgresql", "postgres"):
        return AdvisoryLease(url)
    return SoleLease()
