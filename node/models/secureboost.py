"""The SecureBoost part: each party's split rules and, at the bank, the trees and leaf weights.

A ``secureboost`` job leaves each feature holder its lookup table (record id -> split rule
over one of its columns) and the label holder (the bank) the ensemble: tree shapes, which
party owns each split, and every leaf weight (docs/protocols/secureboost.md). Deployed, a
holder answers a scoring request with the **directions** of the firm at its own splits (one
bit per split, no threshold, no value), and the bank walks the trees with everyone's
directions (``TreeHead.explain``).

**Reasons for trees.** The bank attributes the margin along each firm's decision path: a
node's value is the plain mean of the leaf weights below it (the ensemble keeps no training
covers, so the mean is unweighted), and each step from a node to the child the firm takes
changes the value by ``value(child) - value(node)``; that change is credited to the party
owning the split, and within it to the split's column (the bank's own) or the column's
reason category (a holder's, which the holder names per split in its answer). Summed over a
path the steps give ``leaf - value(root)``, so per firm the credits add up exactly to the
margin minus a constant (``base margin + sum of root values``, the head's ``intercept``).
A split whose owner gave no answer for the firm is not taken: the tree stops there and the
firm gets that node's value (no credit to anyone below it).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.models.part import FORMAT_VERSION, JOB_KINDS, PART_KINDS, JobContext, PartInfo
from node.training.secureboost.model import (
    Ensemble,
    PartyPart,
    ensemble_from_dict,
    ensemble_to_dict,
    part_from_dict,
    part_to_dict,
    resolve_columns,
    resolve_splits,
)

KIND: Final = "secureboost"
JOB_PARTY: Final = "secureboost/party"
JOB_LABEL_HOLDER: Final = "secureboost/label_holder"


@dataclass(frozen=True)
class PartyDirections:
    """One party's answer for n firms: its records, the directions, who answered at all."""

    records: Sequence[int]
    left: NDArray[np.bool_]  # n x len(records)
    known: NDArray[np.bool_]  # n: the party answered for this firm
    categories: Sequence[str] = ()  # reason category of each record (holders)


@dataclass(frozen=True)
class TreePart:
    """One party's SecureBoost part; ``ensemble`` is set at the label holder only."""

    info: PartInfo
    own: PartyPart
    ensemble: Ensemble | None = None
    calibration: tuple[float, float] = (1.0, 0.0)

    def feature_of(self, record: int) -> str:
        return self.own.rules[record].feature

    def directions(self, frame: pd.DataFrame) -> tuple[list[int], NDArray[np.bool_]]:
        """(this party's record ids ascending, rows x records: does the row go left).

        Raises
        ------
        node.training.vertical.exceptions.DataMismatch
            A column the rules read is missing, not numeric or infinite.
        """
        records = sorted(self.own.rules)
        if not records:
            return [], np.zeros((len(frame), 0), np.bool_)
        return records, resolve_splits(self.own, frame, records).T.copy()

    def directions_of(self, values: NDArray[np.float64]) -> tuple[list[int], NDArray[np.bool_]]:
        """``directions`` of raw values given in ``info.features`` order (rows x features)."""
        records = sorted(self.own.rules)
        named = {f: values[:, j] for j, f in enumerate(self.info.features)}
        if not records:
            return [], np.zeros((len(values), 0), np.bool_)
        return records, resolve_columns(self.own, named, records).T.copy()

    @functools.cached_property
    def head(self) -> TreeHead:
        """The bank's walker over this ensemble, compiled once (label holder only).

        Raises
        ------
        ValueError
            This part holds no ensemble (it is a feature holder's).
        """
        if self.ensemble is None:
            raise ValueError("only the label holder's part walks the trees")
        return TreeHead(self)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "kind": KIND,
            "info": self.info.to_dict(),
            "own": part_to_dict(self.own),
            "calibration": list(self.calibration),
        }
        if self.ensemble is not None:
            body["ensemble"] = ensemble_to_dict(self.ensemble)
        return body

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> TreePart:
        a, c = (float(v) for v in raw.get("calibration", (1.0, 0.0)))
        ensemble = ensemble_from_dict(raw["ensemble"]) if "ensemble" in raw else None
        return cls(PartInfo.from_dict(raw["info"]), part_from_dict(raw["own"]), ensemble, (a, c))


