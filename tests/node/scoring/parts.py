"""Small hand-made model parts and decision policies for unit tests (no training run)."""

from __future__ import annotations

from pathlib import Path

from node.models import LogisticPart, PartInfo
from node.models.transform import FrozenTransform
from node.scoring.policy import DecisionPolicy, parse_decision_policy

POLICY_FILE = Path(__file__).resolve().parents[3] / "policies" / "decision" / "sme-standard.yaml"


def bank_part(
    weights: tuple[float, ...] = (0.8, -0.5, 0.3),
    intercept: float = -2.5,
    job: str = "job-1",
) -> LogisticPart:
    """A bank head over three standardised columns ``a``, ``b``, ``c`` (identity transform)."""
    names = ("a", "b", "c")[: len(weights)]
    info = PartInfo("logistic", job, "bank", "bank", "uscc", names)
    return LogisticPart(info, FrozenTransform.identity(names), weights, intercept, (1.0, 0.0))


def policy(**changes: str) -> DecisionPolicy:
    """The shipped sme-standard policy, with top-level lines replaced (``key="yaml text"``)."""
    text = POLICY_FILE.read_text()
    lines = text.splitlines()
    for key, value in changes.items():
        lines = [f"{key}: {value}" if line.startswith(f"{key}:") else line for line in lines]
    return parse_decision_policy("\n".join(lines) + "\n", "test-policy.yaml")
