"""A real federation of processes on loopback: registration, health, trust, restarts.

Every test here starts its own coordinator and node processes over mutual TLS and stops them
before it ends (the fixture's ``stop`` runs even when an assertion fails).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pandas as pd
import pytest

from coordinator.local import LocalFederation
from node.audit import Action, LogReader
from node.crypto.envelope import seal
from node.pki import (
    create_ca,
    identity_from_certificate,
    issue_certificate,
    load_identity_files,
    revoke,
)
from node.transport.client import health_status, open_channel
from protos.fedcredit.v1 import common_pb2, coordinator_pb2, coordinator_pb2_grpc
from tests.federation_fixtures import CHECK_JOB, offer_forked_checkpoint, synthetic_federation

SPAN_FLUSH_MS = 500  # how often the federation's processes write their spans (see below)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    fed = synthetic_federation(tmp_path_factory.mktemp("fed"))
    try:
        with pytest.MonkeyPatch.context() as env:
            # the OpenTelemetry SDK's own setting: spans reach the span files every 0.5 s
            # rather than every 5 s, so the traces test has them sooner (any process started
            # while the module runs, a restarted coordinator too, inherits it)
            env.setenv("OTEL_BSP_SCHEDULE_DELAY", str(SPAN_FLUSH_MS))
            fed.start()
            yield fed
    finally:
        fed.stop()
    assert fed.running() == []


def _nodes(fed: LocalFederation) -> dict[str, coordinator_pb2.NodeStatus]:
    with fed.channel() as ch:
        stub = coordinator_pb2_grpc.CoordinatorStub(ch)
        return {n.node_id: n for n in stub.ListNodes(coordinator_pb2.ListNodesRequest()).nodes}


def _sealed_to_coordinator(fed: LocalFederation, sender: str) -> bytes:
    """An envelope from ``sender`` (sealed and signed with its real keys) to the coordinator."""
    keys = load_identity_files(fed.certs, sender)
    coordinator = identity_from_certificate((fed.certs / "coordinator.crt").read_bytes())
    return seal(
        b"hello",
        sender=sender,
        sign_key=keys.sign_key,
        recipient="coordinator",
        recipient_seal_public=coordinator.seal_public,
        job="no-such-job#1",
        topic="t",
    )


def _register_error(address: str, cert_dir: Path, name: str) -> grpc.RpcError:
    """Try to register presenting ``name``'s certificate; return the refusal."""
    with open_channel(address, cert_dir, name) as ch:
        try:
            coordinator_pb2_grpc.CoordinatorStub(ch).Register(
                coordinator_pb2.RegisterRequest(), timeout=5
            )
        except grpc.RpcError as err:
            return err
    raise AssertionError(f"{name} was allowed to register")


def test_nodes_register_with_identity_from_their_certificates(federation: LocalFederation) -> None:
    nodes = _nodes(federation)
    assert set(nodes) == {"government", "bank", "third_party"}
    assert nodes["bank"].organization == "bank-a" and nodes["bank"].role == "bank"
    assert all(n.online for n in nodes.values())
    assert [d.name for d in nodes["government"].datasets] == ["government"]


def test_heartbeats_advance_last_seen(federation: LocalFederation) -> None:
    before = _nodes(federation)["bank"].last_seen
    # the coordinator asks for a heartbeat every 5 s: the next one moves last_seen on
    deadline = time.monotonic() + 30
    while _nodes(federation)["bank"].last_seen <= before:
        assert time.monotonic() < deadline, "no heartbeat from the bank in 30 s"
        time.sleep(0.2)


def test_every_server_answers_the_standard_health_check(federation: LocalFederation) -> None:
    assert federation.health() == "SERVING"
    for node_id, port in federation.node_ports.items():
        with open_channel(f"127.0.0.1:{port}", federation.certs, "operator", peer=node_id) as ch:
            assert health_status(ch) == "SERVING", node_id
            assert health_status(ch, "fedcredit.v1.Node") == "SERVING"


def test_check_job_reaches_every_pair_over_sealed_relay(federation: LocalFederation) -> None:
    status = federation.wait_job(federation.submit(CHECK_JOB), timeout=60)
    assert status.state == "succeeded", status.error
    result = json.loads(status.result_json)
    assert result["parties"]["bank"]["reached"] == ["coordinator", "government", "third_party"]