@dataclass
class TreeHead:
    """The label holder's trees compiled into arrays, for walking many firms at once.

    ``intercept`` (base margin plus every tree's root value) and ``probability`` make it the
    engine's ``Calibrated`` head; ``explain`` gives the per-firm credits that sum to the
    margin minus ``intercept``.
    """

    part: TreePart
    left: NDArray[np.int64] = field(init=False)
    right: NDArray[np.int64] = field(init=False)
    value: NDArray[np.float64] = field(init=False)
    owner: list[list[str | None]] = field(init=False)
    record: NDArray[np.int64] = field(init=False)
    depth: int = field(init=False)
    intercept: float = field(init=False)

    def __post_init__(self) -> None:
        ensemble = self.part.ensemble
        assert ensemble is not None
        trees = ensemble.trees
        width = max((len(t) for t in trees), default=1)
        shape = (len(trees), width)
        self.left = np.full(shape, -1, np.int64)
        self.right = np.full(shape, -1, np.int64)
        self.value = np.zeros(shape)
        self.record = np.full(shape, -1, np.int64)
        self.owner = [[None] * width for _ in trees]
        self.depth = 0
        for t, tree in enumerate(trees):
            values, depth = _node_values(tree)
            self.value[t, : len(tree)] = values
            self.depth = max(self.depth, depth)
            for m, node in enumerate(tree):
                if not node.is_leaf:
                    self.left[t, m], self.right[t, m] = node.left, node.right
                    self.record[t, m] = int(node.record or 0)
                    self.owner[t][m] = node.party
        roots = float(self.value[:, 0].sum()) if trees else 0.0
        self.intercept = ensemble.base_margin + roots

    def probability(self, logit: NDArray[np.float64]) -> NDArray[np.float64]:
        a, c = self.part.calibration
        z = np.clip(a * np.asarray(logit, dtype=np.float64) + c, -50.0, 50.0)
        result: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-z))
        return result

    def explain(
        self,
        parties: Mapping[str, PartyDirections],
        slots: Mapping[tuple[str, int], int],
        width: int,
        n: int,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(margin, credits n x ``width``) for n firms from every party's directions.

        ``slots`` maps (party, record) to the column of ``credits`` its step is credited to.
        """
        trees = self.left.shape[0]
        columns: list[NDArray[np.bool_]] = []
        known: list[NDArray[np.bool_]] = []
        where: dict[tuple[str, int], int] = {}
        for party, answer in parties.items():
            for j, record in enumerate(answer.records):
                where[(party, int(record))] = len(columns)
                columns.append(answer.left[:, j])
                known.append(answer.known)
        # per node: its column of directions (-1: a leaf or nobody's answer) and credit slot
        gcol = np.full(self.left.shape, -1, np.int64)
        slot = np.zeros(self.left.shape, np.int64)
        for t in range(trees):
            for m, owner in enumerate(self.owner[t]):
                if owner is not None:
                    key = (owner, int(self.record[t, m]))
                    gcol[t, m] = where.get(key, -1)
                    slot[t, m] = slots.get(key, 0)
        go_left = np.stack(columns, axis=1) if columns else np.zeros((n, 0), np.bool_)
        answered = np.stack(known, axis=1) if known else np.zeros((n, 0), np.bool_)
        rows = np.arange(n)[:, None]
        tree_ix = np.arange(trees)[None, :]
        at = np.zeros((n, trees), np.int64)
        credits = np.zeros(n * width)
        for _ in range(self.depth):
            g = gcol[tree_ix, at]
            safe = np.maximum(g, 0)
            step = (g >= 0) & answered[rows, safe] if columns else np.zeros_like(g, np.bool_)
            if not step.any():
                break
            child = np.where(go_left[rows, safe], self.left[tree_ix, at], self.right[tree_ix, at])
            child = np.where(step, child, at)
            delta = self.value[tree_ix, child] - self.value[tree_ix, at]
            target = (rows * width + slot[tree_ix, at])[step]
            credits += np.bincount(target, weights=delta[step], minlength=n * width)
            at = child
        margin = self.intercept + (self.value[tree_ix, at] - self.value[:, 0][None, :]).sum(axis=1)
        return margin, credits.reshape(n, width)


def _node_values(tree: Sequence[Any]) -> tuple[list[float], int]:
    """Each node's plain mean of the leaf weights below it, and the tree's depth."""
    values = [0.0] * len(tree)
    leaves = [0] * len(tree)
    for m in range(len(tree) - 1, -1, -1):  # children follow their parents
        node = tree[m]
        if node.is_leaf:
            values[m], leaves[m] = float(node.weight), 1
        else:
            count = leaves[node.left] + leaves[node.right]
            total = values[node.left] * leaves[node.left] + values[node.right] * leaves[node.right]
            values[m], leaves[m] = total / count, count
    depth = [0] * len(tree)
    for m, node in enumerate(tree):
        if not node.is_leaf:
            depth[node.left] = depth[node.right] = depth[m] + 1
    return values, max(depth, default=0)


def from_secureboost_job(
    raw: Mapping[str, Any], frame: pd.DataFrame, context: JobContext
) -> TreePart:
    """A ``secureboost`` job's part at this node (a holder's rules, or the bank's ensemble)."""
    is_bank = raw.get("kind") == JOB_LABEL_HOLDER
    own = part_from_dict(raw["part"] if is_bank else raw)
    ensemble = ensemble_from_dict(raw["ensemble"]) if is_bank else None
    missing = [f for f in own.features if f not in frame.columns]
    if missing:
        raise KeyError(f"columns {', '.join(missing)} are not in dataset {context.dataset}")
    if ensemble is not None and not math.isfinite(ensemble.base_margin):
        raise ValueError("the base margin is not finite")
    info = PartInfo(
        kind=KIND,
        job_id=str(raw["job_id"]),
        party=own.party,
        dataset=context.dataset,
        id_column=context.id_column,
        features=own.features,
    )
    return TreePart(info, own, ensemble)


PART_KINDS[KIND] = TreePart.from_dict
JOB_KINDS[JOB_PARTY] = from_secureboost_job
JOB_KINDS[JOB_LABEL_HOLDER] = from_secureboost_job
