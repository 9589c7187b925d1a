"""A bank node's policy file beside the store that keeps its versions and a signed access log,
for the tests of a policy in force (the monitoring and the decision policy alike).

A restart closes and reopens the store and the log over the same files, so what a test sees
after one is what a restarted node would see.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit import Action, Actor
from node.audit.entry import AccessEntry
from node.audit.log import AccessLog
from node.audit.sink import AuditSink


class Closable(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=Closable)  # the store that keeps the policy's versions
F = TypeVar("F")  # the policy-in-force object the test reads the policy through


class PolicyNode(Generic[S, F]):
    """``open_store`` and ``in_force_of`` say which kind of policy; the rest is shared."""

    def __init__(self, root: Path, file_name: str, text: str) -> None:
        self.root = root
        self.key = Ed25519PrivateKey.generate()
        self.policy = root / file_name
        self.policy.write_text(text)
        self.start()

    def open_store(self) -> S:
        raise NotImplementedError

    def in_force_of(self, store: S, sink: AuditSink) -> F:
        raise NotImplementedError

    def start(self) -> F:
        self.kept = self.open_store()
        self.log = AccessLog.open(self.root / "audit", self.key, "bank")
        self.sink = AuditSink(self.log, Actor("bank-a", "bank", "node"))
        self.in_force = self.in_force_of(self.kept, self.sink)
        return self.in_force

    def restart(self) -> F:
        self.stop()
        return self.start()

    def stop(self) -> None:
        self.log.close()
        self.kept.close()

    def edit(self, text: str) -> None:
        """Write the file a second later (a same-tick rewrite would keep its mtime)."""
        later = self.policy.stat().st_mtime_ns + 1_000_000_000
        self.policy.write_text(text)
        os.utime(self.policy, ns=(later, later))

    def policy_changes(self) -> list[AccessEntry]:
        """The log's ``policy_change`` entries, oldest first."""
        entries = [self.log.entry(i) for i in range(self.log.size())]
        return [e for e in entries if e.action is Action.POLICY_CHANGE]
