"""Attacks on the coordinator's edge, each performed against real processes on loopback mTLS.

One federation (coordinator and three synthetic holders, each its own process) serves every
test here; the tests go in the order an attacker holding federation certificates might try
them. Each test failed on the code before the hardening of issue 11 and passes now; the
finding it covers is named in its docstring.
"""

from __future__ import annotations

import random
import stat
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import grpc
import pytest

from coordinator.local import LocalFederation
from node.audit import LogReader
from node.crypto.envelope import seal
from node.data import uscc
from node.pki import identity_from_certificate, issue_certificate, load_identity_files
from node.runtime.job_hooks import NodeJobHooks
from node.state import PathEscape, confined
from node.transport.client import health_status, open_channel
from protos.fedcredit.v1 import common_pb2, coordinator_pb2, coordinator_pb2_grpc
from tests.federation_fixtures import CHECK_JOB, offer_forked_checkpoint, quarantine_reason
from tests.security.coord_federation import (
    GHOST_JOB,
    cli_args,
    configured_federation,
    coordinator_log,
    fedcredit,
)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PSI_JOB = (REPO / "scripts" / "jobs" / "psi.yaml").read_text()
ENVELOPE_BURST = 300


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    root = tmp_path_factory.mktemp("edge")
    federation = configured_federation(
        root,
        party_wait_s=120,
        limits={"envelopes_per_s": 20.0, "envelope_burst": ENVELOPE_BURST},
    )
    for name, role, org in (("bank-b", "bank", "bank-b"), ("ghost", "bank", "ghost-org")):
        issue_certificate(federation.certs, name, role=role, organization=org)
    try:
        federation.start()
        # "ghost" registers but never opens its stream: jobs naming it wait (pending)
        with open_channel(federation.address, federation.certs, "ghost") as ch:
            coordinator_pb2_grpc.CoordinatorStub(ch).Register(
                coordinator_pb2.RegisterRequest(), timeout=10
            )
        yield federation
    finally:
        federation.stop()
    assert federation.running() == []


def _flat(options: Mapping[str, str]) -> list[str]:
    return [a for kv in options.items() for a in kv]


def _release(fed: LocalFederation, node_id: str, as_: str) -> subprocess.CompletedProcess[str]:
    """``fedcredit nodes release node_id``, run with ``as_``'s certificate."""
    return subprocess.run(
        fedcredit("nodes", "release", node_id, *_flat(cli_args(fed, as_))),
        capture_output=True,
        text=True,
    )


def _stub(fed: LocalFederation, name: str) -> coordinator_pb2_grpc.CoordinatorStub:
    return coordinator_pb2_grpc.CoordinatorStub(fed.channel(name))


