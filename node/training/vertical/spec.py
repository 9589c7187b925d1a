"""The ``vertical`` section of a job file, parsed once into frozen dataclasses.

Example (every key but the parties' has a default; ``scorecard`` has none on purpose)::

    vertical:
      label_holder: {party: bank, dataset: loans, id_column: id, label: y, features: [x0, x1]}
      feature_holders:
        - {party: gov, dataset: tax, id_column: id, features: [x0, x1, x2]}
      validation: {fraction: 0.2, test_fraction: 0.2, seed: 7}
      preprocess: robust
      model: {epochs: 50, batch_size: auto, optimizer: adam, learning_rate: 0.05, l2: 0.0,
              tolerance: 0.01, linearization: moment_matched,
              early_stopping: {patience: 5, min_delta: 0.0}}
      calibration: platt
      encryption: {key_bits: 2048, allow_weak_key: false}
      woe: {bins: 10}
      scorecard: {base_points: 600, base_odds: 50, points_to_double_odds: 20, odds: good_to_bad}

Every party's columns pass that node's policy for purpose ``training`` through the
``authorize`` callable before the spec exists: a refused column refuses the whole job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from node.crypto.paillier import DEFAULT_KEY_BITS
from node.jobs.exceptions import JobSpecError
from node.training.preprocess import DEFAULT_MODE, MODES
from node.training.vertical.exceptions import JobRefused
from node.training.vertical.linearization import LINEARIZATIONS
from node.training.vertical.optimizer import OPTIMIZERS
from node.training.vertical.scorecard import ScorecardScaling
from node.validation import FileModel, Invalid, OneOf, validate

log = logging.getLogger("fedcredit.training.vertical")

Authorize = Callable[..., None]
"""``authorize(party, dataset, columns, purpose="training")``: returns, or raises to refuse."""

ARBITER: Final = "coordinator"
MAX_BATCH: Final = 8000
"""One batch of 2048-bit ciphertexts (512 bytes each) must fit one 4 MiB message."""
MIN_BATCH: Final = 64
"""Each party learns its own batch gradient, ``X_p^T d``: ``len(features)`` linear equations in
``batch`` residuals. The batch must be much larger than any party's feature count (at least 4x,
and at least ``MIN_BATCH``) or a feature holder could solve for the residuals, and from them the
labels (see docs/protocols/vertical-lr.md)."""
MIN_WEAK_KEY_BITS: Final = 512
AUTO_BATCH_STEPS: Final = 16
"""With ``batch_size: auto`` an epoch takes about this many steps (batches of ``train_rows /
16``, at most ``AUTO_BATCH_MAX``, at least the security floor): a small data set then gets as
many optimizer steps per epoch as a large one, and converges in as few epochs (each epoch costs
the same per-row cryptography whatever the batch size)."""
AUTO_BATCH_MAX: Final = 1024
CALIBRATIONS: Final = ("platt", "none")


@dataclass(frozen=True)
class PartyData:
    """What one party contributes: its dataset, id column, feature columns, label (bank only)."""

    party: str
    dataset: str
    id_column: str
    features: tuple[str, ...]
    label: str | None = None


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when validation AUC has not improved by ``min_delta`` for ``patience`` epochs.

    Patience 5 because epoch-averaged weights move slowly once near the optimum: a shorter
    patience stopped runs on a flat stretch that later improved (docs/model-quality.md).
    """

    patience: int = 5
    min_delta: float = 0.0


@dataclass(frozen=True)
class ModelSpec:
    """Mini-batch training of the linearised logistic loss (see ``optimizer.py`` and
    ``linearization.py`` for why each default is what it is).

    ``epochs`` is an upper bound: a run ends earlier when the weights have converged (the
    largest change of an epoch's averaged weights below ``tolerance`` times the largest weight,
    as scikit-learn's SAG solver tests convergence) or when early stopping says so.
    """

    epochs: int = 50
    batch_size: int | None = None
    """``None`` is ``auto`` (see ``AUTO_BATCH_STEPS``)."""
    optimizer: str = "adam"
    learning_rate: float = 0.05
    l2: float = 0.0
    tolerance: float = 0.01
    linearization: str = "moment_matched"
    early_stopping: EarlyStopping | None = EarlyStopping()


@dataclass(frozen=True)
class EncryptionSpec:
    """Paillier settings; ``plaintext`` runs the insecure twin (benchmarks and tests only)."""

    key_bits: int = DEFAULT_KEY_BITS
    allow_weak_key: bool = False
    plaintext: bool = False
    residual_frac_bits: int = 24
    feature_frac_bits: int = 8
    slope_frac_bits: int = 10


