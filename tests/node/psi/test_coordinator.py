"""The coordinator's role: counts only, and disagreement or failure is reported by name."""

from __future__ import annotations

import pytest

from node.jobs.hooks import MemoryHooks
from node.psi import MalformedMessage, PsiAborted, PsiPeerLeft, PsiSpec, run_psi_coordinator
from node.psi.wire import encode_summary
from node.transport.memory import MemoryHub

SPEC = PsiSpec(leader="bank", followers=("gov",), timeout_s=5.0, run_timeout_s=5.0)


def counts(size: int) -> dict[str, object]:
    return {"input": 10, "invalid": 1, "intersection_size": size, "subset_sizes": {}}


def test_combines_the_parties_counts() -> None:
    # prepare
    hub = MemoryHub()
    hub.channel("bank").send("coordinator", "psi/summary", encode_summary(counts(4)))
    hub.channel("gov").send("coordinator", "psi/summary", encode_summary(counts(4)))
    # execute
    result = run_psi_coordinator(hub.channel("coordinator"), MemoryHooks(), SPEC)
    # assert
    assert result["intersection_size"] == 4
    assert result["parties"]["gov"] == {"input": 10, "invalid": 1, "valid": 9}


def test_disagreeing_sizes_are_refused() -> None:
    # prepare
    hub = MemoryHub()
    hub.channel("bank").send("coordinator", "psi/summary", encode_summary(counts(4)))
    hub.channel("gov").send("coordinator", "psi/summary", encode_summary(counts(5)))
    # execute / assert
    with pytest.raises(MalformedMessage) as info:
        run_psi_coordinator(hub.channel("coordinator"), MemoryHooks(), SPEC)
    assert info.value.sender == "gov"


def test_summary_without_counts_is_refused() -> None:
    # prepare
    hub = MemoryHub()
    hub.channel("bank").send("coordinator", "psi/summary", encode_summary({"input": 1}))
    # execute / assert
    with pytest.raises(MalformedMessage):
        run_psi_coordinator(hub.channel("coordinator"), MemoryHooks(), SPEC)


def test_failure_report_names_the_culprit() -> None:
    # prepare
    hub = MemoryHub()
    failure = {"status": "failed", "reason": "EmptySetError", "culprit": "gov"}
    hub.channel("bank").send("coordinator", "psi/summary", encode_summary(failure))
    # execute / assert
    with pytest.raises(PsiAborted) as info:
        run_psi_coordinator(hub.channel("coordinator"), MemoryHooks(), SPEC)
    assert info.value.party == "gov"


def test_a_party_that_left_is_named() -> None:
    # prepare
    hub = MemoryHub()
    hub.drop("bank")
    # execute / assert
    with pytest.raises(PsiPeerLeft) as info:
        run_psi_coordinator(hub.channel("coordinator"), MemoryHooks(), SPEC)
    assert info.value.party == "bank"
