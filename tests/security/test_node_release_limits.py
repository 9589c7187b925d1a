"""Finding 6 (node side): ``Release`` with an unbounded or repeated field list, on a live node."""

from __future__ import annotations

import time

import grpc
import pytest

from coordinator.local import LocalFederation
from node.audit import LogReader
from node.servicer.node_servicer import MAX_RELEASE_FIELDS
from node.transport.client import open_channel
from protos.fedcredit.v1 import node_pb2, node_pb2_grpc

pytestmark = pytest.mark.slow

NODE = "government"


def _release(fed: LocalFederation, fields: list[str], timeout: float = 20.0) -> grpc.RpcError:
    address = f"127.0.0.1:{fed.node_ports[NODE]}"
    with (
        open_channel(address, fed.certs, "bank", peer=NODE) as channel,
        pytest.raises(grpc.RpcError) as err,
    ):
        node_pb2_grpc.NodeStub(channel).Release(
            node_pb2.ReleaseRequest(dataset=NODE, fields=fields, purpose="release"),
            timeout=timeout,
        )
    return err.value


def _largest_recent_entry(fed: LocalFederation, since: int) -> int:
    with LogReader.open(fed.root / "state" / NODE / "audit") as reader:
        rows = reader.store.iter_entries(since)
        return max((len(data) for _, data, _ in rows), default=0)


def test_hundred_thousand_repeated_names_are_refused_at_once(
    node_federation: LocalFederation,
) -> None:
    # prepare
    with LogReader.open(node_federation.root / "state" / NODE / "audit") as reader:
        before = reader.size()

    # execute: the probe that held the call past its deadline
    error = _release(node_federation, ["tax_paid_12m"] * 100_000)
    twenty_k = _release(node_federation, [f"f{i}" for i in range(20_000)])

    # assert: refused before any work, saying what is wrong and the limit
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert f"at most {MAX_RELEASE_FIELDS}" in error.details()
    assert "100000" in error.details() and "(error request.too_large)" in error.details()
    assert twenty_k.code() is grpc.StatusCode.INVALID_ARGUMENT
    time.sleep(0.5)  # appends are durable before the reply; this only spaces the reads
    assert _largest_recent_entry(node_federation, before) < 20_000  # no 280 KB entry


def test_a_repeated_field_is_refused_by_name(node_federation: LocalFederation) -> None:
    error = _release(node_federation, ["tax_paid_12m", "industry_code", "tax_paid_12m"])
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "fields names 'tax_paid_12m' more than once" in error.details()


def test_the_limit_itself_is_accepted_as_a_size(node_federation: LocalFederation) -> None:
    # 512 distinct unknown names pass the size check and reach the policy, which refuses them
    error = _release(node_federation, [f"no_such_field_{i}" for i in range(MAX_RELEASE_FIELDS)])
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