def _refusal(call: object, *args: object, **kwargs: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call(*args, **kwargs)  # type: ignore[operator]
    return err.value


def _coordinator_entries(fed: LocalFederation) -> list[object]:
    reader = LogReader.open(fed.root / "state" / "coordinator" / "audit")
    try:
        return [reader.entry(i) for i in range(reader.size())]
    finally:
        reader.close()


# finding 1: path traversal and log splitting through identifiers ---------------------------


def test_job_id_with_path_traversal_is_refused_before_any_party_runs(fed: LocalFederation) -> None:
    """Finding 1: a bank submitted PSI with job_id "../../../../../../outside/x"; every node
    wrote its alignment file outside its state folder."""
    traversal = "../../../../../../outside/x"
    request = coordinator_pb2.SubmitJobRequest(spec_yaml=PSI_JOB.encode(), job_id=traversal)
    err = _refusal(_stub(fed, "bank").SubmitJob, request, timeout=15)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "job id must be 1-128 characters" in err.details()
    time.sleep(3)  # had it been accepted, the parties would be writing by now
    for party in ("bank", "government", "third_party"):
        alignments = fed.root / "state" / party / "jobs" / "alignments"
        assert not (alignments / f"{traversal}.json").resolve().exists()
    jobs = _stub(fed, "operator").ListJobs(coordinator_pb2.ListJobsRequest(), timeout=10).jobs
    assert [j.job_id for j in jobs if "outside" in j.job_id] == []


def test_job_id_with_control_characters_cannot_split_a_log_line(fed: LocalFederation) -> None:
    """Finding 1: a job id holding "\\n\\x00" split a coordinator log line."""
    marker = "forged-line-marker"
    request = coordinator_pb2.SubmitJobRequest(
        spec_yaml=CHECK_JOB.encode(), job_id=f"a\n{marker} succeeded\x00"
    )
    err = _refusal(_stub(fed, "operator").SubmitJob, request, timeout=15)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert marker not in err.details()  # the refusal does not echo the value either
    time.sleep(1)
    assert marker not in coordinator_log(fed)


def test_a_job_id_shaped_like_a_credit_code_is_refused_without_echoing_it(
    fed: LocalFederation,
) -> None:
    """Found by fuzzing: a job id with the shape of a firm's credit code (or an ID number) was
    accepted, and then every access-log entry naming the job was refused as holding a raw
    identifier, so the node's accesses for that job went unlogged."""
    code = uscc.generate(random.Random(7))
    request = coordinator_pb2.SubmitJobRequest(spec_yaml=CHECK_JOB.encode(), job_id=code)
    err = _refusal(_stub(fed, "operator").SubmitJob, request, timeout=15)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "must not look like a unified social credit code" in err.details()
    assert code not in err.details()
    jobs = _stub(fed, "operator").ListJobs(coordinator_pb2.ListJobsRequest(), timeout=10).jobs
    assert code not in [j.job_id for j in jobs]


def test_identifiers_in_lookups_are_checked_too(fed: LocalFederation) -> None:
    """Finding 1: every job id from the wire is checked, not only at submission."""
    stub = _stub(fed, "operator")
    for call in (stub.GetJob, stub.CancelJob, stub.ResumeJob):
        err = _refusal(call, coordinator_pb2.GetJobRequest(job_id="../x"), timeout=10)
        assert err.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_paths_built_from_identifiers_stay_under_their_directory(tmp_path: Path) -> None:
    """Finding 1, second line: paths are confined where they are built (node job hooks with
    a job id of "..": the checkpoint would have landed in the node's state folder)."""
    checkpoints = tmp_path / "state" / "checkpoints"
    with pytest.raises(PathEscape):
        NodeJobHooks("..", checkpoints, lambda *a: None, lambda *a: None)
    for parts in (("..", "x.json"), ("/etc", "passwd"), ("a", "..", "..", "b")):
        with pytest.raises(PathEscape):
            confined(tmp_path / "jobs", *parts)
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "link").symlink_to(tmp_path.parent)
    with pytest.raises(PathEscape):
        confined(tmp_path / "jobs", "link", "x.json")
    assert confined(tmp_path / "jobs", "models", "job-1.json").name == "job-1.json"


# finding 2 (state files): 0700 folders, 0600 files on the coordinator and every node ----------


