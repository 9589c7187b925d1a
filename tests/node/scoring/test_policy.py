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
        ("deadline_ms: 300", "deadline_ms: 5", "deadline_ms", "between 10 and 60000"),
        ("deadline_ms: 300", "deadline_ms: fast", "deadline_ms",
         "must be a whole number, got 'fast'"),
        ("approve_below_pd: 0.06", "approve_below_pd: 0.5", "cutoffs", "must not exceed"),
        ("approve_below_pd: 0.06", "approve_below_pd: 1.5", "cutoffs.approve_below_pd",
         "must be in (0, 1]"),
        ("action: decline}", "action: reject}", "knockouts[0].action", "refer or decline"),
        ("{pd_below: 0.06,", "{pd_below: 0.01,", "bands", "increase strictly"),
        ("limit: 0, price_band: D", "limit: -1, price_band: D", "bands[3]", "not be negative"),
        ("offline: refer", "offline: approve", "missing.offline", "neutral, refer, decline"),
        ("offline: refer", "offline: refer\n  late: refer", "missing.late", "not a gap kind"),
        ("exposure_limit: 5000000", "exposure_limit: 0", "exposure_limit", "must be positive"),
        ("model: sme-pd", "modell: sme-pd", "modell", "not a decision-policy key"),
        ("fedcredit_decision_policy: 1", "fedcredit_decision_policy: 2",
         "fedcredit_decision_policy", "must be 1"),
        ("holders: [government, third_party]", "holders: [government, government]", "holders",
         "distinct node ids"),
        ("points_to_double_odds: 20", "points_to_double_odds: -20", "scorecard", ""),
    ],
)  # fmt: skip
def test_a_mistake_is_refused_naming_file_key_and_fix(
    old: str, new: str, key: str, words: str
) -> None:
    # execute
    with pytest.raises(DecisionPolicyError) as caught:
        parse_decision_policy(_edit(old, new), "policies/decision/mine.yaml")
    # assert: one line, "<file>: <key>: <what is wrong / what to write>"
    message = str(caught.value)
    assert message.startswith(f"policies/decision/mine.yaml: {key}: "), message
    assert words in message and "\n" not in message
    assert caught.value.key == key


def test_a_missing_or_broken_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DecisionPolicyError, match="cannot be read"):
        load_decision_policy(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("cutoffs: [unclosed\n")
    with pytest.raises(DecisionPolicyError, match=r"broken.yaml: \(file\): is not valid YAML"):
        load_decision_policy(broken)
