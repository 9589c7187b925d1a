"""Nothing identifying leaves a node through its access log: not to the coordinator, not to logs.

A node logs accesses to 40 firms, publishes its checkpoint and consistency proof to the
coordinator's witness over a party channel, and the test captures every byte that crossed
the channel plus every log line written, then searches them for the raw codes and the
firm tokens.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coordinator.witness import CheckpointWitness
from node.audit.entry import Action, Actor
from node.audit.exceptions import RawIdentifierError
from node.audit.log import AccessLog
from node.audit.recorder import AuditRecorder
from node.audit.tokens import FirmTokenizer
from node.data import uscc
from node.transport.memory import MemoryHub

from .conftest import make_entry


def test_published_checkpoints_and_log_lines_hold_no_identifier(
    tmp_path: Path, signing_key: Ed25519PrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    # prepare
    caplog.set_level(logging.DEBUG, logger="fedcredit")
    rng = random.Random(20261129)
    codes = [uscc.generate(rng) for _ in range(40)]
    tok = FirmTokenizer(b"node-token-key-node-token-key-!!")
    tokens = [tok.token(c) for c in codes]
    hub = MemoryHub("audit-publish")
    node, coord = hub.channel("bank-a"), hub.channel("coordinator")
    witness = CheckpointWitness(tmp_path / "witness.sqlite")
    accepted: int | None = None

    # execute
    with AccessLog.open(tmp_path / "log", signing_key, "bank-a") as log:
        rec = AuditRecorder(log.append, "p1")
        for round_ in range(3):
            for i, t in enumerate(tokens):
                rec.rpc(Actor("Bank A", "bank-a", "bank"), "Release", Action.RELEASE,
                        allowed=i % 5 != 0, purpose="scoring", dataset="tax",
                        fields=["monthly_tax"], rows=1, subjects=[t],
                        reason="no rule")  # fmt: skip
            rec.from_record(Actor("Bank A", "bank-a", "bank"), "job-1", "score",
                            {"applicant": codes[round_]})  # fmt: skip
            cp, proof = log.publication(accepted)
            node.send("coordinator", "audit/checkpoint", cp.to_bytes())
            node.send("coordinator", "audit/proof", b"".join(proof))
            got_cp = coord.recv("bank-a", "audit/checkpoint")
            got_proof = coord.recv("bank-a", "audit/proof")
            parts = [got_proof[i : i + 32] for i in range(0, len(got_proof), 32)]
            accepted = witness.publish("bank-a", signing_key.public_key(), got_cp, parts)

    # assert
    wire = b"".join(c.payload for c in hub.captured)
    text = caplog.text
    assert accepted == 3 * 41
    for code, token in zip(codes, tokens, strict=True):
        for needle in (code, code.lower()):
            assert needle.encode() not in wire
            assert needle not in text
        assert token.encode() not in wire


def test_refusal_message_does_not_echo_the_identifier() -> None:
    # prepare
    code = uscc.generate(random.Random(3))

    # execute
    with pytest.raises(RawIdentifierError) as err:
        make_entry(result=f"matched {code}")

    # assert
    assert code not in str(err.value) and code not in repr(err.value.__dict__)