def test_state_folders_and_files_are_private_to_their_owner(fed: LocalFederation) -> None:
    """Finding 2: coordinator.sqlite, witness.sqlite, traces.jsonl, access-log.sqlite,
    alignments and models were 0644 in 0755 folders."""
    status = fed.wait_job(fed.submit(PSI_JOB, job_id="psi-modes"), timeout=120)
    assert status.state == "succeeded", status.error
    checked = 0
    for party in ("coordinator", "bank", "government", "third_party"):
        base = fed.root / "state" / party
        for path in [base, *base.rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            wanted = 0o700 if path.is_dir() else 0o600
            assert mode == wanted, f"{path.relative_to(fed.root)} is {oct(mode)}"
            checked += 1
    names = {p.name for p in (fed.root / "state").rglob("*")}
    assert {"coordinator.sqlite", "witness.sqlite", "traces.jsonl", "psi-modes.json"} <= names
    assert checked > 20


# finding 4: job-level authorization ----------------------------------------------------------


def test_a_bank_that_is_no_party_cannot_see_watch_or_cancel_a_job(fed: LocalFederation) -> None:
    """Finding 4: any bank cancelled an operator's job it was no party to, and GetJob,
    ListJobs and WatchJob showed every job's spec and results to non-parties."""
    job_id = fed.submit(GHOST_JOB, job_id="ops-job")  # pending: ghost never connects
    outsider = _stub(fed, "bank-b")
    request = coordinator_pb2.GetJobRequest(job_id=job_id)
    for call in (outsider.GetJob, outsider.CancelJob):
        assert _refusal(call, request, timeout=10).code() is grpc.StatusCode.NOT_FOUND
    watch = outsider.WatchJob(request, timeout=10)
    assert _refusal(lambda: next(iter(watch))).code() is grpc.StatusCode.NOT_FOUND
    listed = outsider.ListJobs(coordinator_pb2.ListJobsRequest(), timeout=10).jobs
    assert job_id not in [j.job_id for j in listed]
    # the job is untouched; its parties and the auditor still see it
    assert _stub(fed, "operator").GetJob(request, timeout=10).state in ("pending", "running")
    assert _stub(fed, "bank").GetJob(request, timeout=10).job_id == job_id
    assert _stub(fed, "auditor").GetJob(request, timeout=10).job_id == job_id


def test_a_cancel_names_its_real_caller_in_the_event_and_the_access_log(
    fed: LocalFederation,
) -> None:
    """Finding 4: the event said "cancelled by operator" whoever cancelled, and no access-log
    entry named the caller of an admin call."""
    job_id = fed.submit(GHOST_JOB, job_id="bank-cancels")
    status = _stub(fed, "bank").CancelJob(coordinator_pb2.GetJobRequest(job_id=job_id), timeout=10)
    assert status.state == "cancelled"
    assert status.error == "cancelled by bank-a/bank"
    events = list(
        _stub(fed, "operator").WatchJob(coordinator_pb2.GetJobRequest(job_id=job_id), timeout=10)
    )
    cancelled = [e for e in events if e.kind == "cancelled"]
    assert cancelled and cancelled[0].party == "bank-a/bank"
    admin = [
        (e.actor.node, e.details.get("operation"))  # type: ignore[attr-defined]
        for e in _coordinator_entries(fed)
        if e.job_id == job_id  # type: ignore[attr-defined]
    ]
    assert ("operator", "job_submitted") in admin
    assert ("bank", "job_cancelled") in admin


# finding 6 and issue 10: bounded inputs, unknown parties ---------------------------------------


def test_deeply_nested_job_files_and_reports_are_refused_with_a_clear_message(
    fed: LocalFederation,
) -> None:
    """Finding 6: SubmitJob with "["*50000 and ReportTask with deeply nested JSON answered
    UNKNOWN: maximum recursion depth exceeded."""
    operator = _stub(fed, "operator")
    for spec in ("[" * 50_000, "type: check\nparties:\n" + "  " * 0 + "a: " + "{b: " * 2000):
        err = _refusal(
            operator.SubmitJob,
            coordinator_pb2.SubmitJobRequest(spec_yaml=spec.encode()),
            timeout=15,
        )
        assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "nests deeper than 32 levels" in err.details()
    block = "".join(f"{' ' * i}k{i}:\n" for i in range(200)).encode()
    err = _refusal(
        operator.SubmitJob, coordinator_pb2.SubmitJobRequest(spec_yaml=block), timeout=15
    )
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    huge = b"type: check\n# " + b"x" * 100_000
    err = _refusal(operator.SubmitJob, coordinator_pb2.SubmitJobRequest(spec_yaml=huge), timeout=15)
    assert err.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "limits.max_job_file_bytes" in err.details()
    report = coordinator_pb2.TaskReport(
        job_id="x", attempt=1, kind=coordinator_pb2.TaskReport.PROGRESS, metrics_json="[" * 50_000
    )
    err = _refusal(_stub(fed, "bank").ReportTask, report, timeout=15)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "nests deeper" in err.details()


def test_oversized_registration_is_refused_and_list_nodes_keeps_working(
    fed: LocalFederation,
) -> None:
    """Finding 6: two nodes registered 19.7 MB of dataset metadata each; ListNodes then
    failed RESOURCE_EXHAUSTED for everyone."""
    issue_certificate(fed.certs, "fat", role="third_party", organization="fat-org")
    fields = [
        common_pb2.FieldInfo(name=f"f{i}", dtype="float", purposes=["training"])
        for i in range(20_000)
    ]
    request = coordinator_pb2.RegisterRequest(
        datasets=[common_pb2.DatasetInfo(name="big", rows=1, fields=fields)]
    )
    with open_channel(fed.address, fed.certs, "fat") as ch:
        err = _refusal(coordinator_pb2_grpc.CoordinatorStub(ch).Register, request, timeout=20)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "limits.max_registration_bytes" in err.details()
    nodes = _stub(fed, "auditor").ListNodes(coordinator_pb2.ListNodesRequest(), timeout=10).nodes
    assert {"bank", "government", "third_party"} <= {n.node_id for n in nodes}
    assert "fat" not in {n.node_id for n in nodes}


def test_a_job_naming_an_unknown_node_is_refused_at_submission(fed: LocalFederation) -> None:
    """Issue 10: a job naming an unknown node waited 64 s, then said "not connected"."""
    spec = "type: check\nparties:\n  bank: {}\n  nobody-here: {}\n"
    started = time.monotonic()
    err = _refusal(fed.submit, spec)
    assert time.monotonic() - started < 10
    assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "party nobody-here: no node of that id has ever registered" in err.details()


# finding 7: forged envelopes and envelope floods --------------------------------------------


def _envelope(fed: LocalFederation, sender: str, recipient: str, job: str) -> bytes:
    keys = load_identity_files(fed.certs, sender)
    to = identity_from_certificate((fed.certs / f"{recipient}.crt").read_bytes())
    return seal(
        b"junk",
        sender=sender,
        sign_key=keys.sign_key,
        recipient=recipient,
        recipient_seal_public=to.seal_public,
        job=job,
        topic="t",
    )


def test_forged_envelopes_are_not_relayed_and_refusals_are_logged_per_burst(
    fed: LocalFederation,
) -> None:
    """Finding 7: 20,000 junk envelopes with valid-looking headers from one certificate were
    all relayed (20,013 refusals logged at the victim)."""
    genuine = _envelope(fed, "bank", "government", "forged#1")
    forged = genuine[:-64] + bytes(64)  # same header, signature zeroed
    victim_log = fed.root / "logs" / "government.log"
    before = victim_log.read_text(errors="replace").count("refused an envelope")
    codes = []
    with open_channel(fed.address, fed.certs, "bank") as ch:
        stub = coordinator_pb2_grpc.CoordinatorStub(ch)
        for _ in range(400):
            try:
                stub.Send(common_pb2.Envelope(sealed=forged), timeout=10)
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as err:
                codes.append(err.code())
    # none relayed: refused for the signature, or (past the burst) for the rate
    assert set(codes) == {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}
    assert codes[:ENVELOPE_BURST] == [grpc.StatusCode.INVALID_ARGUMENT] * ENVELOPE_BURST
    time.sleep(1)
    assert victim_log.read_text(errors="replace").count("refused an envelope") == before
    lines = [
        line
        for line in coordinator_log(fed).splitlines()
        if "from bank-a/bank" in line and "signature does not verify" in line
    ]
    assert 1 <= len(lines) <= 2  # one line per burst (every 10 s), not one per envelope


def test_each_sender_is_rate_limited(fed: LocalFederation) -> None:
    """Finding 7: no per-sender limit. The limit here is configured to 20 envelopes/s with a
    burst of 300 (defaults are in docs/trust-model.md)."""
    envelopes = [_envelope(fed, "third_party", "government", f"flood#{i}") for i in range(400)]
    codes = []
    with open_channel(fed.address, fed.certs, "third_party") as ch:
        stub = coordinator_pb2_grpc.CoordinatorStub(ch)
        for sealed in envelopes:
            try:
                stub.Send(common_pb2.Envelope(sealed=sealed), timeout=10)
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as err:
                codes.append(err.code())
                assert "limits.envelopes_per_s" in err.details()
    relayed = codes.count(grpc.StatusCode.OK)
    assert ENVELOPE_BURST <= relayed < 400
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) == 400 - relayed
    # other senders are not affected
    job_id = fed.submit("type: check\nparties: {bank: {}, government: {}}\n", job_id="after-flood")
    assert fed.wait_job(job_id, timeout=60).state == "succeeded"


