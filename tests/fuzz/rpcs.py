"""Fuzz targets over every RPC of the Coordinator and Node services, on real servers.

``InProcessFederation`` starts a real coordinator and a real government node *in this
process* (the daemons' own ``CoordinatorServer`` and ``NodeProcess``), listening on loopback
with mutual TLS, from a synthetic federation's certificates, data and configuration. Each
method gets one target: requests with every field drawn (names the servers know mixed with
arbitrary text), sent with a certificate whose role may call the method, so the fuzzing
reaches the handler instead of stopping at the role check.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
from hypothesis import strategies as st

from coordinator.local import LocalFederation
from coordinator.local.synthetic import synthetic_federation
from coordinator.runtime.config import load_coordinator_config
from coordinator.runtime.server import CoordinatorServer
from node.pki import issue_certificate
from node.runtime.config import load_node_config
from node.runtime.node_process import NodeProcess
from node.transport.client import open_channel
from protos.fedcredit.v1 import (
    coordinator_pb2,
    coordinator_pb2_grpc,
    node_pb2,
    node_pb2_grpc,
)
from tests.fuzz.harness import Target, grpc_check, message_strategy, mutated
from tests.fuzz.parsers import JOB_SKELETONS, yaml_text

NODE = "government"
OFFICER = "gov-officer"
TIMEOUT_S = 10.0
STREAM_S = 1.0
# Methods that may legitimately keep a stream open until the deadline.
OPEN_STREAMS = frozenset({"Subscribe", "WatchJob"})


class InProcessFederation:
    """A coordinator and one node, both real servers, run inside this process."""

    def __init__(self, root: Path) -> None:
        self.fed: LocalFederation = synthetic_federation(root, n_firms=60)
        # a loan officer of the node's own organization reaches the lending handlers
        issue_certificate(self.fed.certs, OFFICER, role="loan_officer", organization="gov-dc")
        self._coordinator: CoordinatorServer | None = None
        self._node: NodeProcess | None = None

    def start(self) -> None:
        config = load_coordinator_config(self.fed.root / "config" / "coordinator.yaml")
        # The fuzzer calls far faster than the per-certificate request rate allows; the rate
        # limiter has its own tests, and here its refusals would hide what the fuzzer looks for.
        unlimited = replace(config.limits, requests_per_s=1e6, request_burst=10**6)
        self._coordinator = CoordinatorServer(replace(config, limits=unlimited))
        self._coordinator.start()
        self.fed.coordinator_port = self._coordinator.port
        spec = next(p for p in self.fed.parties if p.node_id == NODE)
        self._node = NodeProcess(load_node_config(self.fed._write_node_config(spec)))
        self._node.start()
        self.fed.node_ports[NODE] = self._node.port
        self.fed.wait_online([NODE], timeout=60)
        # the bank is registered (not running), so the node accepts envelopes it signed
        with self.coordinator("bank") as channel:
            coordinator_pb2_grpc.CoordinatorStub(channel).Register(
                coordinator_pb2.RegisterRequest(), timeout=TIMEOUT_S
            )

    def stop(self) -> None:
        if self._node is not None:
            self._node.stop()
        if self._coordinator is not None:
            self._coordinator.stop()

    def coordinator(self, name: str) -> grpc.Channel:
        return open_channel(self.fed.address, self.fed.certs, name)

    def node(self, name: str) -> grpc.Channel:
        return open_channel(f"127.0.0.1:{self.fed.node_ports[NODE]}", self.fed.certs, name, NODE)


@contextmanager
def in_process_federation(root: Path) -> Iterator[InProcessFederation]:
    fed = InProcessFederation(root)
    try:
        fed.start()
        yield fed
    finally:
        fed.stop()


def _names() -> st.SearchStrategy[str]:
    known = [
        NODE, "bank", "third_party", "coordinator", "operator", "auditor",
        "uscc", "tax_paid_12m", "industry_code", "legal_rep_id_number", "firm_name",
        "release", "training", "scoring", "audit", "parquet", "csv",
        "check-1", "../../x", "a" * 200, "91350100M000100Y43", "",
    ]  # fmt: skip
    return st.sampled_from(known)


def _call(stub: Any, method: str, request: Any, streaming: bool) -> None:
    if streaming:
        responses = getattr(stub, method)(
            request, timeout=STREAM_S if method in OPEN_STREAMS else TIMEOUT_S
        )
        for _ in itertools.islice(responses, 50):
            pass
    else:
        getattr(stub, method)(request, timeout=TIMEOUT_S)


def _target(
    fed: InProcessFederation,
    service: str,
    method: str,
    request_cls: type[Any],
    streaming: bool,
    as_: str,
    overrides: dict[str, st.SearchStrategy[Any]] | None = None,
) -> Target:
    open_ = fed.node if service == "node" else fed.coordinator
    stub_cls = node_pb2_grpc.NodeStub if service == "node" else coordinator_pb2_grpc.CoordinatorStub
    channel = open_(as_)
    stub = stub_cls(channel)

    def check(request: Any) -> None:
        grpc_check(
            lambda: _call(stub, method, request, streaming),
            streaming_ok_timeout=method in OPEN_STREAMS,
        )

    strategy = message_strategy(request_cls, _names(), overrides)
    return Target(f"rpc.{service}.{method}", strategy, check)


def _release_fields(fed: InProcessFederation) -> dict[str, st.SearchStrategy[Any]]:
    """Release requests that often get past validation, so the policy and masking run."""
    import pandas as pd

    columns = list(pd.read_csv(fed.fed.root / "data" / f"{NODE}.csv", nrows=1).columns)
    names = st.one_of(st.sampled_from(columns), _names())
    filters = st.one_of(
        st.just(""),
        st.builds(
            lambda f, op, v: f"{f} {op} {v!r}",
            st.sampled_from(columns),
            st.sampled_from(["==", "!=", "<", ">=", "in", "not in"]),
            st.one_of(st.integers(), st.text(max_size=8), st.lists(st.integers(), max_size=3)),
        ),
        st.text(max_size=60),
    )
    return {
        "dataset": st.sampled_from([NODE, NODE, "bank", ""]),
        "purpose": st.sampled_from(["release", "training", "scoring", "audit", ""]),
        "format": st.sampled_from(["", "csv", "parquet", "xml"]),
        "fields": names,  # per element: the field is repeated
        "filter": filters,
    }


def _envelopes(fed: InProcessFederation) -> dict[str, st.SearchStrategy[Any]]:
    """Envelopes sealed by the calling bank to the node, then mutated: they reach the node."""
    from node.crypto.envelope import seal_to
    from node.pki import identity_from_certificate, load_identity_files

    bank = load_identity_files(fed.fed.certs, "bank")
    node = identity_from_certificate((fed.fed.certs / f"{NODE}.crt").read_bytes())
    valid = seal_to(b"x" * 40, sender=bank, recipient=node, job="fuzz#1", topic="t")
    return {"sealed": mutated(valid)}


# Who calls each method: a certificate whose role may, so inputs reach the handler. Methods
# not listed (added later) are called as the operator, and fuzzed all the same.
CALLERS: dict[str, str] = {
    "GetCapabilities": "bank",
    "Release": "bank",
    "AuditCheckpoint": "auditor",
    "AuditProve": "auditor",
    "AuditExport": "auditor",
    "Decide": OFFICER,
    "DecideBatch": OFFICER,
    "RegisterAuthorizations": OFFICER,
    "RevokeAuthorization": OFFICER,
    "DecideBook": OFFICER,
    "MonitorRefresh": OFFICER,
    "MonitorWatchlist": OFFICER,
    "MonitorAlerts": OFFICER,
    "MonitorAct": OFFICER,
    "Register": "bank",
    "Heartbeat": "bank",
    "GetDirectory": "bank",
    "Send": "bank",
    "Subscribe": "third_party",
    "ReportTask": "bank",
    "PublishCheckpoint": "third_party",
}


def _methods() -> list[tuple[str, str, type[Any], bool, str]]:
    """(service, method, request type, server-streaming, caller) of every declared RPC."""
    out = []
    for service, module in (("node", node_pb2), ("coordinator", coordinator_pb2)):
        for m in module.DESCRIPTOR.services_by_name[service.capitalize()].methods:
            request = m.input_type._concrete_class
            out.append(
                (service, m.name, request, m.server_streaming, CALLERS.get(m.name, "operator"))
            )
    return out


METHODS = _methods()
OVERRIDES: dict[str, Callable[[InProcessFederation], dict[str, st.SearchStrategy[Any]]]] = {
    "Release": _release_fields,
    "Send": _envelopes,
    "SubmitJob": lambda fed: {"spec_yaml": yaml_text(JOB_SKELETONS).map(str.encode)},
}


def rpc_targets(fed: InProcessFederation) -> dict[str, Callable[[], Target]]:
    """One target per method of both services, bound to ``fed``'s servers."""
    out: dict[str, Callable[[], Target]] = {}
    for service, method, cls, streaming, as_ in METHODS:

        def make(
            service: str = service,
            method: str = method,
            cls: type[Any] = cls,
            streaming: bool = streaming,
            as_: str = as_,
        ) -> Target:
            extra = OVERRIDES[method](fed) if method in OVERRIDES else None
            return _target(fed, service, method, cls, streaming, as_, extra)

        out[f"rpc.{service}.{method}"] = make
    return out
