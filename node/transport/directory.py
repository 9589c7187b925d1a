"""Verified certificates of the federation's parties, for sealing to and verifying them.

The coordinator distributes certificates, but it is not trusted to pick keys: every entry is
checked against the federation CA and the revocation list before its sealing and signing keys
are used, so a coordinator that substitutes a key is caught at the first envelope.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import ClassVar

from node.pki.identity import Principal

log = logging.getLogger("fedcredit.transport.directory")

# Refreshing on a miss is rate-limited so a message naming a bogus party cannot make us
# hammer the coordinator; a miss within the interval waits for the next refresh.
MIN_REFRESH_INTERVAL_S = 1.0


class UnknownParty(LookupError):
    """No valid certificate is known for the named party."""

    catalog_code: ClassVar[str] = "party.unknown"  # RPC answer: node.transport.errors

    def __init__(self, party: str) -> None:
        super().__init__(
            f"no valid certificate for party {party!r}; it must register with the coordinator "
            "using a certificate issued by the federation CA"
        )
        self.party = party

    def catalog_detail(self) -> str:
        """What an RPC answer says: the party's name (a node id, never a firm's value)."""
        return self.party


class PeerDirectory:
    """Maps party names to verified identities, refreshing from a source on a miss."""

    def __init__(
        self,
        fetch: Callable[[], Iterable[tuple[str, bytes]]],
        verify: Callable[[bytes], Principal],
    ) -> None:
        self._fetch = fetch
        self._verify = verify
        self._known: dict[str, Principal] = {}
        self._last_refresh = 0.0
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Reload all certificates and re-verify every one, cached or new.

        Re-verifying cached entries is what makes a revocation (or an expiry) take effect
        for sealing and signature checks without waiting for the certificate to change.
        Entries that fail verification are dropped and logged.
        """
        entries = list(self._fetch())
        known: dict[str, Principal] = {}
        for name, pem in entries:
            try:
                identity = self._verify(pem)
            except Exception as exc:
                log.warning("ignoring certificate of %s: %s", name, exc)
                continue
            if identity.node_id != name:
                log.warning("ignoring certificate listed as %s but naming another", name)
                continue
            known[name] = identity
        with self._lock:
            self._last_refresh = time.monotonic()
            self._known = known

    def identity(self, party: str) -> Principal:
        """The verified identity of ``party``.

        Raises
        ------
        UnknownParty
            Not in the directory even after a refresh, or its certificate failed verification.
        """
        with self._lock:
            found = self._known.get(party)
            last = self._last_refresh
        if found is None:
            # A party that registered since the last refresh is found by the next one, which
            # the rate limit may hold back for up to a second: wait for it rather than fail
            # (nodes start in any order). Threads that missed together share one refresh.
            time.sleep(max(0.0, last + MIN_REFRESH_INTERVAL_S - time.monotonic()))
            with self._lock:
                found = self._known.get(party)
                refreshed = self._last_refresh != last
            if found is None and not refreshed:
                self.refresh()
                with self._lock:
                    found = self._known.get(party)
        if found is None:
            raise UnknownParty(party)
        return found