# finding 10b: quarantine of a node whose checkpoint the witness refuses -----------------------


def test_a_node_whose_checkpoint_is_refused_is_quarantined_until_an_operator_lifts_it(
    fed: LocalFederation,
) -> None:
    """Finding 10: a node whose checkpoint the witness refused kept receiving jobs."""
    # prepare: a forked checkpoint of the government node, signed with its real key
    err = offer_forked_checkpoint(fed, "government")
    assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
    # assert: no new job names it; operators see why (ListNodes, log line, access log)
    refused = _refusal(fed.submit, CHECK_JOB)
    assert refused.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "party government: quarantined" in refused.details()
    assert "forked" in refused.details()
    assert "forked" in quarantine_reason(fed, "government")
    assert "node government QUARANTINED" in coordinator_log(fed)
    quarantined = [
        e
        for e in _coordinator_entries(fed)
        if e.details.get("operation") == "node_quarantined"  # type: ignore[attr-defined]
    ]
    assert quarantined
    # execute: a bank may not lift it, and its refused attempt leaves the quarantine in place
    # (the bank tries first); then the operator lifts it with the CLI
    bank_try = _release(fed, "government", as_="bank")
    assert bank_try.returncode == 1 and "PERMISSION_DENIED" in bank_try.stderr
    assert "forked" in quarantine_reason(fed, "government")
    lifted = _release(fed, "government", as_="operator")
    assert lifted.returncode == 0, lifted.stderr
    assert "node government released from quarantine" in lifted.stdout
    assert fed.wait_job(fed.submit(CHECK_JOB), timeout=60).state == "succeeded"


# finding 3 lives in test_coord_watch_flood.py (it needs the coordinator's default limits).


def test_federation_still_healthy_after_the_attacks(fed: LocalFederation) -> None:
    with fed.channel() as ch:
        assert health_status(ch) == "SERVING"
    assert set(fed.running()) == {"coordinator", "bank", "government", "third_party"}
