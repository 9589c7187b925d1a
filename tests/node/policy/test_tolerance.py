"""A rule's ``tolerance``: accepted on numeric outputs, refused elsewhere, carried to decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.policy import PolicyEngine, PolicyFileError, load_policy

from .conftest import BANK, MINIMAL, write_policy

WITH_TOLERANCE = MINIMAL.replace(
    "        transform: {type: clip, upper: 500}\n",
    "        transform: {type: clip, upper: 500}\n        tolerance: 0.5\n",
)


def test_a_numeric_rule_carries_its_tolerance_into_the_decision(tmp_path: Path) -> None:
    # prepare
    path = write_policy(tmp_path, WITH_TOLERANCE)
    engine = PolicyEngine.load(path, b"k" * 32)
    # execute
    decision = engine.authorize(BANK, "release", "firms", ["revenue", "sector"])
    # assert
    by_field = {d.field: d.tolerance for d in decision.fields}
    assert by_field == {"revenue": 0.5, "sector": None}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("transform: token\n        tolerance: 1", "does not release numbers"),
        ("transform: {type: bucket, width: 10, output: label}\n        tolerance: 1", "numbers"),
        ("transform: keep\n        tolerance: -1", r"tolerance: must be > 0"),
        ("transform: keep\n        tolerance: yes", r"tolerance: must be a number"),
    ],
)
def test_a_tolerance_where_no_number_leaves_is_refused(
    tmp_path: Path, rule: str, message: str
) -> None:
    anchor = "    rules:\n"
    text = MINIMAL.replace(
        anchor,
        anchor + "      - fields: [phone]\n        to: {roles: [bank]}\n"
        f"        purposes: [release]\n        {rule}\n",
    )
    with pytest.raises(PolicyFileError, match=message):
        load_policy(write_policy(tmp_path, text))


def test_the_shipped_government_policy_gives_release_tolerances() -> None:
    root = Path(__file__).resolve().parents[3] / "policies" / "government.yaml"
    rules = load_policy(root).datasets["government"].rules
    tolerances = {f: r.tolerance for r in rules for f in r.fields if r.tolerance is not None}
    assert tolerances == {
        "tax_growth_12m": 0.001,
        "electricity_growth_12m": 0.001,
        "electricity_kwh_12m": 100.0,
    }
