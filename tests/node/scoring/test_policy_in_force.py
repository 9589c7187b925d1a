"""The decision policy in force: each change recorded once in the node's access log (both
files' SHA-256 and the names of the settings that changed), however often the node restarts,
and never put in force unrecorded.

Real parts: a decision-policy file, the SQLite decision records and a signed access log on
disk; a restart is new objects over the same files. The last tests read the policy through
the bank's ``DecisionService`` as the node assembles it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from node.audit import Actor
from node.audit.sink import AuditSink
from node.audit.tokens import FirmTokenizer
from node.models import ModelRegistry
from node.scoring.client import PartnerClient
from node.scoring.combine import Gap, Reply
from node.scoring.exceptions import (
    DecisionPolicyError,
    DecisionPolicyNotRecorded,
    NotReady,
    ScoringError,
)
from node.scoring.index import FirmIndex
from node.scoring.policy import parse_decision_policy
from node.scoring.policy_in_force import DecisionPolicyInForce
from node.scoring.records import DecisionRecords, new_call_id
from node.scoring.service import DecisionService, call_record, decide_with
from tests.node.scoring.parts import POLICY_FILE, bank_part
from tests.policy_fixtures import PolicyNode
from tests.relay_fixtures import silent_router

A = POLICY_FILE.read_text()
B = A.replace("approve_below_pd: 0.06", "approve_below_pd: 0.05").replace(
    "model: sme-pd ", "model: sme-pd2"
)
COMMENT_ONLY = A + "\n# reviewed by the credit committee\n"
A_VERSION = parse_decision_policy(A).version
B_VERSION = parse_decision_policy(B).version


class Node(PolicyNode[DecisionRecords, DecisionPolicyInForce]):
    """A bank node's decision policy, its decision records and access log."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "decision.yaml", A)

    def open_store(self) -> DecisionRecords:
        return DecisionRecords(self.root / "decisions.sqlite")

    def in_force_of(self, store: DecisionRecords, sink: AuditSink) -> DecisionPolicyInForce:
        return DecisionPolicyInForce(self.policy, store, sink)

    @property
    def records(self) -> DecisionRecords:
        return self.kept

    def changes(self) -> list[dict[str, object]]:
        return [
            {"purpose": e.purpose, **e.details}
            for e in self.policy_changes()
            if e.details.get("operation") == "decision_policy_changed"
        ]


def test_a_change_is_recorded_once_with_both_hashes_and_the_settings_that_changed(
    tmp_path: Path,
) -> None:
    # prepare: A in force (the first use records nothing: there is nothing to compare with)
    node = Node(tmp_path)
    assert node.in_force.get().version == A_VERSION
    assert node.changes() == []
    # execute: the file changes; decisions use it, then the node restarts twice
    node.edit(B)
    assert node.in_force.get().version == B_VERSION
    assert node.in_force.get().version == B_VERSION
    assert node.restart().get().version == B_VERSION
    assert node.restart().get().version == B_VERSION
    # assert: A -> B once, naming the settings, never their values
    [change] = node.changes()
    assert change == {
        "operation": "decision_policy_changed",
        "purpose": "scoring",
        "old_sha256": A_VERSION,
        "new_sha256": B_VERSION,
        "settings_changed": "cutoffs,model",
    }
    assert node.records.policy_text(B_VERSION) == B
    node.stop()


def test_a_file_edited_while_stopped_is_recorded_at_the_next_start(tmp_path: Path) -> None:
    # prepare: the node put A in force, then stopped; the file gets a comment only
    node = Node(tmp_path)
    assert node.in_force.get().version == A_VERSION
    node.stop()
    node.edit(COMMENT_ONLY)
    # execute: the restarted node takes the file up
    version = node.start().get().version
    # assert: recorded once (new bytes, new version), no setting named
    assert [(c["old_sha256"], c["new_sha256"], c["settings_changed"]) for c in node.changes()] == [
        (A_VERSION, version, "")
    ]
    node.stop()


