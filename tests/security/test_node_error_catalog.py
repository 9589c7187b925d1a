"""Finding 11: error text crossing trust boundaries, captured on the wire and in traces.jsonl.

A real enterprise code from the government node's data is planted in each failing input; it
must come back neither in the status details the caller receives nor in any span written to
``traces.jsonl``, and an unexpected exception must answer ``INTERNAL`` with catalog text.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pandas as pd
import pytest

from coordinator.local import LocalFederation
from node.transport.client import open_channel
from protos.fedcredit.v1 import coordinator_pb2, node_pb2, node_pb2_grpc

pytestmark = pytest.mark.slow

NODE = "government"


@pytest.fixture(scope="module")
def planted(node_federation: LocalFederation) -> str:
    """A raw unified social credit code the government node holds."""
    table = pd.read_csv(node_federation.root / "data" / f"{NODE}.csv", dtype=str)
    return str(table["uscc"].iloc[0])


@pytest.fixture
def failing_server(
    node_federation: LocalFederation, tmp_path: Path
) -> Iterator[tuple[int, Path, Path]]:
    """The planted-bug Node server as its own process: (port, traces file, its stderr)."""
    traces, errors = tmp_path / "traces.jsonl", tmp_path / "server.log"
    with errors.open("wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.security.planted_server",
                str(node_federation.certs),
                NODE,
                str(traces),
            ],
            stdout=subprocess.PIPE,
            stderr=err,
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("listening on port"), errors.read_text()
        yield int(line.split()[-1]), traces, errors
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()


def _stub(address: str, fed: LocalFederation, as_: str) -> node_pb2_grpc.NodeStub:
    return node_pb2_grpc.NodeStub(open_channel(address, fed.certs, as_, peer=NODE))


def test_foreign_exception_text_stays_in_the_process(
    node_federation: LocalFederation, failing_server: tuple[int, Path, Path], planted: str
) -> None:
    # prepare
    port, _traces, _server_log = failing_server
    address = f"127.0.0.1:{port}"

    # execute: a unary call and a stream fail inside pandas on the planted code
    with pytest.raises(grpc.RpcError) as unary:
        _stub(address, node_federation, "bank").Release(
            node_pb2.ReleaseRequest(dataset=NODE, filter=planted), timeout=10
        )
    chunks: list[bytes] = []
    with pytest.raises(grpc.RpcError) as streamed:
        for chunk in _stub(address, node_federation, "auditor").AuditExport(
            node_pb2.AuditExportRequest(), timeout=10
        ):
            chunks.append(chunk.data)

    # assert: the wire carries the catalog's INTERNAL text only
    for err in (unary.value, streamed.value):
        assert err.code() is grpc.StatusCode.INTERNAL
        assert "(error internal)" in err.details()
        assert planted not in err.details() and "could not convert" not in err.details()
    assert chunks == [b"header"]


def test_spans_hold_the_exception_type_and_code_only(
    node_federation: LocalFederation, failing_server: tuple[int, Path, Path], planted: str
) -> None:
    # prepare
    port, traces, server_log = failing_server

    # execute
    with pytest.raises(grpc.RpcError):
        _stub(f"127.0.0.1:{port}", node_federation, "bank").Release(
            node_pb2.ReleaseRequest(dataset=NODE, filter=planted), timeout=10
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "Release" not in (
        traces.read_text() if traces.exists() else ""
    ):
        time.sleep(0.5)  # the batch exporter writes every few seconds

    # assert: the span is there, marked failed with type and code, and nothing else
    text = traces.read_text()
    assert planted not in text and "Traceback" not in text and "stacktrace" not in text
    span = next(json.loads(line) for line in text.splitlines() if "Release" in line)
    assert span["attributes"]["fedcredit.error.code"] == "internal"
    assert span["attributes"]["exception.type"] == "ValueError"
    assert span["status"]["status_code"] == "ERROR"
    assert planted not in server_log.read_text()


def test_live_node_answers_bad_arguments_without_echoing_them(
    node_federation: LocalFederation, planted: str
) -> None:
    # prepare
    stub = _stub(f"127.0.0.1:{node_federation.node_ports[NODE]}", node_federation, "bank")
    asks = [
        node_pb2.ReleaseRequest(
            dataset=NODE, fields=["tax_paid_12m"], purpose="release", format=planted
        ),
        node_pb2.ReleaseRequest(dataset=NODE, fields=["tax_paid_12m"], purpose=planted),
        node_pb2.ReleaseRequest(dataset=planted, fields=["tax_paid_12m"], purpose="release"),
        node_pb2.ReleaseRequest(dataset=NODE, fields=[planted, planted], purpose="release"),
    ]

    # execute
    details = []
    for ask in asks:
        with pytest.raises(grpc.RpcError) as err:
            stub.Release(ask, timeout=10)
        details.append((err.value.code(), err.value.details()))

    # assert: each names the problem and the catalog code, none quotes the planted code
    for _code, text in details:
        assert planted not in text, text
        assert "(error " in text and "Fix:" in text
    assert [c for c, _ in details] == [grpc.StatusCode.INVALID_ARGUMENT] * 2 + [
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INVALID_ARGUMENT,
    ]


def test_live_coordinator_does_not_pass_exception_text_on(
    node_federation: LocalFederation, planted: str
) -> None:
    # execute: a job file whose type is the planted code (the old answer quoted it back)
    with pytest.raises(grpc.RpcError) as err:
        node_federation.coordinator("operator").SubmitJob(
            coordinator_pb2.SubmitJobRequest(
                spec_yaml=f"type: {planted}\nparties: {{bank: {{}}}}\n".encode()
            ),
            timeout=10,
        )

    # assert
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert planted not in err.value.details()
    assert "(error job.invalid_spec)" in err.value.details()
