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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from node.crypto.paillier import DEFAULT_KEY_BITS
from node.training.vertical.exceptions import JobRefused, JobSpecError
from node.training.vertical.spec import (
    MIN_WEAK_KEY_BITS,
    PartyData,
    holder_from_section,
    refuse_unknown,
    section_mapping,
    setting,
)

log = logging.getLogger("fedcredit.training.secureboost")

Authorize = Callable[..., None]
"""``authorize(party, dataset, columns, purpose="training")``: returns, or raises to refuse."""

COORDINATOR: Final = "coordinator"
MAX_DEPTH: Final = 10
"""Node ids travel as ``int16`` (at most ``2**(MAX_DEPTH + 1) - 1`` nodes per tree)."""
MAX_BINS: Final = 255
"""Bin indices are ``uint8`` with one value kept for missing."""

_T = TypeVar("_T", int, float, bool)


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


def _value(section: Mapping[str, Any], name: str, default: _T, key: str) -> _T:
    """``section[name]`` (or ``default``) checked to be of the default's type."""
    value: _T = setting(section, name, key, default, type(default))
    return value


def _within(value: float, low: float, high: float, key: str, hint: str) -> None:
    if not low <= value <= high:
        raise JobSpecError(key, f"must be in {low:g}..{high:g}", hint)


def _split(raw: object) -> SplitSpec:
    section = section_mapping(raw, "split")
    default = SplitSpec()
    refuse_unknown(section, {"test_fraction", "validation_fraction", "seed"}, "split")
    test = _value(section, "test_fraction", default.test_fraction, "split")
    valid = _value(section, "validation_fraction", default.validation_fraction, "split")
    _within(test, 0.05, 0.5, "split.test_fraction", "e.g. 0.2")
    _within(valid, 0.05, 0.5, "split.validation_fraction", "e.g. 0.15")
    if test + valid > 0.6:
        raise JobSpecError("split", "test and validation take more than 60% of the rows", "")
    return SplitSpec(test, valid, _value(section, "seed", default.seed, "split"))


def _stopping(raw: object) -> EarlyStopping | None:
    if raw is False:
        return None
    default = EarlyStopping()
    section = section_mapping(None if raw is True else raw, "model.early_stopping")
    refuse_unknown(section, {"patience", "min_delta"}, "model.early_stopping")
    patience = _value(section, "patience", default.patience, "model.early_stopping")
    min_delta = _value(section, "min_delta", default.min_delta, "model.early_stopping")
    if patience < 1 or min_delta < 0:
        raise JobSpecError("model.early_stopping", "needs patience >= 1, min_delta >= 0", "fix")
    return EarlyStopping(patience, min_delta)


def _model(raw: object) -> BoostingSpec:
    section = section_mapping(raw, "model")
    d = BoostingSpec()
    names = [n for n in d.__dataclass_fields__ if n != "early_stopping"]
    refuse_unknown(section, {*names, "early_stopping", "type"}, "model")
    if section.get("type", "gradient_boosted_trees") != "gradient_boosted_trees":
        raise JobSpecError("model.type", "unsupported", "use gradient_boosted_trees")
    values = {name: _value(section, name, getattr(d, name), "model") for name in names}
    spec = BoostingSpec(**values, early_stopping=_stopping(section.get("early_stopping", {})))
    _within(spec.trees, 1, 10_000, "model.trees", "e.g. 100")
    _within(spec.max_depth, 1, MAX_DEPTH, "model.max_depth", "e.g. 5")
    _within(spec.learning_rate, 1e-4, 1.0, "model.learning_rate", "e.g. 0.1")
    _within(spec.l2, 0.0, 1e6, "model.l2", "e.g. 1.0")
    _within(spec.min_child_weight, 0.0, 1e6, "model.min_child_weight", "e.g. 1.0")
    _within(spec.min_gain, 0.0, 1e6, "model.min_gain", "e.g. 0.0")
    _within(spec.subsample, 0.05, 1.0, "model.subsample", "e.g. 0.8")
    _within(spec.colsample, 0.05, 1.0, "model.colsample", "e.g. 0.8")
    _within(spec.bins, 2, MAX_BINS, "model.bins", "e.g. 32")
    _within(spec.bank_only_trees, 0, spec.trees - 1, "model.bank_only_trees", "e.g. 0 or 1")
    return spec


