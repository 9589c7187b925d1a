"""Finding 3: the lowest-privilege role must not be able to freeze the coordinator.

34 ``WatchJob`` streams opened with an auditor certificate used to take all 32 server threads
(each slept in a poll loop), so ``ListNodes`` and health checks timed out and nodes could not
publish their checkpoints. The coordinator here runs with its default limits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc
import pytest

from coordinator.local import LocalFederation
from coordinator.servicer.limits import Limits
from node.pki import issue_certificate
from node.transport.client import health_status, open_channel
from protos.fedcredit.v1 import coordinator_pb2, coordinator_pb2_grpc
from tests.security.coord_federation import GHOST_JOB, configured_federation

pytestmark = pytest.mark.slow

STREAMS = 40
WATCH_LIMIT = Limits().watch_streams_per_caller  # the coordinator runs with its defaults


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    federation = configured_federation(tmp_path_factory.mktemp("flood"), party_wait_s=120)
    issue_certificate(federation.certs, "ghost", role="bank", organization="ghost-org")
    try:
        federation.start()
        with open_channel(federation.address, federation.certs, "ghost") as ch:
            coordinator_pb2_grpc.CoordinatorStub(ch).Register(
                coordinator_pb2.RegisterRequest(), timeout=10
            )
        yield federation
    finally:
        federation.stop()
    assert federation.running() == []


def test_many_watch_streams_from_one_auditor_leave_the_coordinator_responsive(
    fed: LocalFederation,
) -> None:
    # prepare: a job that stays pending (ghost never connects), watched 40 times by one auditor
    job_id = fed.submit(GHOST_JOB, job_id="watched")
    outcomes: list[grpc.StatusCode] = []
    details: list[str] = []
    lock = threading.Lock()
    channel = fed.channel("auditor")
    stub = coordinator_pb2_grpc.CoordinatorStub(channel)

    def watch() -> None:
        try:
            for _ in stub.WatchJob(coordinator_pb2.GetJobRequest(job_id=job_id), timeout=90):
                pass
            code, text = grpc.StatusCode.OK, ""
        except grpc.RpcError as err:
            code, text = err.code(), err.details() or ""
        with lock:
            outcomes.append(code)
            details.append(text)

    watchers = [threading.Thread(target=watch, daemon=True) for _ in range(STREAMS)]
    for thread in watchers:
        thread.start()
    # the flood is in place once every watch past the limit has been refused (the deadline
    # only bounds a failure)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with lock:
            if len(outcomes) >= STREAMS - WATCH_LIMIT:
                break
        time.sleep(0.05)
    node_log = fed.root / "logs" / "bank.log"
    unpublished_before = node_log.read_text(errors="replace").count("checkpoint not published")
    try:
        # execute / assert: everyone else is served promptly while the watches are open
        with fed.channel() as ch:
            operator = coordinator_pb2_grpc.CoordinatorStub(ch)
            for _ in range(5):
                nodes = operator.ListNodes(coordinator_pb2.ListNodesRequest(), timeout=5).nodes
                assert len(nodes) >= 3
                assert health_status(ch) == "SERVING"
        with open_channel(fed.address, fed.certs, "bank") as ch:
            bank = coordinator_pb2_grpc.CoordinatorStub(ch)
            assert bank.GetDirectory(coordinator_pb2.DirectoryRequest(), timeout=5).entries
        time.sleep(11)  # two of the nodes' checkpoint publications (every 5 s)
        published = node_log.read_text(errors="replace").count("checkpoint not published")
        assert published == unpublished_before
        # the watches past the per-certificate limit were refused, naming it
        with lock:
            refused = [
                d
                for c, d in zip(outcomes, details, strict=True)
                if c is grpc.StatusCode.RESOURCE_EXHAUSTED
            ]
        assert len(refused) == STREAMS - WATCH_LIMIT
        assert all("limits.watch_streams_per_caller" in d for d in refused)
    finally:
        fed.coordinator().CancelJob(coordinator_pb2.GetJobRequest(job_id=job_id), timeout=10)
        for thread in watchers:
            thread.join(30)
        channel.close()
    # the admitted watches saw the job to its end
    assert outcomes.count(grpc.StatusCode.OK) == 4


def test_one_certificate_flooding_unary_calls_is_slowed_down_alone(fed: LocalFederation) -> None:
    codes = []
    with open_channel(fed.address, fed.certs, "auditor") as ch:
        auditor = coordinator_pb2_grpc.CoordinatorStub(ch)
        for _ in range(400):
            try:
                auditor.ListJobs(coordinator_pb2.ListJobsRequest(), timeout=5)
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as err:
                codes.append(err.code())
                assert "limits.requests_per_s" in (err.details() or "")
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
    assert codes.count(grpc.StatusCode.OK) >= 200  # the default burst
    with fed.channel() as ch:  # the operator is not affected
        coordinator_pb2_grpc.CoordinatorStub(ch).ListNodes(
            coordinator_pb2.ListNodesRequest(), timeout=5
        )
