"""The ``secureboost`` section of a job file, parsed once into frozen dataclasses.

Example (every key but the parties' has a default)::

    secureboost:
      label_holder: {party: bank, dataset: loans, id_column: id, label: y, features: [x0, x1]}
      feature_holders:
        - {party: gov, dataset: tax, id_column: id, features: [x0, x1, x2]}
      split: {test_fraction: 0.2, validation_fraction: 0.15, seed: 7}
      model: {trees: 100, max_depth: 5, learning_rate: 0.1, l2: 1.0, min_child_weight: 1.0,
              min_gain: 0.0, subsample: 0.8, colsample: 0.8, bins: 32, bank_only_trees: 0,
              early_stopping: {patience: 10, min_delta: 0.0}}
      encryption: {key_bits: 2048, allow_weak_key: false, plaintext: false, gh_frac_bits: 20}
      timeout_s: 300
      rejoin_wait_s: 600

The party sections have the shape of the ``vertical`` job's (``PartyData``), so a job file can
switch between the two model types by changing its type and section name. Every party's
columns pass that node's policy for purpose ``training`` through ``authorize`` before the spec
exists. See docs/protocols/secureboost.md for what each setting does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, Field, model_validator

from node.crypto.paillier import DEFAULT_KEY_BITS
from node.jobs.exceptions import JobSpecError
from node.training.vertical.spec import (
    HolderFile,
    LabelHolderFile,
    PaillierKeyFile,
    PartyData,
    authorize_columns,
    early_stopping_switch,
)
from node.validation import FileModel, Invalid, OneOf, validate

log = logging.getLogger("fedcredit.training.secureboost")

Authorize = Callable[..., None]
"""``authorize(party, dataset, columns, purpose="training")``: returns, or raises to refuse."""

COORDINATOR: Final = "coordinator"
MAX_DEPTH: Final = 10
"""Node ids travel as ``int16`` (at most ``2**(MAX_DEPTH + 1) - 1`` nodes per tree)."""
MAX_BINS: Final = 255
"""Bin indices are ``uint8`` with one value kept for missing."""


@dataclass(frozen=True)
class SplitSpec:
    """How the aligned rows are divided: a reported test split, a validation split for early
    stopping (distinct from the test split), and the training rest. Both are stratified by
    label and drawn by the label holder from ``seed``, fractions of all aligned rows."""

    test_fraction: float = 0.2
    validation_fraction: float = 0.15
    seed: int = 0


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when validation AUC has not improved by ``min_delta`` for ``patience`` trees; the
    model is then cut back to its best tree count."""

    patience: int = 10
    min_delta: float = 0.0


@dataclass(frozen=True)
class BoostingSpec:
    """Gradient-boosted trees for binary classification (logistic loss).

    The defaults are those of a careful practitioner on data they have not seen: a learning
    rate of 0.1 with early stopping decides the tree count; depth 5 and 32 quantile bins are
    where boosted credit models usually sit; L2 1 and minimum child hessian 1 are XGBoost's
    defaults; row and column subsampling of 0.8 regularize (and cut the per-tree encryption
    work by a fifth).
    """

    trees: int = 100
    max_depth: int = 5
    learning_rate: float = 0.1
    l2: float = 1.0
    min_child_weight: float = 1.0
    min_gain: float = 0.0
    subsample: float = 0.8
    colsample: float = 0.8
    bins: int = 32
    bank_only_trees: int = 0
    early_stopping: EarlyStopping | None = EarlyStopping()


@dataclass(frozen=True)
class EncryptionSpec:
    """Paillier settings; ``plaintext`` runs the insecure twin (benchmarks and tests only).

    ``gh_frac_bits`` is the fixed-point precision of the gradients and hessians (see the bit
    budget in docs/protocols/secureboost.md): 20 bits put the rounding error of a sum of a
    million rows below 0.5, far under anything that changes a split.
    """

    key_bits: int = DEFAULT_KEY_BITS
    allow_weak_key: bool = False
    plaintext: bool = False
    gh_frac_bits: int = 20


@dataclass(frozen=True)
class SecureBoostSpec:
    """Everything every party of one SecureBoost job agrees on (they parse the same file)."""

    label_holder: PartyData
    feature_holders: tuple[PartyData, ...]
    split: SplitSpec = SplitSpec()
    model: BoostingSpec = BoostingSpec()
    encryption: EncryptionSpec = EncryptionSpec()
    timeout_s: float = 300.0
    rejoin_wait_s: float = 600.0

    @property
    def parties(self) -> tuple[str, ...]:
        """Label holder first, then the feature holders in job-file order."""
        return (self.label_holder.party, *(h.party for h in self.feature_holders))

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(h.party for h in self.feature_holders)

    def holder(self, party: str) -> PartyData:
        """The data description of ``party`` (raises ``KeyError`` for a stranger)."""
        for data in (self.label_holder, *self.feature_holders):
            if data.party == party:
                return data
        raise KeyError(party)


# --- the section as written in the job file (docs/reference/secureboost.md is generated
# from these models); ``spec_from_job`` turns it into the dataclasses above -----------------


class SplitFile(FileModel):
    """The reported test split and the early-stopping validation split (fractions of all rows)."""

    test_fraction: float = Field(SplitSpec.test_fraction, ge=0.05, le=0.5)
    validation_fraction: float = Field(SplitSpec.validation_fraction, ge=0.05, le=0.5)
    seed: int = Field(SplitSpec.seed, description="Seed of the stratified split.")

    @model_validator(mode="after")
    def _training_keeps_rows(self) -> SplitFile:
        if self.test_fraction + self.validation_fraction > 0.6:
            raise Invalid("test and validation take more than 60% of the rows", "e.g. 0.2 and 0.15")
        return self


