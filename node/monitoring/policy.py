"""The bank's monitoring policy: warning levels, IFRS 9 and classification rules, feed limits.

A YAML file (``policies/monitoring/sme-watch.yaml``) parsed once into a frozen object; its
version is the SHA-256 of the text, named in every refresh. It is read like every file format
(``node.validation``): the models below say every key, unknown keys are refused and every
error names the file, the key and the fix (docs/early-warning.md explains the rules; the
generated docs/reference/monitoring-policy.md lists the keys).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

import yaml
from pydantic import Field, field_validator, model_validator

from node.monitoring.exceptions import MonitoringPolicyError
from node.validation import FileModel, FormatVersion, Invalid, OneOf, validate

MARKER: Final = "fedcredit_monitoring_policy"
FORMAT_VERSION: Final = 1
LEVELS: Final = ("green", "yellow", "orange", "red")
CATEGORIES: Final = ("normal", "special_mention", "substandard", "doubtful", "loss")
_CODE: Final = re.compile(r"^[A-Z][A-Z0-9-]{1,40}$")

Level = Annotated[str, OneOf(LEVELS)]
Share = Annotated[float, Field(ge=0, le=1)]
Days = Annotated[int, Field(ge=1, le=10_000)]


class LevelsFile(FileModel):
    """The model's PD from which a borrower is at least this level."""

    yellow_from_pd: Share = Field(examples=[0.06], description="PD from which yellow.")
    orange_from_pd: Share = Field(examples=[0.18], description="PD from which orange.")
    red_from_pd: Share = Field(examples=[0.35], description="PD from which red.")

    @model_validator(mode="after")
    def _ordered(self) -> LevelsFile:
        if not self.yellow_from_pd <= self.orange_from_pd <= self.red_from_pd:
            raise Invalid("yellow <= orange <= red is required", "order the three thresholds")
        return self


class SicrFile(FileModel):
    """IFRS 9 significant increase in credit risk: PD multiplied since origination, and high."""

    pd_multiple: float = Field(
        ge=1, le=100, examples=[2.0], description="PD at least this multiple of the first one."
    )
    min_pd: Share = Field(examples=[0.05], description="... and at least this high.")
    level: Level = Field("orange", description="The level a significant increase gives.")


class BackstopFile(FileModel):
    """The bank's own overdue backstop."""

    dpd: Days = Field(examples=[30], description="Days past due from which it applies.")
    level: Level = Field("red", description="The level it gives.")


class CategoryLevelsFile(FileModel):
    """The warning level of each loan category."""

    normal: Level = "green"
    special_mention: Level = "green"
    substandard: Level = "green"
    doubtful: Level = "green"
    loss: Level = "green"


class ClassificationFile(FileModel):
    """Five-category loan classification from days past due."""

    special_mention_from_dpd: Days = Field(examples=[1], description="Days from special mention.")
    substandard_from_dpd: Days = Field(examples=[91], description="Days from substandard.")
    doubtful_from_dpd: Days = Field(examples=[181], description="Days from doubtful.")
    loss_from_dpd: Days = Field(examples=[361], description="Days from loss.")
    levels: CategoryLevelsFile = Field(default_factory=CategoryLevelsFile)

    def bounds(self) -> tuple[int, int, int, int]:
        return (
            self.special_mention_from_dpd,
            self.substandard_from_dpd,
            self.doubtful_from_dpd,
            self.loss_from_dpd,
        )

    @model_validator(mode="after")
    def _increasing(self) -> ClassificationFile:
        if list(self.bounds()) != sorted(self.bounds()):
            raise Invalid("day thresholds must increase", "order them by category")
        return self


class DriftFile(FileModel):
    """Population drift of the model's inputs that warns, and that alerts."""

    watch: float = Field(0.10, ge=0, description="Drift from which to watch.")
    alert: float = Field(0.25, ge=0, description="Drift from which to alert.")


class FeedFile(FileModel):
    """Per-holder data quality; any breach is an alert."""

    stale_months: int = Field(
        1, ge=0, description="Latest month this far behind the refresh month or more."
    )
    missing_share: Share = Field(
        0.20, description="Share of matched borrowers without a record that month."
    )
    unmatched_share: Share = Field(0.60, description="Share of the book the holder does not know.")
    unmatched_jump: Share = Field(
        0.10, description="Change of that share since the previous refresh."
    )


