"""Authorization across real node processes: a release withholds unauthorized firms, and a
holder whose policy says ``training_basis: authorized`` trains only on firms that authorized
model development, and the job records it."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pandas as pd
import pytest
from typer.testing import CliRunner

from node.audit.reader import LogReader
from node.audit.search import SearchQuery
from node.cli.app import app
from node.cli.exit_codes import ExitCode
from node.consent.store import ConsentStore
from node.pki import issue_certificate
from protos.fedcredit.v1 import node_pb2
from tests.node.scoring.federation import JOB, ScoringFederation, scoring_federation

pytestmark = pytest.mark.slow
DOC = "cd" * 32


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ScoringFederation, list[str]]]:
    root = tmp_path_factory.mktemp("consent")
    federation, codes = scoring_federation(root, n_firms=500)
    # the government's policy is a copy this test may edit (and reload) for training basis
    policy = root / "government-policy.yaml"
    policy.write_text(_policy_text())
    federation.parties = [
        replace(p, policy=policy) if p.node_id == "government" else p for p in federation.parties
    ]
    issue_certificate(federation.certs, "gov-operator", role="operator", organization="gov-dc")
    try:
        federation.start()
        yield federation, codes
    finally:
        federation.stop()


def _policy_text() -> str:
    from coordinator.local.federation import POLICY_DIR

    return (POLICY_DIR / "government.yaml").read_text()


def _filed(path: Path) -> int:
    store = ConsentStore(path)
    try:
        return store.count()
    finally:
        store.close()


def _grant(
    codes: list[str], purposes: list[str], holders: list[str]
) -> node_pb2.AuthorizationBatch:
    now = time.time()
    return node_pb2.AuthorizationBatch(
        grants=[
            node_pb2.AuthorizationGrant(
                uscc=c, purposes=purposes, valid_from=now - 3600, valid_to=now + 86_400,
                document_sha256=DOC, collector="branch-2", collected_at=now - 3600,
                holders=holders,
            )
            for c in codes
        ]
    )  # fmt: skip


def test_a_release_withholds_and_counts_the_unauthorized_firms(
    fed: tuple[ScoringFederation, list[str]],
) -> None:
    # prepare: the bank holds loan-approval authorizations for 30 of the government's firms
    federation, _ = fed
    table = pd.read_csv(federation.root / "data" / "government.csv", dtype=str)
    authorized = table["uscc"].tolist()[:30]
    ack = federation.node("bank").RegisterAuthorizations(
        _grant(authorized, ["loan_approval"], ["government"]), timeout=30
    )
    assert ack.holders["government"].startswith("stored 30"), ack.holders
    # execute: the bank asks the government for a release of the whole table
    reply = federation.node("government", "bank").Release(
        node_pb2.ReleaseRequest(
            dataset="government", fields=["uscc", "tax_paid_12m"], purpose="release", format="csv"
        ),
        timeout=60,
    )
    # assert: only the authorized rows came, the rest were withheld, counted and logged
    released = pd.read_csv(io.BytesIO(reply.table), dtype=str)
    assert reply.rows == len(released) == 30
    reader = LogReader.open(federation.root / "state" / "government" / "audit")
    entries = [e for _, e in reader.search(SearchQuery(action="release"))]
    recorded = [e for e in entries if e.details.get("release_id") == reply.release_id]
    assert any(e.details.get("withheld") == len(table) - 30 for e in recorded), recorded
    allowed = [e for e in recorded if e.result == "allowed"]
    assert allowed and len(allowed[0].subjects) == 30 and allowed[0].details["authorizations"]
    denials = [
        e
        for _, e in reader.search(SearchQuery(action="denial"))
        if e.details.get("release_id") == reply.release_id
    ]
    assert len(denials) == 1 and len(denials[0].subjects) == len(table) - 30
    assert denials[0].result == "denied: no valid authorization"


def test_an_unknown_holder_is_named_with_the_fix_and_nothing_is_filed(
    fed: tuple[ScoringFederation, list[str]],
) -> None:
    # prepare: a grant for a holder id nobody registered (a typo of "government")
    federation, codes = fed
    bank_store = federation.root / "state" / "bank" / "consent" / "authorizations.sqlite"
    filed = _filed(bank_store)
    document = federation.root / "signed.pdf"
    document.write_bytes(b"signed authorization")
    # execute: over the RPC, and as the bank's desk types it
    with pytest.raises(grpc.RpcError) as refused:
        federation.node("bank").RegisterAuthorizations(
            _grant(codes[:3], ["loan_approval"], ["govenrment"]), timeout=30
        )
    typed = CliRunner().invoke(
        app,
        ["consent", "register", "--node", f"127.0.0.1:{federation.node_ports['bank']}",
         "--node-id", "bank", "--certs", str(federation.certs), "--as", "loan-desk",
         "--uscc", codes[0], "--purposes", "loan_approval", "--valid-from", "2026-01-01",
         "--valid-to", "2027-01-01", "--document", str(document), "--collector", "branch-2",
         "--holders", "govenrment"],
    )  # fmt: skip
    # assert: a precondition naming the party and the fix, one line, nothing filed at the bank
    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "party 'govenrment' is not registered with the coordinator" in refused.value.details()
    assert typed.exit_code == ExitCode.REFUSED_BY_COORDINATOR, typed.output
    assert typed.exception is None or isinstance(typed.exception, SystemExit)
    lines = typed.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in typed.output, typed.output
    assert "party 'govenrment' is not registered" in lines[0] and "check its node id" in lines[0]
    assert codes[0] not in typed.output
    assert _filed(bank_store) == filed


def _revocations(path: Path) -> dict[str, str]:
    """The revocations the bank has saved: record id -> revocation id."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT record_id, revocation_id FROM authorizations WHERE revoked_at IS NOT NULL"
        ).fetchall()
    finally:
        db.close()
    return {str(r): str(v) for r, v in rows}


