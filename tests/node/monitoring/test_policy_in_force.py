"""The monitoring policy in force: each change recorded once in the node's access log, however
often the node restarts before a refresh runs on it, and never put in force unrecorded.

Real parts: a policy file, the SQLite monitoring store and a signed access log on disk; a
restart is a new ``PolicyInForce`` over the same files. The last test reads the policy through
the bank's ``MonitoringService`` as the node assembles it, so the change lands in the log the
node was given.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from node.audit import Actor
from node.audit.sink import AuditSink
from node.audit.tokens import FirmTokenizer
from node.data.datasets import NodeDatasets
from node.models import ModelRegistry
from node.monitoring.config import MonitoringConfig
from node.monitoring.exceptions import MonitoringError, PolicyChangeNotRecorded
from node.monitoring.holder import PanelView
from node.monitoring.policy import parse_monitoring_policy
from node.monitoring.policy_in_force import PolicyInForce
from node.monitoring.service import MonitoringService
from node.monitoring.store import MonitoringStore
from node.scoring.client import PartnerClient
from node.scoring.index import FirmIndex
from node.scoring.keys import Pseudonyms
from tests.node.monitoring.support import POLICY_TEXT
from tests.policy_fixtures import PolicyNode
from tests.relay_fixtures import silent_router

A = POLICY_TEXT
B = POLICY_TEXT.replace("soft_flags: []", "soft_flags: [GOV-TAX-ARREARS]")
A_VERSION = parse_monitoring_policy(A, "A").version
B_VERSION = parse_monitoring_policy(B, "B").version


class Node(PolicyNode[MonitoringStore, PolicyInForce]):
    """A bank node's monitoring policy, its monitoring store and access log."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "monitoring.yaml", A)

    def open_store(self) -> MonitoringStore:
        return MonitoringStore(self.root / "watch.sqlite")

    def in_force_of(self, store: MonitoringStore, sink: AuditSink) -> PolicyInForce:
        return PolicyInForce(self.policy, store, sink)

    @property
    def store(self) -> MonitoringStore:
        return self.kept

    def changes(self) -> list[tuple[object, object]]:
        return [(e.details["old_sha256"], e.details["new_sha256"]) for e in self.policy_changes()]


def test_a_change_taken_up_is_recorded_once_however_often_the_node_restarts(
    tmp_path: Path,
) -> None:
    # prepare: the last refresh ran on A; the node takes up B, and no refresh succeeds on it
    node = Node(tmp_path)
    assert node.in_force.get().version == A_VERSION
    node.store.add_refresh("r1", "2026-04", 0.0, 1.0, {"policy": A_VERSION[:16]})
    node.edit(B)
    assert node.in_force.get().version == B_VERSION
    # execute: the node restarts twice before any refresh runs on B
    assert node.restart().get().version == B_VERSION
    assert node.restart().get().version == B_VERSION
    # assert: A -> B is in the log once
    assert node.changes() == [(A_VERSION, B_VERSION)]
    node.stop()


def test_a_file_edited_while_stopped_is_recorded_though_no_refresh_ever_ran(
    tmp_path: Path,
) -> None:
    # prepare: the node put A in force, then stopped before any refresh
    node = Node(tmp_path)
    assert node.in_force.get().version == A_VERSION
    node.stop()
    node.edit(B)
    # execute: the restarted node takes the file up
    assert node.start().get().version == B_VERSION
    # assert: A -> B recorded, once
    assert node.changes() == [(A_VERSION, B_VERSION)]
    node.stop()


def test_a_change_the_access_log_refuses_is_not_put_in_force(tmp_path: Path) -> None:
    # prepare: A in force; the access log stops taking entries; B is written
    node = Node(tmp_path)
    assert node.in_force.get().version == A_VERSION
    node.log.close()
    node.edit(B)
    # execute / assert: every use refuses in one line, and nothing is put in force
    for _ in range(2):
        with pytest.raises(PolicyChangeNotRecorded) as caught:
            node.in_force.get()
        assert isinstance(caught.value, MonitoringError)
        assert str(caught.value) == (
            f"the monitoring policy change to {B_VERSION[:16]} could not be recorded in the "
            "access log; the refresh waits (see the node's log)"
        )
    # execute: the node restarts with its log writable again
    node.store.close()
    assert node.start().get().version == B_VERSION
    # assert: the change is recorded then, against A
    assert node.changes() == [(A_VERSION, B_VERSION)]
    node.stop()


def test_the_bank_s_monitoring_records_a_change_in_the_node_s_own_log(tmp_path: Path) -> None:
    # prepare: the bank's monitoring as the node assembles it, over its real store, registry,
    # panel view and access log (the partner client is built but never used here)
    node = Node(tmp_path)
    sink = AuditSink(node.log, Actor("bank-a", "bank", "node"))
    registry = ModelRegistry(tmp_path / "state")
    config = MonitoringConfig(panel="bank_monthly", policy=node.policy, book="loans")
    service = MonitoringService(
        me=Actor("bank-a", "bank", "node"),
        config=config,
        panel=PanelView(NodeDatasets([]), config, FirmTokenizer(bytes(32))),
        registry=registry,
        client=PartnerClient(silent_router("bank"), str),
        names=lambda holder: Pseudonyms(bytes(32)),
        index_of=lambda dataset: FirmIndex([], FirmTokenizer(bytes(32))),
        store=node.store,
        sink=sink,
        reason_prefix="",
    )
    assert service.policy().version == A_VERSION
    # execute: the file changes, and the next refresh (or the scheduler's check) reads it
    node.edit(B)
    assert service.policy().version == B_VERSION
    # assert: the change is in the node's log, once
    assert service.policy().version == B_VERSION
    assert node.changes() == [(A_VERSION, B_VERSION)]
    # and a change the log refuses reaches the caller as the monitoring error it handles
    node.log.close()
    node.edit(A)
    with pytest.raises(PolicyChangeNotRecorded):
        service.policy()
    registry.close()
    node.store.close()
