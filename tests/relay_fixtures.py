"""A relay router for tests whose jobs send no message: one that does must fail the test."""

from __future__ import annotations

from node.transport.relay_channel import EnvelopeRouter, Opened


class NoSealing:
    """Stands in for sealing where no message may be sent or received."""

    def seal(self, recipient: str, job_key: str, topic: str, payload: bytes) -> bytes:
        raise AssertionError("no message is sent in these tests")

    def open(self, sealed: bytes) -> Opened:
        raise AssertionError("no message is received in these tests")


def silent_router(party: str) -> EnvelopeRouter:
    """``party``'s router; its channels take the job keys, and sending fails the test."""
    return EnvelopeRouter(party, NoSealing(), lambda sealed: None, timeout=2)
