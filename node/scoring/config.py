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
from typing import Annotated, Any, Final

import numpy as np
from numpy.typing import NDArray
from pydantic import AfterValidator, Field

from node.scoring.exceptions import ScoringError
from node.validation import FileModel, Invalid

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


def flag_rule(code: str, rule: object) -> FlagRule:
    """One ``CODE: "column >= number"`` flag.

    Raises
    ------
    node.validation.Invalid
        The code is not upper-case or the rule does not parse (``key`` is the code).
    """
    match = _FLAG_RULE.match(str(rule))
    if not _CODE.match(code) or match is None:
        raise Invalid(
            "write CODE: 'column >= number' with an upper-case code",
            "e.g. GOV-TAX-ARREARS: 'tax_arrears_months >= 3'",
            key=code,
        )
    return FlagRule(code, match[1], match[2], float(match[3]))


def parse_flag_rules(raw: Mapping[str, Any] | None, where: str) -> tuple[FlagRule, ...]:
    """``CODE: "column >= number"`` rules (scoring and monitoring flags share the form).

    Raises
    ------
    ScoringError
        A code is not upper-case or a rule does not parse.
    """
    try:
        return tuple(flag_rule(str(code), rule) for code, rule in dict(raw or {}).items())
    except Invalid as exc:
        raise ScoringError(f"{where}.{exc.key}: {exc.problem}") from None


def _flags(value: dict[str, str]) -> dict[str, str]:
    """``AfterValidator`` of a ``flags:`` mapping: every rule parses."""
    for code, rule in value.items():
        flag_rule(code, rule)
    return value


Flags = Annotated[dict[str, str], AfterValidator(_flags)]


class CapsFile(FileModel):
    """Daily caps a holder enforces on what banks ask of it."""

    per_bank_per_day: int = Field(
        DEFAULT_PER_BANK_PER_DAY, gt=0, description="Firms one bank may have scored a day."
    )
    per_firm_per_day: int = Field(
        DEFAULT_PER_FIRM_PER_DAY,
        gt=0,
        description="Times one firm may be scored a day, all banks together (watching, "
        "not lending, beyond it).",
    )


class ScoringFile(FileModel):
    """The bank's scoring service and what each holder answers (docs/scoring.md)."""

    dataset: str | None = Field(None, description="The dataset a holder answers from.")
    reason_prefix: str | None = Field(
        None, description="Prefix of reason codes; default from the role (GOV, TP, BANK)."
    )
    flags: Flags = Field(
        default_factory=dict,
        description="Coded flags `CODE: 'column >= number'`; only the code leaves.",
    )
    reasons: dict[str, str] = Field(
        default_factory=dict, description="Feature prefix to reason category."
    )
    caps: CapsFile = CapsFile()
    decision_policy: str | None = Field(
        None, description="The bank's decision-policy file (docs/scoring.md)."
    )
    workers: int = Field(2, ge=1, le=32, description="Threads answering score requests.")


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


def parse_scoring_config(section: ScoringFile | None, role: str) -> ScoringConfig:
    """The scoring settings from the validated ``scoring:`` section (``None``: every default).

    ``decision_policy`` is used as it is: the configuration's reader resolved it.
    """
    section = section or ScoringFile()
    return ScoringConfig(
        dataset=section.dataset or None,
        prefix=section.reason_prefix or ROLE_PREFIX.get(role, role.upper()),
        flags=parse_flag_rules(section.flags, "scoring.flags"),
        categories={k: v.upper() for k, v in section.reasons.items()},
        per_bank_per_day=section.caps.per_bank_per_day,
        per_firm_per_day=section.caps.per_firm_per_day,
        decision_policy=Path(section.decision_policy) if section.decision_policy else None,
        workers=section.workers,
    )


def category(config: ScoringConfig, feature: str) -> str:
    """The reason category of ``feature``: the longest configured prefix, else its first word."""
    best = ""
    for prefix in config.categories:
        if feature.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    name = config.categories[best] if best else feature.split("_", 1)[0].upper()
    return f"{config.prefix}-{name}"
