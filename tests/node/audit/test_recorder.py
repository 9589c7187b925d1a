"""The recorder maps each kind of event onto entries, and never lets a raw identifier through."""

from __future__ import annotations

import random
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit.entry import AccessEntry, Action, Actor
from node.audit.log import AccessLog
from node.audit.recorder import AuditRecorder
from node.audit.search import SearchQuery
from node.audit.tokens import FirmTokenizer
from node.data import uscc

BANK = Actor("Bank A", "bank-a", "trainer")
GOV = Actor("Gov DC", "gov-1", "node")


def _recorder(sink: list[AccessEntry]) -> AuditRecorder:
    def append(entry: AccessEntry) -> int:
        sink.append(entry)
        return len(sink) - 1

    return AuditRecorder(append, policy_version=lambda: "p7")


def test_allowed_and_denied_rpcs(tokenizer: FirmTokenizer) -> None:
    # prepare
    sink: list[AccessEntry] = []
    rec = _recorder(sink)
    firm = tokenizer.token("x")

    # execute
    rec.rpc(BANK, "Release", Action.RELEASE, allowed=True, purpose="scoring", dataset="tax",
            fields=["monthly_tax"], rows=12, subjects=[firm])  # fmt: skip
    rec.rpc(BANK, "Release", Action.RELEASE, allowed=False, reason="no rule for field owner_id")

    # assert
    ok, denied = sink
    assert ok.action is Action.RELEASE and ok.result == "allowed" and ok.subjects == (firm,)
    assert ok.policy_version == "p7" and ok.rows == 12
    assert denied.action is Action.DENIAL
    assert denied.result == "denied: no rule for field owner_id"
    assert dict(denied.details) == {"rpc": "Release", "requested": "release"}


def test_job_records_are_mapped() -> None:
    # prepare
    sink: list[AccessEntry] = []
    rec = _recorder(sink)

    # execute
    rec.from_record(GOV, "job-1", "psi_run", {"rows": 5000, "intersection": 812, "dataset": "tax"})
    details = {"fields": ["a", "b"], "round": 3, "auc": 0.71234567, "blob": {"x": 1}}
    rec.from_record(GOV, "job-1", "training_use", details)
    rec.from_record(GOV, "job-1", "round_done", {"round": 3})

    # assert
    psi, train, other = sink
    assert psi.action is Action.PSI_RUN and psi.rows == 5000 and psi.dataset == "tax"
    assert dict(psi.details) == {"intersection": 812}
    assert train.fields == ("a", "b") and dict(train.details) == {"round": 3, "auc": "0.712346"}
    assert other.action is Action.JOB and other.details["event"] == "round_done"


def test_raw_identifier_is_redacted_but_the_event_is_still_logged() -> None:
    # prepare
    sink: list[AccessEntry] = []
    rec = _recorder(sink)
    code = uscc.generate(random.Random(11))

    # execute
    rec.from_record(GOV, "job-2", "score", {"applicant": code})
    rec.rpc(BANK, "Release", Action.READ, allowed=True, purpose=f"check {code}")

    # assert
    assert [e.action for e in sink] == [Action.SCORE, Action.READ]
    for entry in sink:
        assert code not in repr(entry)
        assert "redacted" in entry.result


def test_admin_certificate_job_and_relay_events(
    tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    # prepare
    with AccessLog.open(tmp_path, signing_key, "coordinator") as log:
        rec = AuditRecorder(log.append, "p1")

        # execute
        rec.policy_loaded(GOV, "p1", "p2")
        rec.certificate_event(GOV, "rejected", "bank-x", "0a1b")
        rec.job_event(GOV, "job-3", "submitted", party="bank-a")
        rec.relay(GOV, "job-3", "bank-a", "gov-1", "psi/round1", 4096)

        # assert
        found = [e.action for _, e in log.search(SearchQuery(actor="Gov DC"))]
        assert found == [Action.POLICY_CHANGE, Action.CERTIFICATE, Action.JOB, Action.RELAY]
        assert log.search(SearchQuery(job_id="job-3"))[1][1].details["bytes"] == 4096