def _encryption(raw: object) -> EncryptionSpec:
    section = section_mapping(raw, "encryption")
    d = EncryptionSpec()
    names = list(d.__dataclass_fields__)
    refuse_unknown(section, set(names), "encryption")
    spec = EncryptionSpec(
        **{name: _value(section, name, getattr(d, name), "encryption") for name in names}
    )
    if spec.key_bits < DEFAULT_KEY_BITS and not spec.allow_weak_key:
        raise JobSpecError(
            "encryption.key_bits",
            f"{spec.key_bits} is below {DEFAULT_KEY_BITS}",
            "use 2048 or more, or set allow_weak_key: true (tests and demos only)",
        )
    if spec.key_bits < MIN_WEAK_KEY_BITS or spec.key_bits % 2:
        raise JobSpecError(
            "encryption.key_bits", f"must be even and >= {MIN_WEAK_KEY_BITS}", "use 2048"
        )
    _within(spec.gh_frac_bits, 8, 30, "encryption.gh_frac_bits", "keep the default 20")
    if spec.key_bits < DEFAULT_KEY_BITS:
        log.warning("secureboost job uses a %d-bit Paillier key: not for real data", spec.key_bits)
    if spec.plaintext:
        log.warning(
            "secureboost job runs the plaintext twin: gradients and histograms travel in the "
            "clear; use it for benchmarks and tests only"
        )
    return spec


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
    section = section_mapping(section, "secureboost")
    refuse_unknown(
        section,
        {
            "label_holder",
            "feature_holders",
            "split",
            "model",
            "encryption",
            "timeout_s",
            "rejoin_wait_s",
        },
        "secureboost",
    )
    label_holder = holder_from_section(section.get("label_holder"), "label_holder", True)
    raw_hosts = section.get("feature_holders")
    if isinstance(raw_hosts, str) or not isinstance(raw_hosts, Sequence) or not raw_hosts:
        raise JobSpecError("feature_holders", "must list at least one party", "add one")
    hosts = tuple(
        holder_from_section(h, f"feature_holders[{i}]", False) for i, h in enumerate(raw_hosts)
    )
    names = [label_holder.party, *(h.party for h in hosts)]
    if len(set(names)) != len(names):
        raise JobSpecError("feature_holders", "a party is listed twice", "list each once")
    for i, host in enumerate(hosts):
        if not host.features:
            raise JobSpecError(f"feature_holders[{i}].features", "is empty", "list columns")
    timeout = _value(section, "timeout_s", 300.0, "secureboost")
    rejoin = _value(section, "rejoin_wait_s", 600.0, "secureboost")
    if not timeout > 0 or rejoin < 0:
        raise JobSpecError("secureboost", "timeout_s must be > 0, rejoin_wait_s >= 0", "fix")
    spec = SecureBoostSpec(
        label_holder,
        hosts,
        _split(section.get("split")),
        _model(section.get("model")),
        _encryption(section.get("encryption")),
        timeout,
        rejoin,
    )
    if spec.model.bank_only_trees and not label_holder.features:
        raise JobSpecError(
            "model.bank_only_trees", "the label holder has no features", "set it to 0"
        )
    for data in (label_holder, *hosts):
        columns = [*data.features, *([data.label] if data.label else [])]
        try:
            authorize(data.party, data.dataset, columns, purpose="training")
        except Exception as exc:  # the policy engine's own error types; all mean "refused"
            raise JobRefused(data.party, data.dataset, str(exc)) from exc
    return spec