@dataclass(frozen=True)
class VerticalSpec:
    """Everything every party of one vertical job agrees on (they parse the same job file)."""

    label_holder: PartyData
    feature_holders: tuple[PartyData, ...]
    validation_fraction: float = 0.2
    test_fraction: float = 0.2
    seed: int = 0
    preprocess: str = DEFAULT_MODE
    model: ModelSpec = ModelSpec()
    encryption: EncryptionSpec = EncryptionSpec()
    calibration: str = "platt"
    woe_bins: int | None = None
    scorecard: ScorecardScaling | None = None
    timeout_s: float = 300.0

    @property
    def parties(self) -> tuple[str, ...]:
        """Label holder first, then the feature holders in job-file order."""
        return (self.label_holder.party, *(h.party for h in self.feature_holders))

    @property
    def min_batch(self) -> int:
        """The security floor of a batch: ``max(MIN_BATCH, 4 x the widest party)``."""
        widest = max(
            len(self.label_holder.features) + 1, *(len(h.features) for h in self.feature_holders)
        )
        return max(MIN_BATCH, 4 * widest)

    def batch_rows(self, train_rows: int) -> int:
        """Rows per mini-batch for ``train_rows`` training rows (every party computes the same)."""
        size = self.model.batch_size
        if size is None:
            size = min(AUTO_BATCH_MAX, max(self.min_batch, train_rows // AUTO_BATCH_STEPS))
        return min(size, train_rows)

    def holder(self, party: str) -> PartyData:
        """The data description of ``party`` (raises ``KeyError`` for a stranger)."""
        for data in (self.label_holder, *self.feature_holders):
            if data.party == party:
                return data
        raise KeyError(party)


# --- the section as written in the job file (docs/reference/vertical_lr.md is generated
# from these models); ``spec_from_job`` turns it into the dataclasses above -----------------

Name = Annotated[str, Field(min_length=1)]
"""A party, dataset or column name: non-empty text."""


def _distinct(features: list[str]) -> list[str]:
    if len(set(features)) != len(features):
        raise Invalid("has a repeated name", "list each once")
    return features


class HolderFile(FileModel):
    """One party's data: the dataset, its id column and the feature columns it contributes."""

    party: Name = Field(
        description="The node that holds the data (its id in `parties`).", examples=["gov"]
    )
    dataset: Name = Field(
        description="The dataset's name in that node's configuration.", examples=["tax"]
    )
    id_column: Name = Field(description="The column PSI aligned the rows on.", examples=["id"])
    features: list[Name] = Field(
        min_length=1, description="Feature columns, each once.", examples=[["x0", "x1"]]
    )

    @field_validator("party")
    @classmethod
    def _not_the_coordinator(cls, party: str) -> str:
        if party == ARBITER:
            raise Invalid("the coordinator holds no data", "name a node")
        return party

    @field_validator("features")
    @classmethod
    def _distinct_features(cls, features: list[str]) -> list[str]:
        return _distinct(features)

    def to_party(self) -> PartyData:
        return PartyData(self.party, self.dataset, self.id_column, tuple(self.features))


class LabelHolderFile(HolderFile):
    """The party with the 0/1 default label (usually the bank); it may bring no features."""

    features: list[Name] = Field(
        default_factory=list, description="Feature columns, each once (may be empty)."
    )
    label: Name = Field(description="The 0/1 default column.", examples=["y"])

    @model_validator(mode="after")
    def _label_is_no_feature(self) -> LabelHolderFile:
        if self.label in self.features:
            raise Invalid("is also listed as a feature", "remove it there", key="label")
        return self

    def to_party(self) -> PartyData:
        return PartyData(self.party, self.dataset, self.id_column, tuple(self.features), self.label)


class EarlyStoppingFile(FileModel):
    """Stop when validation AUC has not improved by `min_delta` for `patience` epochs."""

    patience: int = Field(EarlyStopping.patience, ge=1, description="Epochs without gain.")
    min_delta: float = Field(EarlyStopping.min_delta, ge=0, description="Smallest gain.")


def early_stopping_switch(value: object) -> object:
    """``true`` (or an empty key) is the default early stopping, ``false`` none."""
    if value is True or value is None:
        return {}
    return None if value is False else value


class ModelFile(FileModel):
    """Mini-batch training of the linearised logistic loss (see docs/protocols/vertical-lr.md)."""

    type: Annotated[str, OneOf(("logistic_regression",))] = Field(
        "logistic_regression", description="The model; the only one of this job type."
    )
    epochs: int = Field(ModelSpec.epochs, ge=1, description="Upper bound on the epochs.")
    batch_size: Annotated[int, Field(ge=1, le=MAX_BATCH)] | Literal["auto"] = Field(
        "auto",
        description="Rows per batch, or `auto` (about 16 steps an epoch); never below "
        "max(64, 4 x the widest party's columns).",
    )
    optimizer: Annotated[str, OneOf(OPTIMIZERS)] = Field(ModelSpec.optimizer)
    learning_rate: float = Field(ModelSpec.learning_rate, gt=0)
    l2: float = Field(ModelSpec.l2, ge=0, description="L2 penalty on the weights.")
    tolerance: float = Field(
        ModelSpec.tolerance,
        ge=0,
        lt=1,
        description="Converged when the largest change of an epoch's averaged weights is "
        "below this share of the largest weight; 0 disables.",
    )
    linearization: Annotated[str, OneOf(LINEARIZATIONS)] = Field(ModelSpec.linearization)
    early_stopping: Annotated[EarlyStoppingFile | None, BeforeValidator(early_stopping_switch)] = (
        Field(EarlyStoppingFile(), description="`{patience, min_delta}`; `false` disables it.")
    )

    def to_spec(self) -> ModelSpec:
        stop = self.early_stopping
        return ModelSpec(
            epochs=self.epochs,
            batch_size=self.batch_size if isinstance(self.batch_size, int) else None,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            l2=self.l2,
            tolerance=self.tolerance,
            linearization=self.linearization,
            early_stopping=EarlyStopping(stop.patience, stop.min_delta) if stop else None,
        )


class PaillierKeyFile(FileModel):
    """The Paillier key settings every vertical model type shares."""

    key_bits: int = Field(
        DEFAULT_KEY_BITS, description=f"Paillier modulus bits: {DEFAULT_KEY_BITS} or more, even."
    )
    allow_weak_key: bool = Field(
        False, description=f"Accept keys below {DEFAULT_KEY_BITS} bits (tests and demos only)."
    )
    plaintext: bool = Field(
        False, description="Run the insecure twin, in the clear (benchmarks and tests only)."
    )

    @model_validator(mode="after")
    def _key_is_strong(self) -> PaillierKeyFile:
        check_key_bits(self.key_bits, self.allow_weak_key)
        return self

    def warn_if_weak(self, logger: logging.Logger, job: str, exposed: str) -> None:
        """Log what a weak key or the plaintext twin gives away: allowed, never silent."""
        if self.key_bits < DEFAULT_KEY_BITS:
            logger.warning(
                "%s job uses a %d-bit Paillier key (allow_weak_key): not for real data",
                job,
                self.key_bits,
            )
        if self.plaintext:
            logger.warning(
                "%s job runs the plaintext twin: %s travel in the clear; use it for "
                "benchmarks and tests only",
                job,
                exposed,
            )


class EncryptionFile(PaillierKeyFile):
    """Paillier settings; `plaintext` runs the insecure twin (benchmarks and tests only)."""

    residual_frac_bits: int = Field(EncryptionSpec.residual_frac_bits, ge=8, le=40)
    feature_frac_bits: int = Field(EncryptionSpec.feature_frac_bits, ge=0, le=16)
    slope_frac_bits: int = Field(EncryptionSpec.slope_frac_bits, ge=4, le=16)

    def to_spec(self) -> EncryptionSpec:
        return EncryptionSpec(**self.model_dump())


def check_key_bits(bits: int, allow_weak: bool) -> None:
    """Refuse a Paillier key below the floor (unless explicitly allowed) or of odd size."""
    if bits < DEFAULT_KEY_BITS and not allow_weak:
        raise Invalid(
            f"{bits} is below {DEFAULT_KEY_BITS}",
            "use 2048 or more, or set allow_weak_key: true (tests and demos only)",
            key="key_bits",
        )
    if bits < MIN_WEAK_KEY_BITS or bits % 2:
        raise Invalid(f"must be even and >= {MIN_WEAK_KEY_BITS}", "use 2048", key="key_bits")


class ValidationFile(FileModel):
    """The label holder's stratified validation (early stopping, calibration) and test split."""

    fraction: float = Field(0.2, ge=0.05, le=0.5, description="Share of rows for validation.")
    test_fraction: float = Field(
        0.2,
        ge=0,
        le=0.5,
        description="Share of rows for the reported test; 0 only when the operator holds a "
        "test set elsewhere.",
    )
    seed: int = Field(0, description="Seed of the split.")

    @model_validator(mode="after")
    def _training_keeps_rows(self) -> ValidationFile:
        if self.fraction + self.test_fraction > 0.6:
            raise Invalid(
                "must leave at least 40 % of the rows for training",
                "e.g. 0.2; 0 only when the operator holds a test set elsewhere",
                key="test_fraction",
            )
        return self


class WoeFile(FileModel):
    """Weight-of-evidence binning of each party's features (docs/protocols/vertical-lr.md)."""

    bins: int = Field(10, ge=2, le=50, description="Bins per feature.")


class ScorecardFile(FileModel):
    """Points scaling of the scorecard; no hidden defaults: state all four."""

    base_points: float = Field(description="Points at `base_odds`.", examples=[600])
    base_odds: float = Field(gt=0, description="Odds at `base_points`.", examples=[50])
    points_to_double_odds: float = Field(gt=0, description="Points per doubling.", examples=[20])
    odds: Annotated[str, OneOf(("good_to_bad", "bad_to_good"))] = Field(
        description="Which odds the points grow with.", examples=["good_to_bad"]
    )

    def to_scaling(self) -> ScorecardScaling:
        return ScorecardScaling(
            self.base_points,
            self.base_odds,
            self.points_to_double_odds,
            "good_to_bad" if self.odds == "good_to_bad" else "bad_to_good",
        )


class VerticalFile(FileModel):
    """The `vertical` section of a `vertical_lr` job file."""

    label_holder: LabelHolderFile
    feature_holders: list[HolderFile] = Field(
        min_length=1, description="The parties that bring features only, at least one."
    )
    validation: ValidationFile = ValidationFile()
    preprocess: Annotated[str, OneOf(MODES)] = Field(
        DEFAULT_MODE, description="Each party's column preparation (node.training.preprocess)."
    )
    model: ModelFile = ModelFile()
    calibration: Annotated[str, OneOf(CALIBRATIONS)] = Field(
        "platt", description="PD calibration on the validation rows."
    )
    encryption: EncryptionFile = EncryptionFile()
    woe: WoeFile | None = Field(None, description="Weight-of-evidence binning; off if absent.")
    scorecard: ScorecardFile | None = Field(None, description="Points scaling; none if absent.")
    timeout_s: float = Field(300.0, gt=0, description="Seconds to wait for any one message.")

    @model_validator(mode="after")
    def _each_party_once(self) -> VerticalFile:
        names = [self.label_holder.party, *(h.party for h in self.feature_holders)]
        if len(set(names)) != len(names):
            raise Invalid("a party is listed twice", "list each once", key="feature_holders")
        return self


def spec_from_job(section: Mapping[str, Any], authorize: Authorize) -> VerticalSpec:
    """Parse the ``vertical`` section and check every party's columns against its policy.

    Parameters
    ----------
    section:
        The mapping under ``vertical`` in the job file.
    authorize:
        ``authorize(party, dataset, columns, purpose="training")``; must raise to refuse.
        There is no permissive default: the caller plugs in the node's policy engine.

    Raises
    ------
    JobSpecError
        A key is missing, unknown, of the wrong type or out of range.
    JobRefused
        A party's policy refused its columns for training.
    """
    raw = validate(VerticalFile, section, source="job file", key="vertical", error=JobSpecError)
    spec = VerticalSpec(
        label_holder=raw.label_holder.to_party(),
        feature_holders=tuple(h.to_party() for h in raw.feature_holders),
        validation_fraction=raw.validation.fraction,
        test_fraction=raw.validation.test_fraction,
        seed=raw.validation.seed,
        preprocess=raw.preprocess,
        model=raw.model.to_spec(),
        encryption=raw.encryption.to_spec(),
        calibration=raw.calibration,
        woe_bins=raw.woe.bins if raw.woe is not None else None,
        scorecard=raw.scorecard.to_scaling() if raw.scorecard is not None else None,
        timeout_s=raw.timeout_s,
    )
    if spec.model.batch_size is not None and spec.model.batch_size < spec.min_batch:
        raise JobSpecError(
            "job file",
            f"{spec.model.batch_size} rows is too few for the job's widest party "
            "(a party could solve its gradient equations for the residuals, hence the labels)",
            key="vertical.model.batch_size",
            fix=f"use at least {spec.min_batch}, or auto",
        )
    raw.encryption.warn_if_weak(log, "vertical", "residuals and gradients")
    authorize_columns((spec.label_holder, *spec.feature_holders), authorize)
    return spec


def authorize_columns(holders: tuple[PartyData, ...], authorize: Authorize) -> None:
    """Ask each party's policy for its columns (label included) for purpose ``training``.

    Raises
    ------
    JobRefused
        A policy refused; only a missing rule is told to add one.
    """
    for data in holders:
        columns = [*data.features, *([data.label] if data.label else [])]
        try:
            authorize(data.party, data.dataset, columns, purpose="training")
        except Exception as exc:  # the policy engine's own error types; all mean "refused"
            missing = getattr(exc, "code", "missing_rule") == "missing_rule"
            raise JobRefused(data.party, data.dataset, str(exc), missing) from exc
