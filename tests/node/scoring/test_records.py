"""Decision records: a call stored as columns replays row by row; unknown ids are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from node.models import ModelRegistry
from node.scoring.answers import Answer
from node.scoring.combine import Gap
from node.scoring.exceptions import ScoringError
from node.scoring.records import DecisionRecords, new_call_id
from node.scoring.service import call_record, decide_with, replay_record
from tests.node.scoring.parts import bank_part, policy


def _government(n: int) -> Answer:
    rng = np.random.default_rng(5)
    header = {
        "id": "q",
        "error": "",
        "version": "sme-pd@3",
        "kind": "logistic",
        "details": ["daily cap"],
        "flag_codes": ["GOV-TAX-ARREARS"],
        "categories": ["GOV-COURT", "GOV-TAX"],
    }
    status = rng.choice([0, 0, 0, 1, 3], n).astype(np.uint8)
    arrays = {"status": status, "detail": np.where(status == 3, 0, -1).astype(np.int16),
              "flags": rng.random((n, 1)) < 0.2, "score": rng.normal(0, 1, n),
              "reason_codes": rng.integers(-1, 2, (n, 2)).astype(np.int16),
              "reason_values": rng.uniform(0, 1, (n, 2))}  # fmt: skip
    return Answer(header, arrays)


def test_every_decision_of_a_call_replays_from_the_stored_record(tmp_path: Path) -> None:
    # prepare: a call of 40 firms, one holder answering, one offline
    n = 40
    registry = ModelRegistry(tmp_path)
    part = bank_part()
    version = registry.deploy("sme-pd", part).label()
    rules = policy()
    records = DecisionRecords(tmp_path / "decisions.sqlite")
    records.keep_policy(rules.version, rules.text)
    values = np.random.default_rng(1).normal(0, 1, (n, 3))
    replies = {"government": _government(n), "third_party": Gap("offline")}
    amounts = np.linspace(1e4, 4e6, n)
    # execute
    outcomes = decide_with(rules, part, version, values, replies, amounts)
    call = new_call_id()
    tokens = [f"ft:{i:032x}" for i in range(n)]
    refs = [f"A-{i}" for i in range(n)]
    terms = np.full(n, 12, np.int32)
    record = call_record(
        call, rules.version, version, part, refs, tokens, amounts, terms, values, replies, outcomes
    )
    records.add(record, 1.0)
    # assert: each row replays to what was decided, and the list names them
    for i in range(n):
        recorded, again = replay_record(records, registry, f"dec-{call}-{i}")
        assert recorded == again == outcomes[i].to_dict()
    listed = list(records.latest(3))
    assert [r["record_id"] for r in listed] == [f"dec-{call}-{i}" for i in (39, 38, 37)]
    assert listed[0]["application_ref"] == "A-39"
    assert listed[0]["outcome"] == outcomes[39].to_dict()
    # the readable document of one row: the application, each holder's answer or gap
    doc = records.get(f"dec-{call}-7")
    assert doc["record_id"] == f"dec-{call}-7" and doc["firm"] == tokens[7]
    assert doc["amount"] == amounts[7] and doc["term_months"] == 12 and doc["time"] == 1.0
    assert doc["bank_version"] == version and doc["policy_version"] == rules.version
    holders = {h["party"]: h for h in doc["holders"]}
    assert holders["third_party"]["status"] == "offline"
    assert holders["government"]["status"] in {"ok", "no_record", "refused", "unauthorized"}
    with pytest.raises(ScoringError, match="no decision record"):
        records.get(f"dec-{call}-{n}")
    with pytest.raises(ScoringError, match="no decision record"):
        records.get("dec-nothing")
    records.close()
    registry.close()