class MonitoringPolicyFile(FileModel):
    """A monitoring policy: warning levels, IFRS 9 and classification rules, feed limits."""

    fedcredit_monitoring_policy: Annotated[int, FormatVersion(MARKER, FORMAT_VERSION)] = Field(
        examples=[FORMAT_VERSION], description="The format version."
    )
    name: str = Field("monitoring", min_length=1, description="The policy's name.")
    description: str | None = Field(None, description="What the policy is for.")
    model: str = Field(
        min_length=1,
        examples=["sme-ew"],
        description="Registry name of the deployed early-warning model.",
    )
    holders: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="Node ids of the holders asked."
    )
    deadline_ms: int = Field(
        60_000,
        ge=100,
        le=600_000,
        description="Per holder and chunk of the book; a later answer is a feed gap.",
    )
    levels: LevelsFile
    sicr: SicrFile
    backstop: BackstopFile
    days_past_due: str = Field(
        "overdue_days__now",
        min_length=1,
        description="The bank's own signal holding days past due.",
    )
    classification: ClassificationFile
    flags: dict[str, Level] = Field(
        default_factory=dict, description="Coded flags holders publish, and their level."
    )
    soft_flags: list[str] = Field(
        default_factory=list,
        description="Flags (named under `flags`) that compete by PD for the list's room.",
    )
    release_after: int = Field(
        3, ge=1, le=24, description="Refreshes below its level before a borrower steps down."
    )
    capacity: float = Field(
        0.10, gt=0, le=1, description="The list's largest share of the book (model entries)."
    )
    drift: DriftFile = Field(default_factory=DriftFile)
    feed: FeedFile = Field(default_factory=FeedFile)

    @field_validator("flags")
    @classmethod
    def _codes(cls, value: dict[str, str]) -> dict[str, str]:
        for code in value:
            if not _CODE.match(code):
                raise Invalid("codes are upper-case words", "e.g. GOV-TAX-ARREARS", key=code)
        return value

    @model_validator(mode="after")
    def _soft_flags_known(self) -> MonitoringPolicyFile:
        if not set(self.soft_flags) <= set(self.flags):
            raise Invalid(
                "must list codes named under flags",
                "name the flag under flags or remove it here",
                key="soft_flags",
            )
        return self


@dataclass(frozen=True)
class FeedLimits:
    """When a holder's feed is unhealthy (each breach is a data-quality alert)."""

    stale_months: int = 1
    missing_share: float = 0.20
    unmatched_share: float = 0.60
    unmatched_jump: float = 0.10


@dataclass(frozen=True)
class MonitoringPolicy:
    """A parsed monitoring policy. Levels are indexes into ``LEVELS`` (0 green .. 3 red)."""

    name: str
    version: str
    text: str
    model: str
    holders: tuple[str, ...]
    deadline_ms: int
    pd_levels: tuple[float, float, float]  # yellow, orange, red
    sicr_multiple: float
    sicr_min_pd: float
    sicr_level: int
    backstop_dpd: int
    backstop_level: int
    dpd_signal: str
    category_from_dpd: tuple[int, int, int, int]  # special mention, substandard, doubtful, loss
    category_levels: tuple[int, int, int, int, int]  # per CATEGORIES
    flags: Mapping[str, int]
    release_after: int
    capacity: float  # the watch list's largest share of the book (model-driven entries)
    drift_watch: float
    drift_alert: float
    feed: FeedLimits
    # flags that compete by PD for the list's room instead of always listing (their track
    # record at the bank does not bear out their level; docs/early-warning.md)
    soft_flags: frozenset[str] = frozenset()


def parse_monitoring_policy(text: str, source: str = "monitoring policy") -> MonitoringPolicy:
    """Validate a monitoring policy's text.

    Raises
    ------
    MonitoringPolicyError
        Not YAML, the wrong format marker, an unknown or missing key, or a value out of range.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        raise MonitoringPolicyError(
            source, "is not valid YAML", fix="check indentation, colons and brackets"
        ) from None
    spec = validate(MonitoringPolicyFile, raw, source=source, error=MonitoringPolicyError)
    lv, cls = spec.levels, spec.classification
    cat = cls.levels
    return MonitoringPolicy(
        name=spec.name,
        version=hashlib.sha256(text.encode()).hexdigest(),
        text=text,
        model=spec.model,
        holders=tuple(spec.holders),
        deadline_ms=spec.deadline_ms,
        pd_levels=(lv.yellow_from_pd, lv.orange_from_pd, lv.red_from_pd),
        sicr_multiple=spec.sicr.pd_multiple,
        sicr_min_pd=spec.sicr.min_pd,
        sicr_level=LEVELS.index(spec.sicr.level),
        backstop_dpd=spec.backstop.dpd,
        backstop_level=LEVELS.index(spec.backstop.level),
        dpd_signal=spec.days_past_due,
        category_from_dpd=cls.bounds(),
        category_levels=(
            LEVELS.index(cat.normal),
            LEVELS.index(cat.special_mention),
            LEVELS.index(cat.substandard),
            LEVELS.index(cat.doubtful),
            LEVELS.index(cat.loss),
        ),
        flags={code: LEVELS.index(level) for code, level in spec.flags.items()},
        release_after=spec.release_after,
        capacity=spec.capacity,
        drift_watch=spec.drift.watch,
        drift_alert=spec.drift.alert,
        feed=FeedLimits(
            stale_months=spec.feed.stale_months,
            missing_share=spec.feed.missing_share,
            unmatched_share=spec.feed.unmatched_share,
            unmatched_jump=spec.feed.unmatched_jump,
        ),
        soft_flags=frozenset(spec.soft_flags),
    )


def load_monitoring_policy(path: Path) -> MonitoringPolicy:
    """Read and validate a monitoring policy file.

    Raises
    ------
    MonitoringPolicyError
        The file cannot be read or is invalid.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise MonitoringPolicyError(
            str(path), f"cannot be read: {exc.strerror}", fix="check the path and its permissions"
        ) from None
    return parse_monitoring_policy(text, str(path))