class EarlyStoppingFile(FileModel):
    """Stop when validation AUC has not improved by `min_delta` for `patience` trees."""

    patience: int = Field(EarlyStopping.patience, ge=1, description="Trees without gain.")
    min_delta: float = Field(EarlyStopping.min_delta, ge=0, description="Smallest gain.")


class BoostingFile(FileModel):
    """Gradient-boosted trees for binary classification (logistic loss)."""

    type: Annotated[str, OneOf(("gradient_boosted_trees",))] = Field(
        "gradient_boosted_trees", description="The model; the only one of this job type."
    )
    trees: int = Field(BoostingSpec.trees, ge=1, le=10_000, description="At most this many.")
    max_depth: int = Field(BoostingSpec.max_depth, ge=1, le=MAX_DEPTH)
    learning_rate: float = Field(BoostingSpec.learning_rate, ge=1e-4, le=1.0)
    l2: float = Field(BoostingSpec.l2, ge=0.0, le=1e6, description="L2 on leaf weights.")
    min_child_weight: float = Field(
        BoostingSpec.min_child_weight, ge=0.0, le=1e6, description="Least hessian in a child."
    )
    min_gain: float = Field(BoostingSpec.min_gain, ge=0.0, le=1e6)
    subsample: float = Field(BoostingSpec.subsample, ge=0.05, le=1.0, description="Rows a tree.")
    colsample: float = Field(BoostingSpec.colsample, ge=0.05, le=1.0, description="Columns a tree.")
    bins: int = Field(BoostingSpec.bins, ge=2, le=MAX_BINS, description="Quantile bins.")
    bank_only_trees: int = Field(
        BoostingSpec.bank_only_trees,
        ge=0,
        description="First trees grown on the label holder's features alone; fewer than `trees`.",
    )
    early_stopping: Annotated[EarlyStoppingFile | None, BeforeValidator(early_stopping_switch)] = (
        Field(EarlyStoppingFile(), description="`{patience, min_delta}`; `false` disables it.")
    )

    @model_validator(mode="after")
    def _some_trees_are_joint(self) -> BoostingFile:
        if self.bank_only_trees >= self.trees:
            raise Invalid(
                f"must be below trees ({self.trees})", "e.g. 0 or 1", key="bank_only_trees"
            )
        return self

    def to_spec(self) -> BoostingSpec:
        stop = self.early_stopping
        values = self.model_dump(exclude={"type", "early_stopping"})
        return BoostingSpec(
            **values,
            early_stopping=EarlyStopping(stop.patience, stop.min_delta) if stop else None,
        )


class EncryptionFile(PaillierKeyFile):
    """Paillier settings; `plaintext` runs the insecure twin (benchmarks and tests only)."""

    gh_frac_bits: int = Field(
        EncryptionSpec.gh_frac_bits,
        ge=8,
        le=30,
        description="Fixed-point bits of gradients and hessians.",
    )


class SecureBoostFile(FileModel):
    """The `secureboost` section of a `secureboost` job file."""

    label_holder: LabelHolderFile
    feature_holders: list[HolderFile] = Field(
        min_length=1, description="The parties that bring features only, at least one."
    )
    split: SplitFile = SplitFile()
    model: BoostingFile = BoostingFile()
    encryption: EncryptionFile = EncryptionFile()
    timeout_s: float = Field(300.0, gt=0, description="Seconds to wait for any one message.")
    rejoin_wait_s: float = Field(
        600.0, ge=0, description="Seconds to wait for a feature holder that left to rejoin."
    )

    @model_validator(mode="after")
    def _consistent(self) -> SecureBoostFile:
        names = [self.label_holder.party, *(h.party for h in self.feature_holders)]
        if len(set(names)) != len(names):
            raise Invalid("a party is listed twice", "list each once", key="feature_holders")
        if self.model.bank_only_trees and not self.label_holder.features:
            raise Invalid(
                "the label holder has no features", "set it to 0", key="model.bank_only_trees"
            )
        return self


def spec_from_job(section: Mapping[str, Any], authorize: Authorize) -> SecureBoostSpec:
    """Parse the ``secureboost`` section and check every party's columns against its policy.

    Parameters
    ----------
    section:
        The mapping under ``secureboost`` in the job file.
    authorize:
        ``authorize(party, dataset, columns, purpose="training")``; must raise to refuse.

    Raises
    ------
    JobSpecError
        A key is missing, unknown, of the wrong type or out of range.
    JobRefused
        A party's policy refused its columns for training.
    """
    raw = validate(
        SecureBoostFile, section, source="job file", key="secureboost", error=JobSpecError
    )
    spec = SecureBoostSpec(
        raw.label_holder.to_party(),
        tuple(h.to_party() for h in raw.feature_holders),
        SplitSpec(**raw.split.model_dump()),
        raw.model.to_spec(),
        EncryptionSpec(**raw.encryption.model_dump()),
        raw.timeout_s,
        raw.rejoin_wait_s,
    )
    raw.encryption.warn_if_weak(log, "secureboost", "gradients and histograms")
    authorize_columns((spec.label_holder, *spec.feature_holders), authorize)
    return spec
