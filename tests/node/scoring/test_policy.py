"""Decision policies: the shipped file loads; every mistake is refused naming file, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.scoring.exceptions import DecisionPolicyError
from node.scoring.policy import load_decision_policy, parse_decision_policy
from tests.node.scoring.parts import POLICY_FILE


def test_the_shipped_policy_loads_and_is_versioned_by_content() -> None:
    # execute
    loaded = load_decision_policy(POLICY_FILE)
    again = parse_decision_policy(POLICY_FILE.read_text() + "\n# a comment\n")
    # assert
    assert loaded.holders == ("government", "third_party")
    assert loaded.approve_below < loaded.decline_from
    assert [b.price_band for b in loaded.bands] == ["A", "B", "C", "D"]
    assert set(loaded.missing) == {"no_record", "offline", "deadline", "unauthorized", "refused"}
    assert len(loaded.version) == 64 and again.version != loaded.version


def _edit(old: str, new: str) -> str:
    text = POLICY_FILE.read_text()
    assert old in text, old
    return text.replace(old, new)


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ("deadline_ms: 300", "deadline_ms: 5", "deadline_ms", "must be >= 10; e.g. 300"),
        ("deadline_ms: 300", "deadline_ms: fast", "deadline_ms", "must be an integer; e.g. 300"),
        ("batch_deadline_ms: 30000", "batch_deadline_ms: 100", "batch_deadline_ms",
         "must not be below deadline_ms"),
        ("approve_below_pd: 0.06", "approve_below_pd: 0.5", "cutoffs", "must not exceed"),
        ("approve_below_pd: 0.06", "approve_below_pd: 1.5", "cutoffs.approve_below_pd",
         "must be <= 1; e.g. 0.06"),
        ("action: decline}", "action: reject}", "knockouts[0].action",
         "must be one of refer, decline"),
        ("{pd_below: 0.06,", "{pd_below: 0.01,", "bands", "increase strictly"),
        ("limit: 0, price_band: D", "limit: -1, price_band: D", "bands[3].limit", "must be >= 0"),
        ("offline: refer", "offline: approve", "missing.offline", "neutral, refer, decline"),
        ("offline: refer", "offline: refer\n  late: refer", "missing.late",
         "unknown key; remove it (allowed: deadline, no_record, offline, refused, unauthorized)"),
        ("exposure_limit: 5000000", "exposure_limit: 0", "exposure_limit", "must be > 0"),
        ("description: Working", "descripton: Working", "descripton",
         "unknown key; did you mean 'description'?"),
        ("model: sme-pd", "modell: sme-pd", "model", "is missing; e.g. sme-pd"),
        ("fedcredit_decision_policy: 1", "fedcredit_decision_policy: 2",
         "fedcredit_decision_policy",
         "must be 1 (the decision-policy format); start the file with"),
        ("holders: [government, third_party]", "holders: [government, government]", "holders",
         "distinct node ids"),
        ("points_to_double_odds: 20", "points_to_double_odds: -20",
         "scorecard.points_to_double_odds", "must be > 0; e.g. 20"),
    ],
)  # fmt: skip
def test_a_mistake_is_refused_naming_file_key_and_fix(
    old: str, new: str, key: str, words: str
) -> None:
    # execute
    with pytest.raises(DecisionPolicyError) as caught:
        parse_decision_policy(_edit(old, new), "policies/decision/mine.yaml")
    # assert: one line, "<file> <key>: <what is wrong>; <what to write>"
    message = str(caught.value)
    assert message.startswith(f"policies/decision/mine.yaml {key}: "), message
    assert words in message and "\n" not in message
    assert caught.value.key == key


def test_a_missing_or_broken_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DecisionPolicyError, match="cannot be read"):
        load_decision_policy(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("cutoffs: [unclosed\n")
    with pytest.raises(DecisionPolicyError, match=r"broken.yaml: is not valid YAML; check"):
        load_decision_policy(broken)
