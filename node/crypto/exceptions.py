"""Envelope failures. Everything but a replay is one error, so callers cannot branch on which
check failed (and neither can an attacker probing a node)."""

from __future__ import annotations

from typing import ClassVar


class InvalidEnvelope(Exception):
    """The envelope is malformed, of an unknown version, not for us, or fails authentication."""

    catalog_code: ClassVar[str] = "envelope.refused"  # RPC answer: node.transport.errors


class ReplayedEnvelope(InvalidEnvelope):
    """The envelope's nonce was seen before, or its timestamp is outside the accepted window."""
