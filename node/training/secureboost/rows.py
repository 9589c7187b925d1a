"""Which rows and columns each tree uses, derived from the job seed the same way everywhere.

The label holder draws the test, validation and training rows from the labels and tells the
others only the result. Row subsampling and column subsampling per tree are derived from the
seed and the tree number alone, so every party (and a resumed run) computes the same choice
without a message and without persisting any random state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
from numpy.typing import NDArray

from node.training.secureboost.spec import SecureBoostSpec

TRAIN: Final = 0
VALIDATION: Final = 1
TEST: Final = 2


def row_roles(y: NDArray[np.int8], test: float, validation: float, seed: int) -> NDArray[np.int16]:
    """Each row's role (``TRAIN``, ``VALIDATION`` or ``TEST``), stratified by label.

    ``test`` and ``validation`` are fractions of all rows; within each class the rows are
    shuffled once and the first go to test, the next to validation.
    """
    rng = np.random.default_rng([seed, 0x5B00])
    roles = np.full(len(y), TRAIN, dtype=np.int16)
    for cls in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n_test = round(test * len(idx))
        n_valid = round(validation * len(idx))
        roles[idx[:n_test]] = TEST
        roles[idx[n_test : n_test + n_valid]] = VALIDATION
    return roles


def tree_sample(train_rows: int, subsample: float, seed: int, tree: int) -> NDArray[np.bool_]:
    """The training rows tree ``tree`` learns from (all of them when ``subsample`` is 1)."""
    if subsample >= 1.0:
        return np.ones(train_rows, dtype=bool)
    sample = np.random.default_rng([seed, tree, 1]).random(train_rows) < subsample
    if not sample.any():
        sample[0] = True
    return sample


def tree_columns(spec: SecureBoostSpec, tree: int) -> Mapping[str, list[int]]:
    """The columns (indices into each party's feature list) tree ``tree`` may split on.

    The first ``bank_only_trees`` trees use the label holder's columns only; column
    subsampling draws from every eligible column of every party at once.
    """
    bank_only = tree < spec.model.bank_only_trees
    holders = [spec.label_holder] if bank_only else [spec.label_holder, *spec.feature_holders]
    everyone = [(h.party, j) for h in holders for j in range(len(h.features))]
    keep = max(1, round(spec.model.colsample * len(everyone)))
    chosen = np.random.default_rng([spec.split.seed, tree, 2]).permutation(len(everyone))[:keep]
    out: dict[str, list[int]] = {p: [] for p in spec.parties}
    for i in sorted(chosen.tolist()):
        party, column = everyone[i]
        out[party].append(column)
    return out
