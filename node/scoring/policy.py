"""Decision policies: versioned YAML saying how a probability of default becomes a decision.

Validated once at load, like masking policies: every key is checked, unknown keys are
refused (a typo must not silently change credit decisions), and the error names the key and
the fix. The version is the SHA-256 of the file's bytes; every decision record names it and the
bank keeps each version's text, so a decision can be replayed under the policy that made it.
Reference: docs/scoring.md.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from node.jobs.exceptions import JobSpecError
from node.scoring.exceptions import DecisionPolicyError
from node.training.vertical.scorecard import ScorecardScaling

MARKER: Final = "fedcredit_decision_policy"
ACTIONS: Final = ("approve", "refer", "decline")
GAP_ACTIONS: Final = ("neutral", "refer", "decline")
GAPS: Final = ("no_record", "offline", "deadline", "unauthorized", "refused")
# A call deciding a chunk of a file or book waits this long for the holders (per chunk).
DEFAULT_BATCH_DEADLINE_MS: Final = 30_000
_TOP: Final = frozenset(
    {
        MARKER,
        "name",
        "description",
        "model",
        "holders",
        "deadline_ms",
        "batch_deadline_ms",
        "cutoffs",
        "scorecard",
        "knockouts",
        "bands",
        "exposure_limit",
        "missing",
    }
)


_KIND_NAMES: Final[dict[type, str]] = {
    int: "a whole number",
    float: "a number",
    str: "text",
    list: "a list ([a, b])",
    Mapping: "a mapping (key: value lines)",
}


@dataclass(frozen=True)
class Band:
    """Firms with ``pd < pd_below`` (the first band that fits) get this limit and price."""

    pd_below: float
    limit: float
    price_band: str
    rate_bp: int


@dataclass(frozen=True)
class DecisionPolicy:
    """A loaded decision policy (see docs/scoring.md for every key)."""

    name: str
    version: str
    text: str
    model: str
    holders: tuple[str, ...]
    deadline_ms: int
    batch_deadline_ms: int
    approve_below: float
    decline_from: float
    scorecard: ScorecardScaling
    knockouts: tuple[tuple[str, str], ...]  # (flag code, action)
    bands: tuple[Band, ...]
    exposure_limit: float
    missing: Mapping[str, str]  # gap kind -> neutral | refer | decline

    def band(self, pd_value: float) -> Band:
        for band in self.bands:
            if pd_value < band.pd_below:
                return band
        return self.bands[-1]


def _get(
    raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...], src: str, where: str = ""
) -> Any:
    name = f"{where}{key}"
    if key not in raw:
        raise DecisionPolicyError(src, name, "is required")
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        kinds = (kind,) if isinstance(kind, type) else kind
        want = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
        raise DecisionPolicyError(src, name, f"must be {want}, got {value!r}")
    return value


def _probability(value: Any, src: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecisionPolicyError(src, key, "must be a number between 0 and 1")
    p = float(value)
    if not 0.0 < p <= 1.0 or math.isnan(p):
        raise DecisionPolicyError(src, key, f"must be in (0, 1], got {value}")
    return p


def parse_decision_policy(text: str, source: str = "decision policy") -> DecisionPolicy:
    """Validate a decision policy's YAML text.

    Raises
    ------
    DecisionPolicyError
        Not YAML, a key missing, unknown, mistyped or out of range; names the key and the fix.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        raise DecisionPolicyError(source, "(file)", "is not valid YAML") from None
    if not isinstance(raw, Mapping):
        raise DecisionPolicyError(source, "(file)", "must be a YAML mapping")
    if raw.get(MARKER) != 1:
        raise DecisionPolicyError(source, MARKER, "must be 1 (the decision-policy format)")
    unknown = sorted(set(map(str, raw)) - _TOP)
    if unknown:
        raise DecisionPolicyError(
            source, unknown[0], f"is not a decision-policy key (known: {', '.join(sorted(_TOP))})"
        )
    holders = _get(raw, "holders", list, source)
    if not all(isinstance(h, str) and h for h in holders) or len(set(holders)) != len(holders):
        raise DecisionPolicyError(source, "holders", "must list distinct node ids")
    deadline = _get(raw, "deadline_ms", int, source)
    if not 10 <= deadline <= 60_000:
        raise DecisionPolicyError(source, "deadline_ms", "must be between 10 and 60000 ms")
    batch_deadline = raw.get("batch_deadline_ms", DEFAULT_BATCH_DEADLINE_MS)
    if isinstance(batch_deadline, bool) or not isinstance(batch_deadline, int):
        raise DecisionPolicyError(
            source, "batch_deadline_ms", f"must be a whole number, got {batch_deadline!r}"
        )
    if not deadline <= batch_deadline <= 60_000:
        raise DecisionPolicyError(
            source, "batch_deadline_ms", "must be between deadline_ms and 60000 ms"
        )
    cut = _get(raw, "cutoffs", Mapping, source)
    approve = _probability(cut.get("approve_below_pd"), source, "cutoffs.approve_below_pd")
    decline = _probability(cut.get("decline_from_pd"), source, "cutoffs.decline_from_pd")
    if not approve <= decline:
        raise DecisionPolicyError(
            source, "cutoffs", "approve_below_pd must not exceed decline_from_pd"
        )
    extra = set(cut) - {"approve_below_pd", "decline_from_pd"}
    if extra:
        raise DecisionPolicyError(source, f"cutoffs.{sorted(extra)[0]}", "is not a cutoff key")
    sc = _get(raw, "scorecard", Mapping, source)
    try:
        scaling = ScorecardScaling(
            float(sc.get("base_points", math.nan)),
            float(sc.get("base_odds", math.nan)),
            float(sc.get("points_to_double_odds", math.nan)),
            sc.get("odds", ""),
        )
    except JobSpecError as exc:  # the scaling's own checks, keyed for the job file
        problem = f"{exc.key.rsplit('.', 1)[-1]}: {exc.problem}; {exc.fix}"
        raise DecisionPolicyError(source, "scorecard", problem) from None
    except (TypeError, ValueError) as exc:
        raise DecisionPolicyError(source, "scorecard", str(exc)) from None
    knockouts = []
    for i, ko in enumerate(raw.get("knockouts") or []):
        if not isinstance(ko, Mapping) or set(ko) != {"flag", "action"}:
            raise DecisionPolicyError(
                source, f"knockouts[{i}]", "must be {flag: CODE, action: ...}"
            )
        if ko["action"] not in ("refer", "decline"):
            raise DecisionPolicyError(source, f"knockouts[{i}].action", "must be refer or decline")
        knockouts.append((str(ko["flag"]), str(ko["action"])))
    bands = []
    for i, b in enumerate(_get(raw, "bands", list, source)):
        key = f"bands[{i}]"
        if not isinstance(b, Mapping):
            raise DecisionPolicyError(source, key, "must be a mapping")
        limit = _get(b, "limit", (int, float), source, key + ".")
        rate = _get(b, "rate_bp", int, source, key + ".")
        if limit < 0 or rate < 0:
            raise DecisionPolicyError(source, key, "limit and rate_bp must not be negative")
        bands.append(
            Band(
                _probability(b.get("pd_below"), source, key + ".pd_below"),
                float(limit),
                str(_get(b, "price_band", str, source, key + ".")),
                rate,
            )
        )
    if [b.pd_below for b in bands] != sorted({b.pd_below for b in bands}) or bands[
        -1
    ].pd_below != 1:
        raise DecisionPolicyError(
            source, "bands", "pd_below must increase strictly and the last band must be 1.0"
        )
    exposure = _get(raw, "exposure_limit", (int, float), source)
    if exposure <= 0:
        raise DecisionPolicyError(source, "exposure_limit", "must be positive")
    missing = dict(_get(raw, "missing", Mapping, source))
    for gap in GAPS:
        action = missing.setdefault(gap, "refer")
        if action not in GAP_ACTIONS:
            raise DecisionPolicyError(
                source, f"missing.{gap}", f"must be one of {', '.join(GAP_ACTIONS)}"
            )
    if set(missing) - set(GAPS):
        raise DecisionPolicyError(
            source,
            f"missing.{sorted(set(missing) - set(GAPS))[0]}",
            f"is not a gap kind ({', '.join(GAPS)})",
        )
    return DecisionPolicy(
        name=str(_get(raw, "name", str, source)),
        version=hashlib.sha256(text.encode()).hexdigest(),
        text=text,
        model=str(_get(raw, "model", str, source)),
        holders=tuple(holders),
        deadline_ms=deadline,
        batch_deadline_ms=batch_deadline,
        approve_below=approve,
        decline_from=decline,
        scorecard=scaling,
        knockouts=tuple(knockouts),
        bands=tuple(bands),
        exposure_limit=float(exposure),
        missing=missing,
    )


def load_decision_policy(path: Path) -> DecisionPolicy:
    """Read and validate a decision-policy file.

    Raises
    ------
    DecisionPolicyError
        The file cannot be read, or does not validate.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise DecisionPolicyError(str(path), "(file)", f"cannot be read: {exc.strerror}") from None
    return parse_decision_policy(text, str(path))
