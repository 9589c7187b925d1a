"""A policy file in force on a node: re-read when the file changes, every change recorded in
the node's access log before anything uses it.

A bank's policy files (the monitoring policy, the decision policy) change by hand or by a
command, with the node running or stopped; the node is the one writer of its access log, so
it records the change when it takes the new file up (action ``policy_change``, with what each
kind of policy says of the change). The node's store keeps every version and names the one put
in force last, so after a restart the file is compared with that one: a change is recorded
once, however often the node restarts before using it, and a change the log refuses is not put
in force (the next use retries).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from node.audit.sink import AuditSink


class VersionedPolicy(Protocol):
    """A loaded policy: its version (the SHA-256 of the file) and the text it was read from."""

    @property
    def version(self) -> str: ...

    @property
    def text(self) -> str: ...


P = TypeVar("P", bound=VersionedPolicy)


def mtime_or_zero(path: Path) -> float:
    """The file's modification time, or 0.0 when it is missing (the loader names that)."""
    return path.stat().st_mtime if path.exists() else 0.0


class PolicyFileInForce(Generic[P]):
    """The policy at ``path`` as its users get it (thread-safe).

    ``load`` reads and validates the file; ``keep`` stores a version's text; ``last_in_force``
    is the policy the store names as put in force last (None: first use, nothing to compare
    with) and ``put_in_force`` names a version so; ``describe`` gives the access-log details of
    a change (names and hashes, never values that could be data); ``unrecorded`` is the error a
    use gets while the log refuses a change's entry; ``stamp`` tells a changed file (raising the
    kind's own error when the file cannot even be looked at).
    """

    def __init__(
        self,
        path: Path,
        sink: AuditSink,
        *,
        load: Callable[[Path], P],
        keep: Callable[[str, str], None],
        last_in_force: Callable[[], P | None],
        put_in_force: Callable[[str], None],
        describe: Callable[[P, P], dict[str, str]],
        unrecorded: Callable[[P], Exception],
        stamp: Callable[[Path], float] = mtime_or_zero,
    ) -> None:
        self._path = path
        self._sink = sink
        self._load = load
        self._keep = keep
        self._last_in_force = last_in_force
        self._put_in_force = put_in_force
        self._describe = describe
        self._unrecorded = unrecorded
        self._stamp_of = stamp
        self._policy: P | None = None
        self._stamp = 0.0
        self._lock = threading.Lock()

    def get(self) -> P:
        """The policy in force (re-read when its file changes; a change is recorded first).

        Raises what ``stamp`` and ``load`` raise (an unreadable or invalid file: the previous
        policy is not kept in force, as the owner has replaced it), and the ``unrecorded``
        error when the access log did not take the change's entry (nothing is put in force;
        the next call retries).
        """
        with self._lock:
            # read under the lock: a stamp read before another thread's reload could be
            # written back over the newer one (costing a reload of the same file)
            stamp = self._stamp_of(self._path)
            if self._policy is None or stamp != self._stamp:
                loaded = self._load(self._path)
                before = self._policy or self._last_in_force()
                self._keep(loaded.version, loaded.text)
                if before is None or before.version != loaded.version:
                    if before is not None and (
                        self._sink.record("policy_change", self._describe(before, loaded)) is None
                    ):
                        raise self._unrecorded(loaded)
                    self._put_in_force(loaded.version)
                self._policy, self._stamp = loaded, stamp
            return self._policy