def test_role_without_permission_is_refused(federation: LocalFederation) -> None:
    with federation.channel("auditor") as ch:
        stub = coordinator_pb2_grpc.CoordinatorStub(ch)
        with pytest.raises(grpc.RpcError) as err:
            stub.SubmitJob(coordinator_pb2.SubmitJobRequest(spec_yaml=CHECK_JOB.encode()))
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "role 'auditor' may not call SubmitJob" in err.value.details()


def test_certificate_from_another_ca_is_refused(
    federation: LocalFederation, tmp_path: Path
) -> None:
    # prepare: a rogue CA's certificate, presented with the federation's CA as trust root
    rogue = tmp_path / "rogue"
    create_ca(rogue)
    issue_certificate(rogue, "bank2", role="bank", organization="bank-a")
    (rogue / "ca.crt").write_bytes((federation.certs / "ca.crt").read_bytes())
    # execute / assert: the TLS handshake fails, so no RPC reaches the coordinator
    err = _register_error(federation.address, rogue, "bank2")
    assert err.code() is grpc.StatusCode.UNAVAILABLE
    assert "bank2" not in _nodes(federation)


def test_expired_certificate_is_refused(federation: LocalFederation, tmp_path: Path) -> None:
    # prepare: a certificate from the federation CA whose validity ended yesterday
    issue_certificate(
        federation.certs,
        "stale",
        role="bank",
        organization="bank-a",
        not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=10),
        days=9,
    )
    err = _register_error(federation.address, federation.certs, "stale")
    assert err.code() is grpc.StatusCode.UNAVAILABLE
    assert "stale" not in _nodes(federation)


def test_revoked_certificate_is_refused_with_reason(federation: LocalFederation) -> None:
    issue_certificate(federation.certs, "revoked-bank", role="bank", organization="bank-a")
    revoke(federation.certs, federation.certs / "revoked-bank.crt")
    err = _register_error(federation.address, federation.certs, "revoked-bank")
    assert err.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "revoked" in err.details()


def test_replayed_envelope_is_refused_by_the_recipient(federation: LocalFederation) -> None:
    # prepare: the bank's keys seal one envelope to the coordinator party
    sealed = _sealed_to_coordinator(federation, "bank")
    with open_channel(federation.address, federation.certs, "bank") as ch:
        stub = coordinator_pb2_grpc.CoordinatorStub(ch)
        # execute: the first delivery is accepted, the identical second one is not
        stub.Send(common_pb2.Envelope(sealed=sealed), timeout=5)
        with pytest.raises(grpc.RpcError) as err:
            stub.Send(common_pb2.Envelope(sealed=sealed), timeout=5)
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "already received" in err.value.details()


def test_envelope_claiming_another_sender_is_refused(federation: LocalFederation) -> None:
    # prepare: a valid envelope of the government node, sent over the bank's connection
    forged = _sealed_to_coordinator(federation, "government")
    with (
        open_channel(federation.address, federation.certs, "bank") as ch,
        pytest.raises(grpc.RpcError) as err,
    ):
        coordinator_pb2_grpc.CoordinatorStub(ch).Send(common_pb2.Envelope(sealed=forged))
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED


def test_coordinator_restart_keeps_nodes_and_jobs_and_nodes_reconnect(
    federation: LocalFederation,
) -> None:
    # prepare: a finished job on record
    job_id = federation.submit(CHECK_JOB, job_id="before-restart")
    assert federation.wait_job(job_id, 60).state == "succeeded"
    # execute: stop the coordinator process and start it again on the same port
    assert federation.stop_party("coordinator") == 0
    federation.start_coordinator()
    # assert: registry and job history are back, and the nodes came back on their own
    federation.wait_online(["government", "bank", "third_party"], timeout=30)
    with federation.channel() as ch:
        stub = coordinator_pb2_grpc.CoordinatorStub(ch)
        job = stub.GetJob(coordinator_pb2.GetJobRequest(job_id="before-restart"))
    assert job.state == "succeeded"
    assert set(_nodes(federation)) >= {"government", "bank", "third_party"}
    again = federation.wait_job(federation.submit(CHECK_JOB), timeout=60)
    assert again.state == "succeeded", again.error


