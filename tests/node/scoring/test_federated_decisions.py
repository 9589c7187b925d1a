"""Decisions and authorizations across real node processes over loopback mTLS."""

from __future__ import annotations

import csv
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pandas as pd
import pytest
from typer.testing import CliRunner

from node.audit.entry import Action
from node.audit.reader import LogReader
from node.audit.search import SearchQuery
from node.cli.app import app
from node.consent.audit import uses_of
from node.consent.store import ConsentStore
from node.runtime.secrets import node_secret
from node.scoring.lending import subject_tokenizer
from node.scoring.records import DecisionRecords
from protos.fedcredit.v1 import coordinator_pb2, coordinator_pb2_grpc, node_pb2
from tests.governance.helpers import wait_witnessed
from tests.node.scoring.federation import (
    SECUREBOOST_JOB,
    ScoringFederation,
    scoring_federation,
    train_and_deploy,
)

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


def _wait_offline(fed: ScoringFederation, node_id: str, timeout: float = 30.0) -> None:
    """Wait until the coordinator lists ``node_id`` offline."""
    deadline = time.monotonic() + timeout
    with fed.channel() as ch:
        stub = coordinator_pb2_grpc.CoordinatorStub(ch)
        while time.monotonic() < deadline:
            nodes = stub.ListNodes(coordinator_pb2.ListNodesRequest(), timeout=5).nodes
            if not any(n.node_id == node_id and n.online for n in nodes):
                return
            time.sleep(0.1)
    raise AssertionError(f"the coordinator still lists {node_id} online after {timeout:.0f} s")


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


def test_concurrent_decisions_each_get_their_own_record(
    fed: tuple[ScoringFederation, list[str]],
) -> None:
    # prepare: 12 authorized firms, decided by 12 callers at once (gathered into groups)
    federation, codes = fed
    firms = codes[40:52]
    now = time.time()
    federation.node("bank").RegisterAuthorizations(
        node_pb2.AuthorizationBatch(
            grants=[_grant(c, start=now - DAY, end=now + DAY) for c in firms]
        ),
        timeout=30,
    )
    answers: dict[str, node_pb2.DecideResponse] = {}

    def call(i: int) -> None:
        answers[f"APP-C{i}"] = _decide(federation, firms[i], f"APP-C{i}")

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(firms))]
    # execute
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # assert: every caller got the decision of its own application, recorded under its id
    assert len(answers) == len(firms)
    assert len({a.record_id for a in answers.values()}) == len(firms)
    records = DecisionRecords(federation.root / "state" / "bank" / "scoring" / "decisions.sqlite")
    try:
        for ref, answer in answers.items():
            assert answer.application_ref == ref
            kept = records.get(answer.record_id)
            assert kept["application_ref"] == ref
            assert kept["outcome"]["decision"] == answer.decision
            assert kept["outcome"]["pd"] == pytest.approx(answer.pd)
            assert not any(g.reason != "no_record" for g in answer.gaps)
    finally:
        records.close()


def test_one_holder_offline_is_a_stated_gap_within_the_deadline(
    fed: tuple[ScoringFederation, list[str]],
) -> None:
    federation, codes = fed
    federation.stop_party("third_party")
    try:
        # the coordinator notices a closed stream within its poll; until then an envelope to
        # the holder is still accepted and the bank can only wait it out (a "deadline" gap)
        _wait_offline(federation, "third_party")
        decided = _decide(federation, codes[20], "APP-20")
        # "offline" is the relay's word that the party is gone, given at once; a holder the
        # bank had waited out would be a "deadline" gap (no wall-clock bound here: the
        # machine's load decides those, not the product)
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


def _desk_args(federation: ScoringFederation) -> list[str]:
    address = f"127.0.0.1:{federation.node_ports['bank']}"
    return ["--node", address, "--node-id", "bank", "--certs", str(federation.certs)]


def _applicants(folder: Path, codes: list[str], prefix: str, amount: int) -> Path:
    """An applicants file as a loan system exports it: one 12-month application per firm."""
    path = folder / "applicants.csv"
    path.write_text(
        "uscc,application_ref,amount,term_months\n"
        + "".join(f"{c},{prefix}-{i},{amount},12\n" for i, c in enumerate(codes))
    )
    return path


