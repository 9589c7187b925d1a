"""The Node service over real mTLS: governed release, escalation refused, auditor access.

One local federation of processes serves the whole module; every call below presents a real
certificate, and what crosses the wire is read back and checked for raw values.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from coordinator.local import LocalFederation
from node.audit import LogReader
from node.audit.checkpoint import SignedCheckpoint
from node.audit.merkle import leaf_hash, verify_inclusion
from node.audit.verify import verify_log
from node.pki import identity_from_certificate, issue_certificate
from node.transport.client import open_channel
from protos.fedcredit.v1 import node_pb2, node_pb2_grpc
from tests.federation_fixtures import CHECK_JOB, synthetic_federation

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    fed = synthetic_federation(tmp_path_factory.mktemp("fed"), n_firms=400)
    issue_certificate(fed.certs, "stranger", role="bank", organization="unknown-bank")
    issue_certificate(fed.certs, "loan-desk", role="loan_officer", organization="bank-a")
    try:
        fed.start()
        yield fed
    finally:
        fed.stop()


def _node(fed: LocalFederation, node_id: str, as_: str) -> node_pb2_grpc.NodeStub:
    return node_pb2_grpc.NodeStub(
        open_channel(f"127.0.0.1:{fed.node_ports[node_id]}", fed.certs, as_, peer=node_id)
    )


def _government_table(fed: LocalFederation) -> pd.DataFrame:
    return pd.read_csv(fed.root / "data" / "government.csv", dtype=str)


def test_capabilities_list_fields_classes_and_purposes(federation: LocalFederation) -> None:
    caps = _node(federation, "government", "bank").GetCapabilities(node_pb2.CapabilitiesRequest())
    assert caps.role == "government" and caps.policy_version
    fields = {f.name: f for f in caps.datasets[0].fields}
    assert fields["legal_rep_id_number"].sensitivity == "C3"
    assert "training" in fields["tax_paid_12m"].purposes


def _authorize(fed: LocalFederation, codes: list[str]) -> None:
    """The bank registers its firms' loan-approval authorizations with the government."""
    now = time.time()
    grants = [
        node_pb2.AuthorizationGrant(
            uscc=code, purposes=["loan_approval"], valid_from=now - 3600, valid_to=now + 86_400,
            document_sha256="ab" * 32, collector="branch-1", collected_at=now - 3600,
            holders=["government"],
        )
        for code in codes
    ]  # fmt: skip
    ack = _node(fed, "bank", "loan-desk").RegisterAuthorizations(
        node_pb2.AuthorizationBatch(grants=grants), timeout=30
    )
    assert ack.holders["government"].startswith(f"stored {len(codes)}"), ack.holders


def test_bank_receives_a_masked_release_and_it_is_recorded(federation: LocalFederation) -> None:
    # prepare: only firms that authorized the bank are released (docs/authorization.md)
    raw = _government_table(federation)
    authorized = raw["uscc"].tolist()[:40]
    _authorize(federation, authorized)
    # execute
    reply = _node(federation, "government", "bank").Release(
        node_pb2.ReleaseRequest(
            dataset="government",
            fields=["uscc", "legal_rep_id_number", "legal_rep_phone", "tax_paid_12m"],
            purpose="release",
            format="csv",
        )
    )
    # assert: the table came back masked: no raw code, id number or phone survives
    released = pd.read_csv(io.BytesIO(reply.table), dtype=str)
    assert reply.rows == len(authorized) == len(released)
    raw = raw[raw["uscc"].isin(authorized)]
    for column in ("uscc", "legal_rep_id_number", "legal_rep_phone"):
        assert not set(released[column]) & set(raw[column]), column
    assert reply.sha256 and reply.policy_version


def test_bank_asking_for_a_field_without_a_rule_is_refused(federation: LocalFederation) -> None:
    with pytest.raises(grpc.RpcError) as err:
        _node(federation, "government", "bank").Release(
            # firm names have release rules only: none lets them go to a bank for training
            node_pb2.ReleaseRequest(dataset="government", fields=["firm_name"], purpose="training")
        )
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "no rule for field 'firm_name'" in err.value.details()


def test_role_asking_for_another_roles_purpose_is_refused(federation: LocalFederation) -> None:
    with pytest.raises(grpc.RpcError) as err:
        _node(federation, "government", "third_party").Release(
            node_pb2.ReleaseRequest(dataset="government", fields=["uscc"], purpose="release")
        )
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED


def test_release_to_an_unknown_organization_is_refused(federation: LocalFederation) -> None:
    with pytest.raises(grpc.RpcError) as err:
        _node(federation, "government", "stranger").Release(
            node_pb2.ReleaseRequest(dataset="government", fields=["uscc"], purpose="release")
        )
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "unknown-bank" in err.value.details()


def test_auditor_methods_refuse_other_roles(federation: LocalFederation) -> None:
    with pytest.raises(grpc.RpcError) as err:
        _node(federation, "government", "bank").AuditCheckpoint(node_pb2.AuditCheckpointRequest())
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED


def test_auditor_proves_an_entry_against_a_signed_checkpoint(federation: LocalFederation) -> None:
    # prepare: the government node's checkpoint key comes from its certificate, not the node
    identity = identity_from_certificate((federation.certs / "government.crt").read_bytes())
    key = Ed25519PublicKey.from_public_bytes(identity.sign_public)
    stub = _node(federation, "government", "auditor")
    # execute
    proof = stub.AuditProve(node_pb2.AuditProveRequest(index=0))
    checkpoint = SignedCheckpoint.from_bytes(proof.checkpoint)
    # assert
    checkpoint.verify(key)
    verify_inclusion(leaf_hash(proof.entry), 0, checkpoint.size, list(proof.proof), checkpoint.root)


def test_access_logs_of_a_real_run_verify_and_hold_no_raw_identifier(
    federation: LocalFederation, tmp_path: Path
) -> None:
    # prepare: traffic of every kind: a job, a release, a denial
    federation.wait_job(federation.submit(CHECK_JOB), timeout=60)
    # execute: the auditor exports the government log over gRPC
    stub = _node(federation, "government", "auditor")
    export = b"".join(c.data for c in stub.AuditExport(node_pb2.AuditExportRequest()))
    # assert: the export holds entries, and no code, id number or phone of the data set
    assert export.count(b"\n") > 5
    raw = _government_table(federation)
    text = export.decode()
    for column in ("uscc", "legal_rep_id_number", "legal_rep_phone", "legal_rep_name"):
        assert not any(value in text for value in raw[column]), column
    actions = {json.loads(json.loads(line)["entry"])["action"] for line in text.splitlines()[1:]}
    assert {"release", "denial", "job"} & actions
    reader = LogReader.open(federation.root / "state" / "government" / "audit")
    try:
        identity = identity_from_certificate((federation.certs / "government.crt").read_bytes())
        report = verify_log(reader, Ed25519PublicKey.from_public_bytes(identity.sign_public))
    finally:
        reader.close()
    assert report.ok


def test_policy_reload_is_for_operators_and_names_both_versions(
    federation: LocalFederation,
) -> None:
    # a bank certificate may not reload a government node's policy
    with pytest.raises(grpc.RpcError) as err:
        _node(federation, "government", "bank").ReloadPolicy(node_pb2.ReloadPolicyRequest())
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    # the operator may; an unchanged file keeps its content-hash version
    reply = _node(federation, "government", "operator").ReloadPolicy(node_pb2.ReloadPolicyRequest())
    caps = _node(federation, "government", "bank").GetCapabilities(node_pb2.CapabilitiesRequest())
    assert reply.old_version == reply.new_version == caps.policy_version