def test_node_daemon_with_foreign_certificate_exits_naming_the_cause(tmp_path: Path) -> None:
    # prepare: a federation whose bank certificate is replaced by one from a rogue CA
    fed = synthetic_federation(tmp_path, n_firms=300)
    rogue = tmp_path / "rogue"
    create_ca(rogue)
    issue_certificate(rogue, "bank", role="bank", organization="bank-a")
    for suffix in (".crt", ".key", ".seal.key", ".sign.key"):
        (fed.certs / f"bank{suffix}").write_bytes((rogue / f"bank{suffix}").read_bytes())
    try:
        fed.start_coordinator()
        # execute / assert: the node refuses to start and says why
        with pytest.raises(Exception, match="not issued by the federation CA"):
            fed.start_node("bank")
    finally:
        fed.stop()


def test_node_revoked_while_connected_is_disconnected_and_exits(tmp_path: Path) -> None:
    fed = synthetic_federation(tmp_path, n_firms=300)
    try:
        # the bank alone: the other holders play no part in its revocation
        fed.start_coordinator()
        fed.start_node("bank")
        fed.wait_online(["bank"])
        # execute: revoke the bank's certificate while its stream is open
        revoke(fed.certs, fed.certs / "bank.crt")
        deadline = time.monotonic() + 30
        while "bank" in fed.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        # assert: the node process ended on its own with the refusal exit code and reason
        assert "bank" not in fed.running()
        code = fed.stop_party("bank")
        assert code == 11
        log = (tmp_path / "logs" / "bank.log").read_text()
        assert "revoked" in log
    finally:
        fed.stop()


def test_psi_job_aligns_all_three_holders_in_one_order(federation: LocalFederation) -> None:
    # execute: the demo PSI job across the three node processes
    spec = (Path(__file__).resolve().parents[3] / "scripts" / "jobs" / "psi.yaml").read_text()
    status = federation.wait_job(federation.submit(spec, job_id="psi-order"), timeout=120)
    assert status.state == "succeeded", status.error
    # assert: each party's local rows, mapped to its ids, give the same firm sequence,
    # which is exactly the firms present at all three holders
    ids = {}
    for party in ("bank", "government", "third_party"):
        doc = json.loads(
            (
                federation.root / "state" / party / "jobs" / "alignments" / "psi-order.json"
            ).read_text()
        )
        table = pd.read_csv(federation.root / "data" / f"{party}.csv", dtype=str)
        ids[party] = table["uscc"].iloc[doc["rows"]].str.strip().str.upper().tolist()
    assert ids["bank"] == ids["government"] == ids["third_party"]
    sets = [set(pd.read_csv(federation.root / "data" / f"{p}.csv", dtype=str)["uscc"]) for p in ids]
    assert set(ids["bank"]) == sets[0] & sets[1] & sets[2]
    # and the coordinator's record holds counts, never an identifier
    assert not any(code in status.result_json for code in ids["bank"][:50])


def _spans(fed: LocalFederation, party: str) -> list[dict[str, Any]]:
    """The spans ``party`` has written so far (a line still being written left out)."""
    text = (fed.root / "state" / party / "traces.jsonl").read_text()
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]


def _has_job_span(spans: list[dict[str, Any]], name: str, job_id: str) -> bool:
    return any(
        s["name"] == name and s["attributes"].get("fedcredit.job.id") == job_id for s in spans
    )


def test_traces_cover_rpcs_and_jobs_without_identifiers(federation: LocalFederation) -> None:
    # prepare: a job
    federation.wait_job(federation.submit(CHECK_JOB, job_id="traced"), timeout=60)
    # execute: read every process's span file once its batch span processor has written the
    # job's spans: the coordinator's attempt and each node's part
    holders = ("government", "bank", "third_party")
    wanted = {"coordinator": "job.attempt", **dict.fromkeys(holders, "job.party")}
    deadline = time.monotonic() + 60
    while True:
        by_party = {party: _spans(federation, party) for party in wanted}
        waiting = [
            p for p, name in wanted.items() if not _has_job_span(by_party[p], name, "traced")
        ]
        if not waiting:
            break
        assert time.monotonic() < deadline, f"no span of the job from {waiting}"
        time.sleep(0.5)
    # spans ended just after the job's (the last Report's server span, say) are written one
    # flush later: wait two flushes and read every file again, so they are scanned too
    time.sleep(2 * SPAN_FLUSH_MS / 1000)
    spans = [s for party in wanted for s in _spans(federation, party)]
    # assert: RPC server spans and job spans exist, and no firm code appears in any span
    names = {s["name"] for s in spans}
    assert "fedcredit.v1.Coordinator/Register" in names
    assert "fedcredit.v1.Coordinator/Send" in names
    assert {"job.attempt", "job.party"} <= names
    text = json.dumps(spans)
    for party in holders:
        codes = pd.read_csv(federation.root / "data" / f"{party}.csv", dtype=str)["uscc"]
        assert not any(code in text for code in codes)