def test_a_change_the_access_log_refuses_is_not_put_in_force_and_is_retried(
    tmp_path: Path,
) -> None:
    # prepare: A in force; the access log stops taking entries; B is written
    node = Node(tmp_path)
    assert node.in_force.get().version == A_VERSION
    node.log.close()
    node.edit(B)
    # execute / assert: every use refuses in one line; nothing is put in force
    for _ in range(2):
        with pytest.raises(DecisionPolicyNotRecorded) as caught:
            node.in_force.get()
        assert isinstance(caught.value, ScoringError)
        assert str(caught.value) == (
            f"the decision policy change to {B_VERSION[:16]} could not be recorded in the "
            "access log; decisions wait (see the node's log)"
        )
    assert node.records.policy_in_force() == A_VERSION
    # execute: the node restarts with its log writable again
    node.records.close()
    assert node.start().get().version == B_VERSION
    # assert: the change is recorded then, against A, once
    assert [(c["old_sha256"], c["new_sha256"]) for c in node.changes()] == [(A_VERSION, B_VERSION)]
    node.stop()


def test_records_kept_before_the_in_force_row_compare_with_the_last_decision_s_policy(
    tmp_path: Path,
) -> None:
    # prepare: records of an earlier version (a call decided under A, no version named in
    # force); the file is changed to B during the upgrade
    node = Node(tmp_path)
    rules, part, n = parse_decision_policy(A), bank_part(), 2
    node.records.keep_policy(rules.version, rules.text)
    values, amounts = np.zeros((n, 3)), np.full(n, 1e4)
    replies: dict[str, Reply] = {"government": Gap("offline"), "third_party": Gap("offline")}
    outcomes = decide_with(rules, part, "sme-pd@1", values, replies, amounts)
    tokens = [f"ft:{i:032x}" for i in range(n)]
    terms = np.full(n, 12, np.int32)
    record = call_record(
        new_call_id(), rules.version, "sme-pd@1", part, ["A-0", "A-1"], tokens, amounts, terms,
        values, replies, outcomes,
    )  # fmt: skip
    node.records.add(record, 1.0)
    node.edit(B)
    # execute
    assert node.in_force.get().version == B_VERSION
    # assert: the change from the policy the last decision used is recorded
    assert [(c["old_sha256"], c["new_sha256"]) for c in node.changes()] == [(A_VERSION, B_VERSION)]
    node.stop()


def _service(node: Node, registry: ModelRegistry, policy: Path | None) -> DecisionService:
    """The bank's decision service over the node's real records, registry and access log (the
    partner client is built but never used here)."""
    tokens = FirmTokenizer(bytes(32))
    service = DecisionService(
        me=Actor("bank-a", "bank", "node"),
        policy_path=policy,
        registry=registry,
        records=node.records,
        client=PartnerClient(silent_router("bank"), str),
        pair_key=lambda holder: bytes(32),
        frame=lambda dataset: pd.DataFrame(),
        index_of=lambda dataset: FirmIndex([], tokens),
        sink=node.sink,
    )
    return service


def test_the_decision_service_records_a_change_and_keeps_its_errors(tmp_path: Path) -> None:
    # prepare
    node = Node(tmp_path)
    registry = ModelRegistry(node.root / "state")
    service, unconfigured = _service(node, registry, node.policy), _service(node, registry, None)
    assert service.policy().version == A_VERSION
    # execute: the policy changes under the running service
    node.edit(B)
    assert service.policy().version == B_VERSION
    # assert: recorded in the node's log, once
    assert [(c["old_sha256"], c["new_sha256"]) for c in node.changes()] == [(A_VERSION, B_VERSION)]
    # and the service's errors stay what callers handle: unconfigured, unreadable, invalid
    with pytest.raises(NotReady, match=r"set scoring\.decision_policy"):
        unconfigured.policy()
    node.edit("fedcredit_decision_policy: 1\nname: [\n")
    with pytest.raises(DecisionPolicyError, match="is not valid YAML"):
        service.policy()
    node.policy.unlink()
    with pytest.raises(DecisionPolicyError) as caught:
        service.policy()
    assert str(node.policy) in str(caught.value)
    assert "check scoring.decision_policy" in str(caught.value)
    # and a change the log refuses reaches the caller as a scoring error it handles
    node.policy.write_text(A)
    node.edit(A)
    node.log.close()
    with pytest.raises(DecisionPolicyNotRecorded):
        service.policy()
    registry.close()
    node.records.close()