def test_batch_file_streams_and_resumes_after_an_interruption(
    fed: tuple[ScoringFederation, list[str]], tmp_path: Path
) -> None:
    # prepare: 30 applicants, of which the first 10 were decided before an interruption
    federation, codes = fed
    applicants = _applicants(tmp_path, codes[100:130], "BATCH", 250_000)
    out = tmp_path / "decisions.csv"
    first = tmp_path / "first.csv"
    first.write_text("".join(applicants.read_text().splitlines(keepends=True)[:11]))
    args = ["decide", "batch", *_desk_args(federation), "--as", "loan-desk"]
    federation.cli(*args, "--in", str(first), "--out", str(out), "--chunk", "4")
    # execute: the full file; only the 20 not yet decided are sent
    again = federation.cli(*args, "--in", str(applicants), "--out", str(out), "--chunk", "7")
    # assert: every applicant decided exactly once, each with a record that replays
    rows = list(csv.DictReader(out.open()))
    assert "20 decided, 10 already" in again
    assert sorted(r["application_ref"] for r in rows) == sorted(f"BATCH-{i}" for i in range(30))
    assert {r["decision"] for r in rows} <= {"approve", "refer", "decline"}
    replayed = federation.cli(
        "decide", "replay", rows[-1]["record_id"], "--config", str(federation.config("bank"))
    )
    assert "reproduced" in replayed
    # a malformed file is one line naming the problem, not a traceback
    bad = tmp_path / "bad.csv"
    bad.write_text("code,ref\nx,y\n")
    result = CliRunner().invoke(app, [*args, "--in", str(bad), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "needs the columns uscc and application_ref" in result.output


def test_the_whole_book_is_decided_at_the_node_and_resumes_by_chunk(
    fed: tuple[ScoringFederation, list[str]], tmp_path: Path
) -> None:
    federation, codes = fed
    out = tmp_path / "book.csv"
    args = ["decide", "book", *_desk_args(federation), "--as", "loan-desk", "--out", str(out)]
    # execute: a whole run, then a rerun that finds everything done
    federation.cli(*args, "--prefix", "REVIEW", "--chunk", "100")
    rows = list(csv.DictReader(out.open()))
    # drop the last two chunks, as if interrupted, and resume
    kept = [r for r in rows if int(r["application_ref"].rsplit("-", 1)[1]) < len(codes) - 150]
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    resumed = federation.cli(*args, "--prefix", "REVIEW", "--chunk", "100")
    # assert: one decision per firm of the bank's table, references never hold a code
    final = list(csv.DictReader(out.open()))
    refs = [r["application_ref"] for r in final]
    assert len(refs) == len(set(refs)) == len(codes)
    assert "from chunk" in resumed and not any(c in "".join(refs) for c in codes[:50])


def test_a_leaked_answer_file_is_traced_to_the_loan_desk_and_records_stay_exact(
    fed: tuple[ScoringFederation, list[str]], tmp_path: Path
) -> None:
    # prepare: the loan desk decides a batch; its answer file leaks as a reordered third of
    # the rows with most columns dropped
    federation, codes = fed
    applicants = _applicants(tmp_path, codes[:300], "LEAK", 300_000)
    out = tmp_path / "answers.csv"
    args = ["decide", "batch", *_desk_args(federation), "--as", "loan-desk"]
    federation.cli(*args, "--in", str(applicants), "--out", str(out), "--chunk", "300")
    answers = pd.read_csv(out)
    leaked = answers.sample(frac=0.3, random_state=5)[["pd", "points", "application_ref"]]
    path = tmp_path / "leak.csv"
    leaked.to_csv(path, index=False)
    with LogReader.open(federation.root / "state" / "bank" / "audit") as log:
        wait_witnessed(federation, "bank", log.size())
    # execute: the bank's operator traces the leak
    config = str(federation.config("bank"))
    result = CliRunner().invoke(app, ["trace", str(path), "--config", config, "--format", "json"])
    # assert: one release accused, to the loan desk, with a bound and its proven log entry
    assert result.exit_code == 0, result.output
    (match,) = json.loads(result.output)["matches"]
    release = match["release"]
    assert release["principal"] == "bank-a/loan-desk/loan_officer"
    assert release["rows"] == len(answers) == 300 and release["query"]["dataset"] == "decisions"
    assert match["log10_false_accusation_bound"] <= -6
    evidence = match["evidence"]
    assert evidence["anchor"] == "witness" and evidence["verified"]
    assert evidence["entry"]["details"]["release_id"] == release["release_id"]
    # the release names the file's firms by the bank's own tokens (the decisions' tokens)
    assert set(evidence["entry"]["subjects"]) == {
        _token(federation, "bank", c) for c in codes[:300]
    }
    # the file carries marked values; the records keep what the policy compared, and replay
    records = DecisionRecords(federation.root / "state" / "bank" / "scoring" / "decisions.sqlite")
    moved = [
        abs(float(records.get(str(r.record_id))["outcome"]["pd"]) - float(r.pd))
        for r in answers.head(100).itertuples()
    ]
    assert max(moved) <= 1e-4 + 1e-6 and sum(m > 1e-6 for m in moved) >= 20
    replayed = federation.cli("decide", "replay", str(answers.record_id[0]), "--config", config)
    assert "reproduced" in replayed
    # a single Decide answers one application, not a file: no release is registered for it
    before = _registered_releases(federation)
    _decide(federation, codes[310], "SINGLE-1")
    assert _registered_releases(federation) == before


def _registered_releases(federation: ScoringFederation) -> int:
    with LogReader.open(federation.root / "state" / "bank" / "audit") as log:
        return len(log.search(SearchQuery(action=Action.RELEASE)))


def test_a_secureboost_model_decides_from_holders_split_bits_and_replays(
    fed: tuple[ScoringFederation, list[str]],
) -> None:
    # prepare: a SecureBoost job on the same nodes, each part deployed as "sme-trees", and
    # the bank's decision policy pointed at it
    federation, codes = fed
    status = federation.wait_job(federation.submit(SECUREBOOST_JOB, job_id="sb"), timeout=900)
    assert status.state == "succeeded", status.error
    for node in ("bank", "government", "third_party"):
        out = federation.cli(
            "models", "deploy", "--config", str(federation.config(node)), "--job", "sb",
            "--name", "sme-trees",
        )  # fmt: skip
        assert "(job sb, secureboost)" in out
    policy = federation.config("bank").parent / "decision.yaml"
    original = policy.read_text()
    policy.write_text(original.replace("model: sme-pd", "model: sme-trees"))
    code = codes[50]
    now = time.time()
    federation.node("bank").RegisterAuthorizations(
        node_pb2.AuthorizationBatch(grants=[_grant(code, start=now - DAY, end=now + DAY)]),
        timeout=30,
    )
    try:
        # execute
        decided = _decide(federation, code, "SB-1")
        batch = federation.node("bank").DecideBatch(
            node_pb2.DecideBatchRequest(
                applications=[
                    node_pb2.DecideRequest(uscc=c, application_ref=f"SB-B{i}", amount=1e5)
                    for i, c in enumerate(codes[60:70])
                ]
            ),
            timeout=60,
        )
    finally:
        policy.write_text(original)
    # assert: every party answered with its tree part; a partner's reasons are categories
    assert decided.versions == {
        "bank": "sme-trees@1", "government": "sme-trees@1", "third_party": "sme-trees@1"
    }  # fmt: skip
    assert not decided.gaps and 0.0 < decided.pd < 1.0
    assert all(r.code.startswith(("GOV-", "TP-")) or r.code.islower() for r in decided.reasons)
    # unauthorized firms of the batch are stated gaps (or not held), decided on the rest
    assert len(batch.decisions) == 10
    reasons = [{g.reason for g in d.gaps} for d in batch.decisions]
    assert all(r and r <= {"unauthorized", "no_record"} for r in reasons)
    assert sum("unauthorized" in r for r in reasons) >= 5
    # both replay from their records
    for record in (decided.record_id, batch.decisions[3].record_id):
        out = federation.cli("decide", "replay", record, "--config", str(federation.config("bank")))
        assert "reproduced" in out
    # the readable record (console, `decide list`) shows each holder's trees answer
    records = DecisionRecords(federation.root / "state" / "bank" / "scoring" / "decisions.sqlite")
    try:
        kept = records.get(decided.record_id)
    finally:
        records.close()
    assert kept["application_ref"] == "SB-1" and kept["bank_version"] == "sme-trees@1"
    assert {h["party"]: h["status"] for h in kept["holders"]} == {
        "government": "ok", "third_party": "ok"
    }  # fmt: skip
    listed = federation.cli("decide", "list", "--config", str(federation.config("bank")))
    assert f"{batch.decisions[9].record_id}  SB-B9" in listed
