"""Decision policies: versioned YAML saying how a probability of default becomes a decision.

Validated once at load, like every file format (``node.validation``): the models below say
every key, unknown keys are refused (a typo must not silently change credit decisions), and
the error names the file, the key and the fix. The version is the SHA-256 of the file's bytes;
every decision record names it and the bank keeps each version's text, so a decision can be
replayed under the policy that made it. Reference: docs/scoring.md and the generated
docs/reference/decision-policy.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

import yaml
from pydantic import Field, field_validator, model_validator

from node.scoring.exceptions import DecisionPolicyError
from node.training.vertical.scorecard import ScorecardScaling
from node.training.vertical.spec import ScorecardFile
from node.validation import FileModel, FormatVersion, Invalid, OneOf, validate

MARKER: Final = "fedcredit_decision_policy"
FORMAT_VERSION: Final = 1
ACTIONS: Final = ("approve", "refer", "decline")
GAP_ACTIONS: Final = ("neutral", "refer", "decline")
GAPS: Final = ("no_record", "offline", "deadline", "unauthorized", "refused")
# A call deciding a chunk of a file or book waits this long for the holders (per chunk).
DEFAULT_BATCH_DEADLINE_MS: Final = 30_000

Probability = Annotated[float, Field(gt=0, le=1)]
GapAction = Annotated[str, OneOf(GAP_ACTIONS)]


class CutoffsFile(FileModel):
    """PD cut-offs: approve below the first, decline from the second, refer in between."""

    approve_below_pd: Probability = Field(examples=[0.06], description="PD below which to approve.")
    decline_from_pd: Probability = Field(examples=[0.20], description="PD from which to decline.")

    @model_validator(mode="after")
    def _ordered(self) -> CutoffsFile:
        if self.approve_below_pd > self.decline_from_pd:
            raise Invalid(
                "approve_below_pd must not exceed decline_from_pd",
                "lower approve_below_pd or raise decline_from_pd",
            )
        return self


class KnockoutFile(FileModel):
    """A coded flag a holder publishes that refers or declines whatever the PD."""

    flag: str = Field(min_length=1, examples=["GOV-TAX-ARREARS"], description="The flag code.")
    action: Annotated[str, OneOf(("refer", "decline"))] = Field(
        examples=["refer"], description="What the flag does to the decision."
    )


class BandFile(FileModel):
    """Limit and price of the firms with `pd < pd_below` (the first band that fits)."""

    pd_below: Probability = Field(examples=[0.06], description="Upper PD bound (exclusive).")
    limit: float = Field(ge=0, examples=[1500000], description="Largest loan in the band.")
    price_band: str = Field(min_length=1, examples=["B"], description="The band's price name.")
    rate_bp: int = Field(ge=0, examples=[520], description="Rate in basis points.")


class MissingFile(FileModel):
    """What a gap (a holder that cannot answer) does: score neutrally, refer, or decline."""

    no_record: GapAction = Field("refer", description="The firm is unknown at the holder.")
    offline: GapAction = Field("refer", description="The holder cannot be reached.")
    deadline: GapAction = Field("refer", description="The holder answered after `deadline_ms`.")
    unauthorized: GapAction = Field(
        "refer", description="The firm's authorization does not cover this use there."
    )
    refused: GapAction = Field("refer", description="A cap or the holder's policy refused.")


class DecisionPolicyFile(FileModel):
    """A decision policy: the model, the holders asked, cut-offs, bands and gap handling."""

    fedcredit_decision_policy: Annotated[
        int, FormatVersion(MARKER, FORMAT_VERSION, "the decision-policy format")
    ] = Field(examples=[FORMAT_VERSION], description="The format version.")
    name: str = Field(min_length=1, examples=["sme-standard"], description="The policy's name.")
    description: str | None = Field(None, description="What the policy is for.")
    model: str = Field(
        min_length=1, examples=["sme-pd"], description="Registry name of the deployed model."
    )
    holders: list[str] = Field(
        examples=[["government", "third_party"]], description="Node ids of the holders asked."
    )
    deadline_ms: int = Field(
        ge=10, le=60_000, examples=[300], description="Per holder; a later answer is a gap."
    )
    batch_deadline_ms: int = Field(
        DEFAULT_BATCH_DEADLINE_MS,
        le=60_000,
        description="The same for a chunk of a file or book; at least `deadline_ms`.",
    )
    cutoffs: CutoffsFile
    scorecard: ScorecardFile
    knockouts: list[KnockoutFile] = Field(default_factory=list)
    bands: list[BandFile] = Field(min_length=1)
    exposure_limit: float = Field(
        gt=0, examples=[5000000], description="No single firm above this, whatever its band."
    )
    missing: MissingFile

    @field_validator("holders")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if not all(value) or len(set(value)) != len(value):
            raise Invalid("must list distinct node ids", "name each holder once")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DecisionPolicyFile:
        if self.batch_deadline_ms < self.deadline_ms:
            raise Invalid(
                "must not be below deadline_ms",
                f"e.g. {DEFAULT_BATCH_DEADLINE_MS}",
                key="batch_deadline_ms",
            )
        bounds = [b.pd_below for b in self.bands]
        if bounds != sorted(set(bounds)) or bounds[-1] != 1:
            raise Invalid(
                "pd_below must increase strictly and the last band must be 1.0",
                "order the bands by pd_below and end with pd_below: 1.0",
                key="bands",
            )
        return self


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
        raise DecisionPolicyError(
            source, "is not valid YAML", fix="check indentation, colons and brackets"
        ) from None
    spec = validate(DecisionPolicyFile, raw, source=source, error=DecisionPolicyError)
    cut = spec.cutoffs
    return DecisionPolicy(
        name=spec.name,
        version=hashlib.sha256(text.encode()).hexdigest(),
        text=text,
        model=spec.model,
        holders=tuple(spec.holders),
        deadline_ms=spec.deadline_ms,
        batch_deadline_ms=spec.batch_deadline_ms,
        approve_below=cut.approve_below_pd,
        decline_from=cut.decline_from_pd,
        scorecard=spec.scorecard.to_scaling(),
        knockouts=tuple((k.flag, k.action) for k in spec.knockouts),
        bands=tuple(Band(b.pd_below, b.limit, b.price_band, b.rate_bp) for b in spec.bands),
        exposure_limit=spec.exposure_limit,
        missing={gap: getattr(spec.missing, gap) for gap in GAPS},
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
        raise DecisionPolicyError(
            str(path), f"cannot be read: {exc.strerror}", fix="check the path and its permissions"
        ) from None
    return parse_decision_policy(text, str(path))


def changed_settings(before: DecisionPolicy, after: DecisionPolicy) -> list[str]:
    """The top-level keys whose setting differs between two policies (sorted): the file's own
    key names (``cutoffs``, ``model``, ``bands`` ...), never a value. Defaults count as set, so
    writing out a default is no change."""
    old, new = _settings(before), _settings(after)
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))


def _settings(policy: DecisionPolicy) -> dict[str, object]:
    raw = yaml.safe_load(policy.text)
    return validate(
        DecisionPolicyFile, raw, source="decision policy", error=DecisionPolicyError
    ).model_dump()
