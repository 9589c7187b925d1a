"""The bank's authorization desk: register what firms signed, send it sealed to the holders.

The bank files each grant under its own token of the firm, then sends it to every holder it
names, with the firm named by that pair's pseudonym (``node.scoring.keys``); each holder files
it under *its* token. A revocation is sent the same way. Holders answer with what they stored.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from node.audit.tokens import FirmTokenizer
from node.consent.exceptions import InvalidAuthorization
from node.consent.record import Authorization, Evidence, record_id_for
from node.consent.store import ConsentStore
from node.data import uscc
from node.scoring import wire
from node.scoring.client import PartnerClient, Pending
from node.scoring.keys import Pseudonyms
from node.transport.directory import UnknownParty

ACK_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Grant:
    """An authorization as the bank registers it (the code is read here and never kept)."""

    code: str
    recipient: str
    purposes: tuple[str, ...]
    valid_from: float
    valid_to: float
    evidence: Evidence
    holders: tuple[str, ...]


class ConsentDesk:
    """Registers and revokes the bank's authorizations, here and at the holders."""

    def __init__(
        self,
        store: ConsentStore,
        tokenizer: FirmTokenizer,
        client: PartnerClient,
        pseudonyms: Callable[[str], Pseudonyms],
    ) -> None:
        self._store = store
        self._tokenizer = tokenizer
        self._client = client
        self._pseudonyms = pseudonyms

    def register(self, grants: Sequence[Grant]) -> tuple[list[str], dict[str, str]]:
        """File ``grants`` and send them; return (record ids, per-holder outcome).

        Raises
        ------
        InvalidAuthorization
            A grant is malformed (nothing is filed or sent).
        node.transport.directory.UnknownParty
            A named holder is not in the coordinator's directory (nothing is filed or sent).
        """
        records: list[tuple[Grant, Authorization, str]] = []
        for g in grants:
            code = uscc.normalize(g.code)
            if not uscc.is_valid(code):
                raise InvalidAuthorization("uscc", "is not a valid unified social credit code")
            token = self._tokenizer.token(code)
            rid = record_id_for(
                token, g.recipient, g.purposes, g.valid_from, g.valid_to, g.evidence.document_sha256
            )
            records.append(
                (
                    g,
                    Authorization(
                        rid, token, g.recipient, g.purposes, g.valid_from, g.valid_to, g.evidence
                    ),
                    code,
                )
            )
        # every holder's pseudonyms first: a holder the directory does not know refuses the
        # whole batch before anything is filed, rather than leaving it filed here only
        per_holder: dict[str, list[dict[str, object]]] = {}
        for g, record, code in records:
            for holder in g.holders:
                firm = self._pseudonyms(holder).of(code)
                per_holder.setdefault(holder, []).append({**record.wire(), "firm": firm})
        self._store.add([r for _, r, _ in records])
        outcome = self._send(
            {h: {"grants": items, "revocations": []} for h, items in per_holder.items()}
        )
        return [r.record_id for _, r, _ in records], outcome

    def revoke(self, record_id: str, holders: Sequence[str]) -> tuple[str, dict[str, str]]:
        """Revoke a grant here and at ``holders``; return (revocation id, per-holder outcome).

        Raises
        ------
        node.consent.exceptions.UnknownAuthorization
            The bank holds no such record.
        node.transport.directory.UnknownParty
            A named holder is not a party (nothing is revoked or sent).
        """
        # every holder first, as ``register`` does: a bogus name refuses the revocation
        # before it is saved here, rather than after, reported as an "offline" holder
        self._client.check(holders)
        revocation = "rev-" + uuid.uuid4().hex[:16]
        at = time.time()
        self._store.revoke(record_id, revocation, at)
        body: dict[str, object] = {
            "grants": [],
            "revocations": [{"record_id": record_id, "revocation_id": revocation, "at": at}],
        }
        return revocation, self._send({h: body for h in holders})

    def _send(self, bodies: dict[str, dict[str, object]]) -> dict[str, str]:
        """Send each holder its body once the bank's own record is saved; never raises for a
        holder, so what was saved is always reported with each holder's outcome."""
        pending: dict[str, Pending] = {}
        outcome: dict[str, str] = {}
        for holder, body in bodies.items():
            try:
                pending[holder] = self._client.submit(holder, wire.RECORDS, body, 1)
            except UnknownParty:
                # it left the directory since the caller looked it up: unreachable, like any
                # holder offline, and the bank's record stands (docs/authorization.md)
                outcome[holder] = "offline"
        deadline = time.monotonic() + ACK_TIMEOUT_S
        for holder, p in pending.items():
            gap = PartnerClient.wait(p, deadline)
            answer = p.answer or {}
            if gap:
                outcome[holder] = gap
            elif answer.get("error"):
                outcome[holder] = str(answer["error"])
            else:
                outcome[holder] = (
                    f"stored {answer.get('stored', 0)}, pending "
                    f"{answer.get('pending', 0)}, revoked {answer.get('revoked', 0)}"
                )
        return outcome
