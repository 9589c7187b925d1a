"""The ``scoring:`` section of a node's configuration, validated once at start-up.

Holders say which dataset answers, which coded flags they publish (a rule over one of their
columns, never its value), how their features map to reason categories, and their daily caps.
The bank names its decision-policy file. Every key has a safe default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from node.scoring.exceptions import ScoringError

_FLAG_RULE: Final = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*(-?[0-9.]+)\s*$"
)
_CODE: Final = re.compile(r"^[A-Z][A-Z0-9-]{1,40}$")
ROLE_PREFIX: Final = {"government": "GOV", "third_party": "TP", "bank": "BANK"}
# A firm scored more than this many times a day (by all banks together) is being watched,
# not lent to; a bank asking for more firms a day than this is mining the holder.
DEFAULT_PER_FIRM_PER_DAY: Final = 20
DEFAULT_PER_BANK_PER_DAY: Final = 1_000_000


@dataclass(frozen=True)
class FlagRule:
    """A coded flag: raised when ``column op threshold`` holds for the firm."""

    code: str
    column: str
    op: str
    threshold: float

    def holds(self, column: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Whether the rule holds for each value (a missing value never raises the flag)."""
        with np.errstate(invalid="ignore"):
            result: NDArray[np.bool_] = _OPS[self.op](column, self.threshold)
        return result


_OPS: Final = {
    ">=": np.greater_equal,
    "<=": np.less_equal,
    ">": np.greater,
    "<": np.less,
    "==": np.equal,
    "!=": np.not_equal,
}


def parse_flag_rules(raw: Mapping[str, Any] | None, where: str) -> tuple[FlagRule, ...]:
    """``CODE: "column >= number"`` rules (scoring and monitoring flags share the form).

    Raises
    ------
    ScoringError
        A code is not upper-case or a rule does not parse.
    """
    flags = []
    for code, rule in dict(raw or {}).items():
        match = _FLAG_RULE.match(str(rule))
        if not _CODE.match(str(code)) or match is None:
            raise ScoringError(
                f"{where}.{code}: write CODE: 'column >= number' with an upper-case code"
            )
        flags.append(FlagRule(str(code), match[1], match[2], float(match[3])))
    return tuple(flags)


@dataclass(frozen=True)
class ScoringConfig:
    """A node's scoring settings (``scoring:`` in its config)."""

    dataset: str | None = None
    prefix: str = ""
    flags: tuple[FlagRule, ...] = ()
    categories: Mapping[str, str] = field(default_factory=dict)  # feature prefix -> category
    per_bank_per_day: int = DEFAULT_PER_BANK_PER_DAY
    per_firm_per_day: int = DEFAULT_PER_FIRM_PER_DAY
    decision_policy: Path | None = None
    workers: int = 2


def parse_scoring_config(raw: Mapping[str, Any] | None, role: str, base: Path) -> ScoringConfig:
    """Validate the ``scoring:`` mapping (``None``: every default).

    Raises
    ------
    ScoringError
        A key is unknown, mistyped, or a flag rule does not parse.
    """
    raw = raw or {}
    known = {
        "dataset",
        "reason_prefix",
        "flags",
        "reasons",
        "caps",
        "decision_policy",
        "workers",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ScoringError(f"scoring.{unknown[0]}: unknown key (known: {', '.join(sorted(known))})")
    flags = parse_flag_rules(raw.get("flags"), "scoring.flags")
    caps = dict(raw.get("caps") or {})
    per_bank = int(caps.get("per_bank_per_day", DEFAULT_PER_BANK_PER_DAY))
    per_firm = int(caps.get("per_firm_per_day", DEFAULT_PER_FIRM_PER_DAY))
    if per_bank <= 0 or per_firm <= 0:
        raise ScoringError("scoring.caps: per_bank_per_day and per_firm_per_day must be positive")
    policy = raw.get("decision_policy")
    policy_path = None
    if policy:
        policy_path = Path(str(policy))
        policy_path = policy_path if policy_path.is_absolute() else (base / policy_path).resolve()
    categories = {str(k): str(v).upper() for k, v in dict(raw.get("reasons") or {}).items()}
    workers = int(raw.get("workers", 2))
    if not 1 <= workers <= 32:
        raise ScoringError("scoring.workers: must be between 1 and 32")
    return ScoringConfig(
        dataset=str(raw["dataset"]) if raw.get("dataset") else None,
        prefix=str(raw.get("reason_prefix") or ROLE_PREFIX.get(role, role.upper())),
        flags=flags,
        categories=categories,
        per_bank_per_day=per_bank,
        per_firm_per_day=per_firm,
        decision_policy=policy_path,
        workers=workers,
    )


def category(config: ScoringConfig, feature: str) -> str:
    """The reason category of ``feature``: the longest configured prefix, else its first word."""
    best = ""
    for prefix in config.categories:
        if feature.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    name = config.categories[best] if best else feature.split("_", 1)[0].upper()
    return f"{config.prefix}-{name}"