def test_a_revocation_naming_an_unknown_holder_is_refused_before_it_is_saved(
    fed: tuple[ScoringFederation, list[str]],
) -> None:
    # prepare: a grant the bank sent to the government, and where the bank's log stands
    federation, codes = fed
    bank_store = federation.root / "state" / "bank" / "consent" / "authorizations.sqlite"
    ack = federation.node("bank").RegisterAuthorizations(
        _grant(codes[-1:], ["post_loan_monitoring"], ["government"]), timeout=30
    )
    record = ack.record_ids[0]
    revoked = _revocations(bank_store)
    bank_log = federation.root / "logs" / "bank.log"
    logged = bank_log.stat().st_size
    login = ["--node", f"127.0.0.1:{federation.node_ports['bank']}", "--node-id", "bank",
             "--certs", str(federation.certs), "--as", "loan-desk"]  # fmt: skip
    # execute: a revocation naming the government and a typo of it, then the government alone
    typed = CliRunner().invoke(
        app, ["consent", "revoke", *login, record, "--holders", "government, govenrment"]
    )
    after_refusal = _revocations(bank_store)
    done = CliRunner().invoke(app, ["consent", "revoke", *login, record, "--holders", "government"])
    # assert: one line naming the party and the fix, as register's refusal; nothing saved
    assert typed.exit_code == ExitCode.REFUSED_BY_COORDINATOR, typed.output
    assert typed.exception is None or isinstance(typed.exception, SystemExit)
    lines = typed.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in typed.output, typed.output
    assert "party 'govenrment' is not registered" in lines[0] and "check its node id" in lines[0]
    assert after_refusal == revoked and record not in after_refusal
    # the same revocation to the known holder goes through: it is saved and the holder acks
    assert done.exit_code == 0, done.output
    assert "government: stored 0, pending 0, revoked 1" in done.output, done.output
    assert record in _revocations(bank_store)
    # the bank's node: no dispatcher started for the bogus name (one for the government
    # did, at its first grant), no traceback
    said = bank_log.read_bytes()[logged:].decode(errors="replace")
    assert "Traceback" not in said, said
    assert "dispatcher for holder govenrment" not in bank_log.read_text(errors="replace")
    assert "dispatcher for holder government started" in bank_log.read_text(errors="replace")


def test_authorized_basis_trains_only_on_firms_that_authorized_model_development(
    fed: tuple[ScoringFederation, list[str]],
) -> None:
    # prepare: the government's policy switches to the authorized basis; 200 of the bank's
    # firms authorized model development there
    federation, codes = fed
    policy = next(p.policy for p in federation.parties if p.node_id == "government")
    assert policy is not None
    policy.write_text(_policy_text() + "\ntraining_basis: authorized\n")
    operator = federation.node("government", "gov-operator")
    reloaded = operator.ReloadPolicy(node_pb2.ReloadPolicyRequest(), timeout=30)
    assert reloaded.new_version != reloaded.old_version
    consenting = codes[:200]
    ack = federation.node("bank").RegisterAuthorizations(
        _grant(consenting, ["model_development"], ["government"]), timeout=30
    )
    assert ack.holders["government"].startswith("stored 200"), ack.holders
    # execute
    status = federation.wait_job(federation.submit(JOB, job_id="vlr-authorized"), timeout=900)
    # assert: the government trained on the consenting firms only and said on what basis
    assert status.state == "succeeded", status.error
    result = json.loads(status.result_json)
    government = result["parties"]["government"]
    basis = government["training_basis"]
    held_codes = set(pd.read_csv(federation.root / "data" / "government.csv")["uscc"])
    held, consenting_held = len(held_codes), len(set(consenting) & held_codes)
    assert basis["basis"] == "authorized" and basis["recipient"] == "bank-a"
    assert basis["firms"] == consenting_held and basis["withheld"] == held - consenting_held
    assert government["aligned_rows"] <= consenting_held
    # the bank, on the default de-identified basis, says so too
    bank = result["parties"]["bank"]
    assert bank["training_basis"]["basis"] == "deidentified"
