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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from node.crypto.paillier import DEFAULT_KEY_BITS
from node.training.preprocess import DEFAULT_MODE, MODES
from node.training.vertical.exceptions import JobRefused, JobSpecError
from node.training.vertical.linearization import LINEARIZATIONS
from node.training.vertical.optimizer import OPTIMIZERS
from node.training.vertical.scorecard import ScorecardScaling

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


def _mapping(value: object, key: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise JobSpecError(key, "must be a mapping", "write it as key: value pairs")
    return value


def _unknown(section: Mapping[str, Any], allowed: set[str], key: str) -> None:
    extra = sorted(set(section) - allowed)
    if extra:
        raise JobSpecError(
            key, f"unknown keys {', '.join(extra)}", f"allowed: {', '.join(sorted(allowed))}"
        )


def _number(section: Mapping[str, Any], name: str, key: str, default: Any, kind: type) -> Any:
    value = section.get(name, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise JobSpecError(f"{key}.{name}", f"must be a {kind.__name__}", "fix its value")
    return value


def _choice(
    section: Mapping[str, Any], name: str, key: str, default: str, allowed: Sequence[str]
) -> str:
    value = section.get(name, default)
    if value not in allowed:
        raise JobSpecError(f"{key}.{name}", f"must be one of {', '.join(allowed)}", "fix it")
    return str(value)


def _party(raw: object, key: str, with_label: bool) -> PartyData:
    section = _mapping(raw, key)
    allowed = {"party", "dataset", "id_column", "features"} | ({"label"} if with_label else set())
    _unknown(section, allowed, key)
    for name in ("party", "dataset", "id_column"):
        if not isinstance(section.get(name), str) or not section[name]:
            raise JobSpecError(f"{key}.{name}", "is missing or not a string", "name it")
    features = section.get("features", [])
    if isinstance(features, str) or not isinstance(features, Sequence):
        raise JobSpecError(f"{key}.features", "must be a list of column names", "list them")
    if not all(isinstance(f, str) and f for f in features) or len(set(features)) != len(features):
        raise JobSpecError(f"{key}.features", "has an empty or repeated name", "list each once")
    label = section.get("label")
    if with_label and (not isinstance(label, str) or not label):
        raise JobSpecError(f"{key}.label", "is missing", "name the 0/1 default column")
    if with_label and label in features:
        raise JobSpecError(f"{key}.label", "is also listed as a feature", "remove it there")
    if section["party"] == ARBITER:
        raise JobSpecError(f"{key}.party", "the coordinator holds no data", "name a node")
    return PartyData(
        section["party"],
        section["dataset"],
        section["id_column"],
        tuple(features),
        label if with_label else None,
    )


def _model(raw: object) -> ModelSpec:
    section = _mapping(raw, "model")
    _unknown(
        section,
        {
            "type",
            "epochs",
            "batch_size",
            "optimizer",
            "learning_rate",
            "l2",
            "tolerance",
            "linearization",
            "early_stopping",
        },
        "model",
    )
    if section.get("type", "logistic_regression") != "logistic_regression":
        raise JobSpecError("model.type", "unsupported", "use logistic_regression")
    default = ModelSpec()
    epochs = _number(section, "epochs", "model", default.epochs, int)
    raw_batch = section.get("batch_size", "auto")
    batch = None if raw_batch == "auto" else _number(section, "batch_size", "model", None, int)
    optimizer = _choice(section, "optimizer", "model", default.optimizer, OPTIMIZERS)
    lr = _number(section, "learning_rate", "model", default.learning_rate, float)
    l2 = _number(section, "l2", "model", default.l2, float)
    tolerance = _number(section, "tolerance", "model", default.tolerance, float)
    linearization = _choice(
        section, "linearization", "model", default.linearization, LINEARIZATIONS
    )
    if epochs < 1:
        raise JobSpecError("model.epochs", "must be at least 1", "e.g. 50")
    if batch is not None and not 1 <= batch <= MAX_BATCH:
        raise JobSpecError("model.batch_size", f"must be auto or 1..{MAX_BATCH}", "e.g. auto")
    if not lr > 0 or l2 < 0:
        raise JobSpecError("model", "learning_rate must be > 0 and l2 >= 0", "fix them")
    if not 0 <= tolerance < 1:
        raise JobSpecError("model.tolerance", "must be in [0, 1)", "e.g. 0.001; 0 disables it")
    stopping: EarlyStopping | None = default.early_stopping
    raw_stop = section.get("early_stopping", {})
    if raw_stop is False:
        stopping = None
    elif raw_stop is not True:
        stop = _mapping(raw_stop, "model.early_stopping")
        _unknown(stop, {"patience", "min_delta"}, "model.early_stopping")
        fallback = EarlyStopping()
        patience = _number(stop, "patience", "model.early_stopping", fallback.patience, int)
        min_delta = _number(stop, "min_delta", "model.early_stopping", fallback.min_delta, float)
        if patience < 1 or min_delta < 0:
            raise JobSpecError("model.early_stopping", "patience >= 1, min_delta >= 0", "fix")
        stopping = EarlyStopping(patience, min_delta)
    return ModelSpec(
        epochs=epochs,
        batch_size=batch,
        optimizer=optimizer,
        learning_rate=lr,
        l2=l2,
        tolerance=tolerance,
        linearization=linearization,
        early_stopping=stopping,
    )


def _encryption(raw: object) -> EncryptionSpec:
    section = _mapping(raw, "encryption")
    _unknown(
        section,
        {
            "key_bits",
            "allow_weak_key",
            "plaintext",
            "residual_frac_bits",
            "feature_frac_bits",
            "slope_frac_bits",
        },
        "encryption",
    )
    d = EncryptionSpec()
    bits = _number(section, "key_bits", "encryption", d.key_bits, int)
    weak = _number(section, "allow_weak_key", "encryption", d.allow_weak_key, bool)
    plain = _number(section, "plaintext", "encryption", d.plaintext, bool)
    rbits = _number(section, "residual_frac_bits", "encryption", d.residual_frac_bits, int)
    fbits = _number(section, "feature_frac_bits", "encryption", d.feature_frac_bits, int)
    sbits = _number(section, "slope_frac_bits", "encryption", d.slope_frac_bits, int)
    if bits < DEFAULT_KEY_BITS and not weak:
        raise JobSpecError(
            "encryption.key_bits",
            f"{bits} is below {DEFAULT_KEY_BITS}",
            "use 2048 or more, or set allow_weak_key: true (tests and demos only)",
        )
    if bits < MIN_WEAK_KEY_BITS or bits % 2:
        raise JobSpecError(
            "encryption.key_bits", f"must be even and >= {MIN_WEAK_KEY_BITS}", "use 2048"
        )
    if bits < DEFAULT_KEY_BITS:
        log.warning(
            "vertical job uses a %d-bit Paillier key (allow_weak_key): not for real data", bits
        )
    if plain:
        log.warning(
            "vertical job runs the plaintext twin: residuals and gradients travel in "
            "the clear; use it for benchmarks and tests only"
        )
    if not 8 <= rbits <= 40 or not 0 <= fbits <= 16 or not 4 <= sbits <= 16:
        raise JobSpecError(
            "encryption",
            "residual_frac_bits 8..40, feature_frac_bits 0..16, slope_frac_bits 4..16",
            "keep the defaults (24, 8 and 10)",
        )
    return EncryptionSpec(bits, weak, plain, rbits, fbits, sbits)


def _scorecard(raw: object) -> ScorecardScaling | None:
    if raw is None:
        return None
    section = _mapping(raw, "scorecard")
    keys = {"base_points", "base_odds", "points_to_double_odds", "odds"}
    _unknown(section, keys, "scorecard")
    missing = sorted(keys - set(section))
    if missing:
        raise JobSpecError(
            "scorecard",
            f"missing {', '.join(missing)}",
            "a scorecard has no hidden defaults: state all four",
        )
    return ScorecardScaling(
        float(_number(section, "base_points", "scorecard", None, float)),
        float(_number(section, "base_odds", "scorecard", None, float)),
        float(_number(section, "points_to_double_odds", "scorecard", None, float)),
        section["odds"],
    )


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
    section = _mapping(section, "vertical")
    _unknown(
        section,
        {
            "label_holder",
            "feature_holders",
            "validation",
            "preprocess",
            "model",
            "calibration",
            "encryption",
            "woe",
            "scorecard",
            "timeout_s",
        },
        "vertical",
    )
    label_holder = _party(section.get("label_holder"), "label_holder", with_label=True)
    raw_hosts = section.get("feature_holders")
    if isinstance(raw_hosts, str) or not isinstance(raw_hosts, Sequence) or not raw_hosts:
        raise JobSpecError("feature_holders", "must list at least one party", "add one")
    hosts = tuple(_party(h, f"feature_holders[{i}]", False) for i, h in enumerate(raw_hosts))
    names = [label_holder.party, *(h.party for h in hosts)]
    if len(set(names)) != len(names):
        raise JobSpecError("feature_holders", "a party is listed twice", "list each once")
    for i, host in enumerate(hosts):
        if not host.features:
            raise JobSpecError(f"feature_holders[{i}].features", "is empty", "list columns")
    validation = _mapping(section.get("validation"), "validation")
    _unknown(validation, {"fraction", "test_fraction", "seed"}, "validation")
    fraction = _number(validation, "fraction", "validation", 0.2, float)
    test_fraction = _number(validation, "test_fraction", "validation", 0.2, float)
    seed = _number(validation, "seed", "validation", 0, int)
    if not 0.05 <= fraction <= 0.5:
        raise JobSpecError("validation.fraction", "must be in 0.05..0.5", "e.g. 0.2")
    if not 0 <= test_fraction <= 0.5 or fraction + test_fraction > 0.6:
        raise JobSpecError(
            "validation.test_fraction",
            "must be in 0..0.5 and leave at least 40 % of the rows for training",
            "e.g. 0.2; 0 only when the operator holds a test set elsewhere",
        )
    preprocess = _choice(section, "preprocess", "vertical", DEFAULT_MODE, MODES)
    calibration = _choice(section, "calibration", "vertical", "platt", CALIBRATIONS)
    woe = _mapping(section.get("woe"), "woe") if section.get("woe") is not None else None
    woe_bins: int | None = None
    if woe is not None:
        _unknown(woe, {"bins"}, "woe")
        woe_bins = _number(woe, "bins", "woe", 10, int)
        if not 2 <= woe_bins <= 50:
            raise JobSpecError("woe.bins", "must be 2..50", "e.g. 10")
    timeout = float(_number(section, "timeout_s", "vertical", 300.0, float))
    if not timeout > 0:
        raise JobSpecError("vertical.timeout_s", "must be positive", "e.g. 300")
    spec = VerticalSpec(
        label_holder=label_holder,
        feature_holders=hosts,
        validation_fraction=fraction,
        test_fraction=test_fraction,
        seed=seed,
        preprocess=preprocess,
        model=_model(section.get("model")),
        encryption=_encryption(section.get("encryption")),
        calibration=calibration,
        woe_bins=woe_bins,
        scorecard=_scorecard(section.get("scorecard")),
        timeout_s=timeout,
    )
    if spec.model.batch_size is not None and spec.model.batch_size < spec.min_batch:
        raise JobSpecError(
            "model.batch_size",
            f"{spec.model.batch_size} rows is too few for the job's widest party "
            "(a party could solve its gradient equations for the residuals, hence the labels)",
            f"use at least {spec.min_batch}, or auto",
        )
    for data in (label_holder, *hosts):
        columns = [*data.features, *([data.label] if data.label else [])]
        try:
            authorize(data.party, data.dataset, columns, purpose="training")
        except Exception as exc:  # the policy engine's own error types; all mean "refused"
            missing = getattr(exc, "code", "missing_rule") == "missing_rule"
            raise JobRefused(data.party, data.dataset, str(exc), missing) from exc
    return spec


# The parsing of party sections and settings, shared with the other vertical model types
# (node.training.secureboost), so a party section means the same thing in every such job.
section_mapping = _mapping
refuse_unknown = _unknown
setting = _number
holder_from_section = _party
