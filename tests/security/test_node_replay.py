"""Finding 12 (replay half): an envelope accepted before a node restarts is refused after it.

The attacker is a relaying party that recorded a sealed envelope: here the test process,
holding the government's certificate, sends the same envelope to the live bank node twice
through the real coordinator, with a restart of the bank in between. What the bank did with
each copy is read from its own access log (a refusal is a ``denial`` entry).
"""

from __future__ import annotations

import time

import pytest

from coordinator.local import LocalFederation
from node.audit import LogReader, SearchQuery
from node.audit.entry import Action
from node.crypto.envelope import seal
from node.pki import identity_from_certificate, load_identity_files
from protos.fedcredit.v1 import common_pb2

pytestmark = pytest.mark.slow

SENDER, VICTIM = "government", "bank"


def _refusals(fed: LocalFederation) -> list[str]:
    with LogReader.open(fed.root / "state" / VICTIM / "audit") as reader:
        hits = reader.search(SearchQuery(action=Action.DENIAL), scan=True)
    return [
        str(e.details.get("reason", ""))
        for _, e in hits
        if e.details.get("operation") == "envelope_refused"
    ]


def _wait_for_refusals(fed: LocalFederation, count: int, timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _refusals(fed)
        if len(found) >= count:
            return found
        time.sleep(0.3)
    return _refusals(fed)


def test_envelope_replayed_after_restart_is_refused(node_federation: LocalFederation) -> None:
    # prepare: a genuine envelope from the government to the bank, sealed now
    fed = node_federation
    sender = load_identity_files(fed.certs, SENDER)
    bank = identity_from_certificate((fed.certs / f"{VICTIM}.crt").read_bytes())
    sealed = seal(
        b"probe",
        sender=SENDER,
        sign_key=sender.sign_key,
        recipient=VICTIM,
        recipient_seal_public=bank.seal_public,
        job="replay-probe#1",
        topic="probe",
    )
    relay = fed.coordinator(SENDER)
    before = len(_refusals(fed))

    # execute: delivered once, the bank restarts, the recorded copy is delivered again
    relay.Send(common_pb2.Envelope(sealed=sealed), timeout=10)
    time.sleep(1.0)  # let the bank open the first copy before it stops
    accepted_first = len(_refusals(fed)) == before
    fed.stop_party(VICTIM)
    fed.start_node(VICTIM)
    fed.wait_online([VICTIM], timeout=60)
    fed.coordinator(SENDER).Send(common_pb2.Envelope(sealed=sealed), timeout=10)
    after = _wait_for_refusals(fed, before + 1)

    # assert: the first copy was accepted, the replay refused as one
    assert accepted_first
    assert len(after) == before + 1
    assert "already received" in after[-1]
