"""What the demo's steps after training share: every party deploying its part of a job, a
loan officer's channel to the bank's node, and borrowers' authorizations registered there.

Deployment is what ``fedcredit models deploy`` does at each node, run here on the node's own
state folder. Authorizations go through the bank's ``RegisterAuthorizations``, which forwards
each record, sealed, to the holders it names (docs/authorization.md).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence

import grpc

from coordinator.local.federation import LocalFederation
from node.data.datasets import NodeDatasets
from node.models.deploy import deploy_job
from node.models.registry import Deployment
from node.pki import issue_certificate
from node.runtime.config import load_node_config
from node.transport.client import open_channel
from protos.fedcredit.v1 import node_pb2, node_pb2_grpc

BANK = "bank"
DESK = "demo-loan-desk"


def book_codes(fed: LocalFederation) -> list[str]:
    """The firms of the bank's dataset (its book), in its order; only that dataset is read."""
    config = load_node_config(fed.root / "config" / f"{BANK}.yaml")
    loaded = NodeDatasets([c for c in config.datasets if c.name == BANK]).get(BANK)
    codes: list[str] = loaded.frame[loaded.schema.id_column].astype(str).tolist()
    return codes


def deploy_parts(
    fed: LocalFederation,
    job_id: str,
    name: str,
    dataset: Callable[[str], str] = str,
    nodes: Sequence[str] = (),
) -> list[Deployment]:
    """Deploy each node's part of ``job_id`` as ``name`` over the dataset ``dataset(node id)``
    (default: the node's dataset named like it), in the order of ``nodes`` (default: every
    node). Only that dataset is loaded."""
    deployed = []
    for node_id in nodes or list(fed.node_ports):
        config = load_node_config(fed.root / "config" / f"{node_id}.yaml")
        chosen = dataset(node_id)
        served = NodeDatasets([c for c in config.datasets if c.name == chosen])
        deployed.append(deploy_job(config.state_dir, served, job_id, name, chosen))
    return deployed


def loan_desk(fed: LocalFederation) -> grpc.Channel:
    """A channel to the bank's node presenting a loan officer's certificate of the bank."""
    if not (fed.certs / f"{DESK}.crt").exists():
        bank_org = next(p.organization for p in fed.parties if p.node_id == BANK)
        issue_certificate(fed.certs, DESK, role="loan_officer", organization=bank_org)
    return open_channel(f"127.0.0.1:{fed.node_ports[BANK]}", fed.certs, DESK, peer=BANK)


def authorize(
    desk: node_pb2_grpc.NodeStub,
    codes: Sequence[str],
    purpose: str,
    holders: Sequence[str],
    days: int,
    timeout: float = 120.0,
) -> node_pb2.AuthorizationAck:
    """Register each firm's signed authorization for ``purpose`` (valid from yesterday for
    ``days``) with the bank, which sends it to ``holders``."""
    now = time.time()
    grants = [
        node_pb2.AuthorizationGrant(
            uscc=code, purposes=[purpose], valid_from=now - 86_400,
            valid_to=now + days * 86_400,
            document_sha256=hashlib.sha256(f"demo form {purpose} {code}".encode()).hexdigest(),
            collector="demo-branch", collected_at=now - 86_400, holders=list(holders),
        )
        for code in codes
    ]  # fmt: skip
    ack: node_pb2.AuthorizationAck = desk.RegisterAuthorizations(
        node_pb2.AuthorizationBatch(grants=grants), timeout=timeout
    )
    return ack
