"""End-to-end runs of the SecureBoost protocol over a ``MemoryHub``: maths, traffic, failures."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pandas as pd
import pytest

from node.jobs.hooks import MemoryHooks
from node.training.secureboost import GuestResult, HostResult, run_in_memory, spec_from_job
from node.training.secureboost.checkpoint import LATEST
from node.training.secureboost.job import bank_alone
from node.training.secureboost.layout import GHLayout
from node.training.secureboost.loss import base_margin, gradients, quantize
from node.training.secureboost.model import part_to_dict
from node.training.secureboost.rows import TRAIN, row_roles, tree_sample
from node.training.vertical.exceptions import MalformedMessage, PartyFailed
from node.transport.memory import MemoryHub

from .conftest import HOST_FEATURES, allow_all, section
from .reference import reference_model


def _run(
    frames: dict[str, pd.DataFrame],
    raw: dict[str, Any],
    hub: MemoryHub | None = None,
    hooks: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, BaseException]]:
    return run_in_memory(spec_from_job(raw, allow_all), frames, hub=hub, hooks=hooks)


@pytest.mark.parametrize(("three_party", "bank_only_trees"), [(False, 0), (True, 1)])
def test_federated_trees_equal_the_centralized_reference(
    credit_frames: dict[str, pd.DataFrame], three_party: bool, bank_only_trees: int
) -> None:
    # prepare: row and column subsampling on, so the per-tree choices are exercised too
    raw = section(
        trees=3,
        three_party=three_party,
        early_stopping=False,
        colsample=0.7,
        bank_only_trees=bank_only_trees,
    )
    expected_trees, expected_rules = reference_model(spec_from_job(raw, allow_all), credit_frames)
    # execute
    results, errors = _run(credit_frames, raw)
    # assert: same splits, owners, gains and leaf weights; each rule held by its owner only
    assert errors == {}
    bank = results["bank"]
    assert isinstance(bank, GuestResult)
    assert [list(tree) for tree in bank.ensemble.trees] == expected_trees
    for record, (party, rule) in expected_rules.items():
        assert results[party].part.rules[record] == rule
    hosts = [p for p in results if p != "bank"]
    assert sum(len(results[p].part.rules) for p in hosts) > 0
    assert set(bank.part.rules) == {r for r, (p, _) in expected_rules.items() if p == "bank"}


def test_encrypted_run_equals_plaintext_twin_exactly(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare / execute: the same job, Paillier and twin
    encrypted, e1 = _run(credit_frames, section(plaintext=False, trees=3, three_party=True))
    twin, e2 = _run(credit_frames, section(plaintext=True, trees=3, three_party=True))
    # assert: identical trees, leaf weights, rules and test metrics
    assert e1 == e2 == {}
    assert encrypted["bank"].ensemble == twin["bank"].ensemble
    for party in ("bank", "gov", "third"):
        assert encrypted[party].part == twin[party].part
    assert encrypted["bank"].metrics == twin["bank"].metrics
    assert encrypted["bank"].counters["decryptions"] > 0


def test_boosting_beats_the_bank_alone_and_learns_from_hosts(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare
    raw = section(trees=8, early_stopping=False)
    alone = bank_alone(spec_from_job(raw, allow_all), credit_frames["bank"])
    # execute
    results, errors = _run(credit_frames, raw)
    # assert: the host file holds default_credit's repayment-status columns (the most signal)
    assert errors == {}
    bank = results["bank"]
    assert bank.metrics["auc"] > alone["auc"] + 0.04
    importance = bank.ensemble.importance()
    assert importance["gov"].gain > importance["bank"].gain
    gov = results["gov"].part
    assert sum(i.splits for i in gov.importance.values()) == importance["gov"].splits
    assert set(gov.importance) <= set(HOST_FEATURES)


def _needles(frames: dict[str, pd.DataFrame], results: dict[str, Any]) -> dict[str, list[bytes]]:
    """Byte patterns that would betray a plaintext gradient, hessian, label, value or threshold."""
    spec = spec_from_job(section(trees=2), allow_all)
    y = frames["bank"]["y"].to_numpy().astype(np.int8)
    roles = row_roles(y, 0.2, 0.2, 11)
    y_train = y[roles == TRAIN]
    gq, hq = quantize(*gradients(np.full(len(y_train), base_margin(y_train)), y_train), 20)
    sample = tree_sample(len(y_train), spec.model.subsample, 11, 0)
    layout = GHLayout(20, int(sample.sum()), 768)
    values = layout.row_values(gq[sample], hq[sample])
    width = 768 // 8
    thresholds = [
        r.threshold for p in ("gov", "bank") for r in results[p].part.rules.values() if r.threshold
    ]
    raw_values = frames["gov"][HOST_FEATURES].to_numpy().ravel()[:200]
    return {
        "row (g, h) plaintexts": [
            (v % ((1 << 768) - 1)).to_bytes(width, "big") for v in values[:50]
        ],
        "gradients": [struct.pack(">q", int(v)) for v in gq[:50]],
        "labels": [np.packbits(y).tobytes()[:16], y.astype(np.int8).tobytes()[:64]],
        "thresholds": [struct.pack(fmt, t) for t in thresholds for fmt in (">d", "<d")]
        + [repr(t).encode() for t in thresholds],
        "feature values": [struct.pack("<d", v) for v in raw_values if v != int(v)][:100]
        + [repr(float(v)).encode() for v in raw_values if v != int(v)][:100],
    }


def test_traffic_holds_no_plaintext_gradient_label_value_or_threshold(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare / execute: the encrypted run, and the twin as a positive control for the scan
    hub, twin_hub = MemoryHub("sb-traffic"), MemoryHub("sb-traffic-twin")
    results, errors = _run(credit_frames, section(plaintext=False, trees=2), hub=hub)
    _, twin_errors = _run(credit_frames, section(plaintext=True, trees=2), hub=twin_hub)
    assert errors == twin_errors == {}
    needles = _needles(credit_frames, results)
    # assert: the scan finds the twin's row plaintexts, and nothing at all in the real run
    twin_traffic = b"".join(m.payload for m in twin_hub.captured)
    assert any(n in twin_traffic for n in needles["row (g, h) plaintexts"])
    for kind, patterns in needles.items():
        for message in hub.captured:
            found = [p for p in patterns if p in message.payload]
            assert not found, f"{kind} in {message.topic} from {message.sender}"
    # every cell the bank sends a host is a Paillier ciphertext (a full-width value mod n^2)
    gh = [m for m in hub.captured if "/gh/" in m.topic]
    assert gh and all(len(m.payload) > 1000 for m in gh)


def test_host_lookup_table_never_leaves_the_host(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare / execute
    hub = MemoryHub("sb-lookup")
    results, errors = _run(credit_frames, section(plaintext=False, trees=3), hub=hub)
    assert errors == {}
    part = results["gov"].part
    assert part.rules
    # assert: nothing the host sends names a column or carries a threshold; it answers in bits
    from_host = [m for m in hub.captured if m.sender == "gov"]
    kinds = {m.payload[1:2] for m in from_host}
    assert kinds <= {b"J", b"C", b"B"}
    for message in from_host:
        for rule in part.rules.values():
            if message.payload[1:2] != b"C":  # a two-letter name occurs in random bytes
                assert rule.feature.encode() not in message.payload
            if rule.threshold is not None:
                assert repr(rule.threshold).encode() not in message.payload
                assert struct.pack(">d", rule.threshold) not in message.payload
        if message.payload[1:2] == b"J":
            body = json.loads(message.payload[6:])
            assert set(body) <= {"trees", "slots"}
    # the bank's model names a host split by record id only; summaries carry no rules
    bank = results["bank"]
    host_nodes = [n for t in bank.ensemble.trees for n in t if n.party == "gov"]
    assert host_nodes and all(isinstance(n.record, int) for n in host_nodes)
    summary = json.dumps([bank.summary(), results["gov"].summary()])
    assert "threshold" not in summary and "rules" not in summary
    assert json.dumps(part_to_dict(part)["rules"][0]) not in summary


class _CrashAt(MemoryHooks):
    """A host whose process dies (drops from the hub) right after checkpointing tree ``at``."""

    def __init__(self, hub: MemoryHub, party: str, at: int) -> None:
        super().__init__()
        self.hub, self.party, self.at = hub, party, at

    def progress(self, stage: str, step: int, total: int, metrics: Any) -> None:
        super().progress(stage, step, total, metrics)
        if stage == "tree" and step == self.at:
            self.hub.drop(self.party)
            raise SystemExit("killed")


@pytest.mark.slow
def test_party_that_leaves_fails_the_attempt_and_resume_equals_an_uninterrupted_run(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare: the uninterrupted run, and an attempt in which "gov" dies after tree 2
    raw = section(plaintext=False, trees=5, early_stopping=False, three_party=True)
    full, e0 = _run(credit_frames, raw)
    hub = MemoryHub("sb-crash")
    hooks: dict[str, Any] = {
        "bank": MemoryHooks(),
        "gov": _CrashAt(hub, "gov", 2),
        "third": MemoryHooks(),
    }
    # execute: the first attempt fails, naming the party that left
    _, e1 = _run(credit_frames, raw, hub=hub, hooks=hooks)
    assert e0 == {}
    assert isinstance(e1["bank"], PartyFailed) and e1["bank"].party == "gov"
    assert isinstance(e1["third"], PartyFailed) and e1["third"].party == "gov"
    assert int(hooks["bank"].checkpoints[LATEST]) >= 2
    # execute: the party is back; a new attempt on the same checkpoints (fresh keys)
    hooks["gov"] = MemoryHooks(checkpoints=dict(hooks["gov"].checkpoints))
    resumed, e2 = _run(credit_frames, raw, hooks=hooks)
    # assert: it resumed (not restarted) and built exactly the uninterrupted model
    assert e2 == {}
    assert resumed["bank"].resumed_from == 2
    assert resumed["bank"].ensemble == full["bank"].ensemble
    for party in ("bank", "gov", "third"):
        assert resumed[party].part == full[party].part
    assert resumed["bank"].metrics == full["bank"].metrics


def test_early_stopping_cuts_the_model_back_everywhere(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # a learning rate this high overfits 1,000 rows within a few trees
    raw = section(
        trees=30, learning_rate=1.0, max_depth=5, early_stopping={"patience": 2, "min_delta": 0.0}
    )
    results, errors = _run(credit_frames, raw)
    assert errors == {}
    bank = results["bank"]
    assert isinstance(bank, GuestResult) and isinstance(results["gov"], HostResult)
    best = len(bank.ensemble.trees)
    assert best < bank.trees_built < 30
    assert bank.history[best - 1]["val_auc"] == max(h["val_auc"] for h in bank.history)
    assert results["gov"].trees == best
    assert all(r >> 12 < best for r in results["gov"].part.rules)


class _SwappingHub(MemoryHub):
    """A hub on which the host's histogram messages arrive with two ciphertexts swapped."""

    def _put(self, sender: str, recipient: str, topic: str, payload: bytes) -> None:
        if sender == "gov" and "/hist/" in topic:
            width = 2 * 768 // 8
            body = bytearray(payload)
            first = len(payload) - 2 * width  # the last two fixed-width ciphertexts
            body[first:] = payload[first + width :] + payload[first : first + width]
            payload = bytes(body)
        super()._put(sender, recipient, topic, payload)


def test_a_tampered_histogram_is_refused_naming_its_sender(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # execute
    _, errors = _run(credit_frames, section(plaintext=False, trees=2), hub=_SwappingHub())
    # assert: the bank checks every column against the node totals it knows
    assert isinstance(errors["bank"], MalformedMessage)
    assert errors["bank"].sender == "gov"
    assert isinstance(errors["gov"], PartyFailed) and errors["gov"].party == "gov"