def test_node_with_a_broken_data_file_refuses_to_start_naming_file_column_row(
    tmp_path: Path,
) -> None:
    # prepare: the bank's table gets a duplicate of its first firm as its last row
    fed = synthetic_federation(tmp_path, n_firms=300)
    table = fed.root / "data" / "bank.csv"
    lines = table.read_text().splitlines()
    table.write_text("\n".join([*lines, lines[1]]) + "\n")
    try:
        fed.start_coordinator()
        # execute / assert: exit code 4 (data) with a message naming file, column and rows
        with pytest.raises(Exception) as err:
            fed.start_node("bank")
        message = str(err.value)
        assert "exit 4" in message and "bank.csv" in message and "uscc" in message
        assert lines[1].split(",")[0] not in message  # the duplicated id itself is not printed
    finally:
        fed.stop()


def test_oversized_message_is_refused_and_the_coordinator_carries_on(
    federation: LocalFederation,
) -> None:
    # 40 MiB exceeds the 32 MiB cap every server and channel is built with
    with (
        open_channel(federation.address, federation.certs, "bank") as ch,
        pytest.raises(grpc.RpcError) as err,
    ):
        coordinator_pb2_grpc.CoordinatorStub(ch).Send(
            common_pb2.Envelope(sealed=b"\x01" * (40 << 20)), timeout=30
        )
    assert err.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert federation.wait_job(federation.submit(CHECK_JOB), timeout=60).state == "succeeded"


def test_malformed_envelope_is_refused_with_a_clear_message(federation: LocalFederation) -> None:
    with (
        open_channel(federation.address, federation.certs, "bank") as ch,
        pytest.raises(grpc.RpcError) as err,
    ):
        coordinator_pb2_grpc.CoordinatorStub(ch).Send(common_pb2.Envelope(sealed=b"junk"))
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "not a sealed envelope" in err.value.details()


def test_witness_refuses_a_forked_checkpoint_from_a_node(federation: LocalFederation) -> None:
    # execute: a checkpoint of the size the witness holds with another root, signed by the bank
    refused = offer_forked_checkpoint(federation, "bank")
    # assert
    assert refused.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "checkpoint refused" in refused.details() and "log was forked" in refused.details()
    # the bank is now quarantined (tests/security/test_coord_quarantine.py); let it work again
    with federation.channel() as ch:
        lifted = coordinator_pb2_grpc.CoordinatorStub(ch).LiftQuarantine(
            coordinator_pb2.LiftQuarantineRequest(node_id="bank")
        )
    assert lifted.lifted


def test_coordinator_log_records_jobs_relays_and_refused_certificates(
    federation: LocalFederation,
) -> None:
    # prepare: a finished job, and a refused (revoked) certificate
    job_id = federation.submit(CHECK_JOB, job_id="logged")
    assert federation.wait_job(job_id, timeout=60).state == "succeeded"
    issue_certificate(federation.certs, "revoked-too", role="bank", organization="bank-a")
    revoke(federation.certs, federation.certs / "revoked-too.crt")
    _register_error(federation.address, federation.certs, "revoked-too")
    time.sleep(0.5)  # the attempt's relay tally is written as it ends
    # execute: read the coordinator's own access log
    reader = LogReader.open(federation.root / "state" / "coordinator" / "audit")
    try:
        entries = [reader.entry(i) for i in range(reader.size())]
    finally:
        reader.close()
    # assert
    jobs = [e for e in entries if e.job_id == "logged" and e.action == Action.JOB]
    assert {e.result for e in jobs} >= {"submitted", "succeeded"}
    relays = [e for e in entries if e.job_id == "logged" and e.action == Action.RELAY]
    # node to node: a ping and a pong each way; node and coordinator: a ping one way, its echo
    # the other
    tally = {(e.details["from"], e.details["to"]): e.details["envelopes"] for e in relays}
    assert len(tally) == 12
    for (sender, recipient), envelopes in tally.items():
        assert envelopes == (1 if "coordinator" in (sender, recipient) else 2)
    refused = [e for e in entries if e.action == Action.CERTIFICATE]
    assert any(e.result == "CertificateRevoked" for e in refused)
