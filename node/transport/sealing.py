"""Seal for and open from named parties, with keys taken from their verified certificates."""

from __future__ import annotations

from node.crypto.envelope import ReplayGuard, open_envelope, peek_header, seal
from node.pki.files import NodeCredentials
from node.pki.identity import Identity
from node.transport.directory import PeerDirectory
from node.transport.relay_channel import Opened


def peek_route(sealed: bytes) -> tuple[str, str, str]:
    """(sender, recipient, job key) of an envelope, for the relay; nothing is opened."""
    header = peek_header(sealed)
    return header.sender, header.recipient, header.job


class DirectorySealer:
    """The ``Sealer`` of one party: its own keys plus the directory of everyone else's.

    ``replay_guard`` is the party's one guard; daemons pass a ``PersistentReplayGuard`` so
    an envelope accepted before a restart is refused after it. The default, in memory, is
    for tests and short-lived tools.
    """

    def __init__(
        self,
        credentials: NodeCredentials,
        directory: PeerDirectory,
        replay_guard: ReplayGuard | None = None,
    ) -> None:
        self._creds = credentials
        self._directory = directory
        self._guard = replay_guard if replay_guard is not None else ReplayGuard()

    def _peer(self, party: str) -> Identity:
        identity = self._directory.identity(party)
        assert isinstance(identity, Identity)
        return identity

    def seal(self, recipient: str, job_key: str, topic: str, payload: bytes) -> bytes:
        return seal(
            payload,
            sender=self._creds.identity.node_id,
            sign_key=self._creds.sign_key,
            recipient=recipient,
            recipient_seal_public=self._peer(recipient).seal_public,
            job=job_key,
            topic=topic,
        )

    def open(self, sealed: bytes) -> Opened:
        sender = peek_header(sealed).sender
        opened = open_envelope(
            sealed,
            recipient=self._creds.identity.node_id,
            seal_key=self._creds.seal_key,
            sender_sign_public=self._peer(sender).sign_public,
            replay_guard=self._guard,
        )
        h = opened.header
        return Opened(sender=h.sender, job_key=h.job, topic=h.topic, payload=opened.payload)
