"""Decisions and authorizations across real node processes over loopback mTLS."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import grpc
import pytest

from node.audit.reader import LogReader
from node.audit.search import SearchQuery
from node.consent.audit import uses_of
from node.consent.store import ConsentStore
from node.runtime.secrets import node_secret
from node.scoring.lending import subject_tokenizer
from protos.fedcredit.v1 import node_pb2
from tests.node.scoring.federation import ScoringFederation, scoring_federation, train_and_deploy

pytestmark = pytest.mark.slow
DAY = 86_400.0
DOC = hashlib.sha256(b"signed authorization form").hexdigest()


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ScoringFederation, list[str]]]:
    root = tmp_path_factory.mktemp("scoring")
    federation, codes = scoring_federation(root)
    try:
        federation.start()
        train_and_deploy(federation)
        yield federation, codes
    finally:
        federation.stop()


def _grant(code: str, *, start: float, end: float) -> node_pb2.AuthorizationGrant:
    return node_pb2.AuthorizationGrant(
        uscc=code,
        purposes=["loan_approval"],
        valid_from=start,
        valid_to=end,
        document_sha256=DOC,
        collector="branch-7",
        collected_at=start,
        holders=["government", "third_party"],
    )


def _decide(fed: ScoringFederation, code: str, ref: str) -> node_pb2.DecideResponse:
    request = node_pb2.DecideRequest(uscc=code, application_ref=ref, amount=400_000, term_months=12)
    return fed.node("bank").Decide(request, timeout=30)


def _token(fed: ScoringFederation, node: str, code: str) -> str:
    return subject_tokenizer(node_secret(fed.root / "state" / node)).token(code)


def test_authorization_lifecycle_governs_every_holder_answer(
    fed: tuple[ScoringFederation, list[str]],
) -> None:
    federation, codes = fed
    code = codes[3]
    # without an authorization both holders refuse, say so, and the bank refers
    refused = _decide(federation, code, "APP-1")
    assert {(g.party, g.reason) for g in refused.gaps} == {
        ("government", "unauthorized"),
        ("third_party", "unauthorized"),
    }
    assert refused.decision in ("refer", "decline")
    # with one, every holder answers with its model version
    now = time.time()
    ack = federation.node("bank").RegisterAuthorizations(
        node_pb2.AuthorizationBatch(grants=[_grant(code, start=now - DAY, end=now + 30 * DAY)]),
        timeout=30,
    )
    assert all(v.startswith("stored 1") for v in ack.holders.values()), ack.holders
    answered = _decide(federation, code, "APP-2")
    assert not answered.gaps
    assert set(answered.versions) == {"bank", "government", "third_party"}
    assert answered.decision in ("approve", "refer", "decline")
    assert 0.0 < answered.pd < 1.0 and len(answered.reasons) <= 4
    # after revocation it is refused again
    federation.node("bank").RevokeAuthorization(
        node_pb2.RevokeAuthorizationRequest(
            record_id=ack.record_ids[0], holders=["government", "third_party"]
        ),
        timeout=30,
    )
    after = _decide(federation, code, "APP-3")
    assert {g.reason for g in after.gaps} == {"unauthorized"}
    # an expired authorization is refused
    other = codes[4]
    federation.node("bank").RegisterAuthorizations(
        node_pb2.AuthorizationBatch(grants=[_grant(other, start=now - 60 * DAY, end=now - DAY)]),
        timeout=30,
    )
    assert {g.reason for g in _decide(federation, other, "APP-4").gaps} == {"unauthorized"}
    # the government's access log has every use, each covered, and the refusals
    state = federation.root / "state" / "government"
    token = _token(federation, "government", code)
    reader = LogReader.open(state / "audit")
    uses = uses_of(reader, ConsentStore(state / "consent" / "authorizations.sqlite"), token)
    scored = [u for u in uses if u.action == "score"]
    assert len(scored) == 1 and scored[0].authorization == ack.record_ids[0]
    assert not any(u.flag for u in uses)
    assert sum(u.action == "denial" for u in uses) == 2
    # and the CLI lists them the same way
    out = federation.cli("audit", "uses", "--config", str(federation.config("government")), token)
    assert "0 uses outside any authorization" in out


def test_decision_is_replayed_from_its_record_and_holds_no_partner_value(
    fed: tuple[ScoringFederation, list[str]],
) -> None:
    federation, codes = fed
    code = codes[10]
    now = time.time()
    federation.node("bank").RegisterAuthorizations(
        node_pb2.AuthorizationBatch(grants=[_grant(code, start=now - DAY, end=now + DAY)]),
        timeout=30,
    )
    decided = _decide(federation, code, "APP-10")
    out = federation.cli(
        "decide", "replay", decided.record_id, "--config", str(federation.config("bank"))
    )
    assert "reproduced" in out
    # no raw code in any holder's or the bank's stores and logs
    for node in ("government", "third_party", "bank"):
        for path in (federation.root / "state" / node).rglob("*"):
            if (path.is_file() and path.suffix in (".sqlite", ".db", "")) or path.name.endswith(
                "-wal"
            ):
                assert code.encode() not in path.read_bytes(), path


def test_one_holder_offline_is_a_stated_gap_within_the_deadline(
    fed: tuple[ScoringFederation, list[str]],
) -> None:
    federation, codes = fed
    federation.stop_party("third_party")
    try:
        started = time.monotonic()
        decided = _decide(federation, codes[20], "APP-20")
        assert time.monotonic() - started < 5.0
        assert ("third_party", "offline", "refer") in {
            (g.party, g.reason, g.action) for g in decided.gaps
        }
    finally:
        federation.start_node("third_party")
        federation.wait_online(["third_party"])


def test_loan_officer_of_another_bank_and_bad_input_are_refused(
    fed: tuple[ScoringFederation, list[str]],
) -> None:
    federation, codes = fed
    with pytest.raises(grpc.RpcError) as other:
        federation.node("bank", "other-desk").Decide(
            node_pb2.DecideRequest(uscc=codes[0], application_ref="X"), timeout=10
        )
    assert other.value.code() is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as bad:
        _decide(federation, "not-a-code", "APP-bad")
    assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_caps_refuse_and_log(fed: tuple[ScoringFederation, list[str]]) -> None:
    federation, codes = fed
    code = codes[30]
    now = time.time()
    federation.node("bank").RegisterAuthorizations(
        node_pb2.AuthorizationBatch(grants=[_grant(code, start=now - DAY, end=now + DAY)]),
        timeout=30,
    )
    gaps = [
        {g.party: g.reason for g in _decide(federation, code, f"CAP-{i}").gaps} for i in range(8)
    ]
    assert "government" not in gaps[0]
    assert gaps[-1]["government"] == "refused"  # per_firm_per_day: 6
    reader = LogReader.open(federation.root / "state" / "government" / "audit")
    token = _token(federation, "government", code)
    denials = [
        e for _, e in reader.search(SearchQuery(subject=token)) if e.result == "denied: daily cap"
    ]
    assert denials


def test_rollback_changes_the_answering_version(fed: tuple[ScoringFederation, list[str]]) -> None:
    federation, codes = fed
    code = codes[40]
    now = time.time()
    federation.node("bank").RegisterAuthorizations(
        node_pb2.AuthorizationBatch(grants=[_grant(code, start=now - DAY, end=now + DAY)]),
        timeout=30,
    )
    federation.cli("models", "deploy", "--config", str(federation.config("bank")), "--job", "vlr")
    assert _decide(federation, code, "RB-1").versions["bank"] == "sme-pd@2"
    federation.cli("models", "rollback", "--config", str(federation.config("bank")), "sme-pd")
    assert _decide(federation, code, "RB-2").versions["bank"] == "sme-pd@1"
