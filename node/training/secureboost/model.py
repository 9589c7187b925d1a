"""The model, in the parts each party keeps, and federated prediction from those parts.

Every party that owns splits keeps a ``PartyPart``: its lookup table from record id to
``SplitRule`` (column, threshold, side for missing values). Nobody else ever sees a rule. The
label holder also keeps the ``Ensemble``: the tree shapes, which party owns each split (by
record id only) and the leaf weights.

Prediction for any rows (validation, test, or an applicant scored later) is two local steps:

1. every party calls ``resolve_splits(part, frame)`` on its own feature rows and obtains one
   boolean per (record, row): does the row go left at that split?
2. the label holder collects them (from itself and, sealed, from the others) and calls
   ``Ensemble.margin(directions, rows)`` for the log-odds.

Both parts are saved as versioned JSON (``save_part``/``load_part``, ``save_guest_model``/
``load_guest_model``), loadable without anything from the training run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.training.secureboost.binning import load_columns

FORMAT_VERSION: Final = 1
NODE_BITS: Final = 12
"""A record id is ``tree << NODE_BITS | node``: room for trees of depth 10 (2,047 nodes)."""

Directions = Mapping[str, Mapping[int, NDArray[np.bool_]]]
"""Per party, per record id: which rows go left."""


class ModelFormatError(ValueError):
    """A saved model part is of another version or kind, or does not parse."""


def record_id(tree: int, node: int) -> int:
    """The id under which a split's owner files its rule: tree and node, nothing else."""
    return tree << NODE_BITS | node


def tree_of(record: int) -> int:
    return record >> NODE_BITS


@dataclass(frozen=True)
class SplitRule:
    """``value <= threshold`` goes left; a missing value goes left iff ``missing_left``.

    ``threshold`` ``None`` sends every present value left (the split is "has a value").
    """

    feature: str
    threshold: float | None
    missing_left: bool

    def goes_left(self, values: NDArray[np.float64]) -> NDArray[np.bool_]:
        present = ~np.isnan(values)
        left = present if self.threshold is None else values <= self.threshold
        return np.where(present, left, self.missing_left)


@dataclass(frozen=True)
class Importance:
    """How much a column was used: summed split gain and number of splits."""

    gain: float = 0.0
    splits: int = 0


@dataclass(frozen=True)
class PartyPart:
    """One party's part of the model: its split rules by record id, and their importance."""

    party: str
    rules: Mapping[int, SplitRule]
    importance: Mapping[str, Importance] = field(default_factory=dict)

    @property
    def features(self) -> tuple[str, ...]:
        """The columns the rules read, in first-use order."""
        return tuple(dict.fromkeys(rule.feature for _, rule in sorted(self.rules.items())))

    def truncated(self, trees: int) -> PartyPart:
        """The part of a model cut back to its first ``trees`` trees."""
        kept = {r: rule for r, rule in self.rules.items() if tree_of(r) < trees}
        return PartyPart(self.party, kept, self.importance)

    def with_importance(self, gains: Mapping[int, float]) -> PartyPart:
        """Importance per column from the gains of this party's own splits."""
        totals: dict[str, list[float]] = {}
        for record, gain in gains.items():
            entry = totals.setdefault(self.rules[record].feature, [0.0, 0])
            entry[0] += gain
            entry[1] += 1
        importance = {f: Importance(g, int(n)) for f, (g, n) in sorted(totals.items())}
        return PartyPart(self.party, self.rules, importance)


def resolve_splits(
    part: PartyPart, frame: pd.DataFrame, records: Sequence[int] | None = None
) -> NDArray[np.bool_]:
    """The directions of ``frame``'s rows at this party's splits: ``(records, rows)`` booleans.

    This is all a party computes to score rows with a trained model: its own columns, its own
    rules, nothing from anyone else. ``records`` defaults to all of the part's records,
    ascending.

    Raises
    ------
    KeyError
        A requested record is not this party's.
    node.training.vertical.exceptions.DataMismatch
        A column the rules read is missing, not numeric or infinite.
    """
    names = part.features
    values = load_columns(part.party, frame, names)
    return resolve_columns(part, {n: values[:, j] for j, n in enumerate(names)}, records)


def resolve_columns(
    part: PartyPart,
    columns: Mapping[str, NDArray[np.float64]],
    records: Sequence[int] | None = None,
) -> NDArray[np.bool_]:
    """``resolve_splits`` on columns already loaded (name -> values of the same rows)."""
    wanted = sorted(part.rules) if records is None else list(records)
    rows = len(next(iter(columns.values()))) if columns else 0
    out = np.empty((len(wanted), rows), dtype=bool)
    for i, record in enumerate(wanted):
        rule = part.rules[record]
        out[i] = rule.goes_left(columns[rule.feature])
    return out


@dataclass(frozen=True)
class TreeNode:
    """A split (``party`` and ``record`` set, children ``left``/``right``) or a leaf."""

    left: int = -1
    right: int = -1
    party: str | None = None
    record: int | None = None
    gain: float = 0.0
    weight: float = 0.0

    @property
    def is_leaf(self) -> bool:
        return self.left < 0


@dataclass(frozen=True)
class Ensemble:
    """The label holder's view of the model: shapes, split owners, leaf weights."""

    base_margin: float
    trees: tuple[tuple[TreeNode, ...], ...] = ()

    def records_of(self, party: str) -> list[int]:
        """The record ids of ``party``'s splits, ascending."""
        return sorted(
            n.record
            for tree in self.trees
            for n in tree
            if n.party == party and n.record is not None
        )

    def gains_of(self, party: str) -> dict[int, float]:
        return {
            n.record: n.gain
            for tree in self.trees
            for n in tree
            if n.party == party and n.record is not None
        }

    def truncated(self, trees: int) -> Ensemble:
        return Ensemble(self.base_margin, self.trees[:trees])

    def importance(self) -> dict[str, Importance]:
        """Per party: summed gain and number of its splits (no column is named)."""
        out: dict[str, Importance] = {}
        for tree in self.trees:
            for node in tree:
                if node.party is not None:
                    now = out.get(node.party, Importance())
                    out[node.party] = Importance(now.gain + node.gain, now.splits + 1)
        return out

    def tree_margin(
        self, tree: Sequence[TreeNode], directions: Directions, rows: int
    ) -> NDArray[np.float64]:
        """One tree's leaf weight for every row (nodes are numbered parents first)."""
        at = np.zeros(rows, dtype=np.int64)
        for index, node in enumerate(tree):
            if node.is_leaf:
                continue
            assert node.party is not None and node.record is not None
            here = at == index
            left = directions[node.party][node.record]
            at[here] = np.where(left[here], node.left, node.right)
        weights = np.array([n.weight for n in tree], dtype=np.float64)
        return weights[at]

    def margin(self, directions: Directions, rows: int) -> NDArray[np.float64]:
        """Log-odds of every row from every party's directions (``resolve_splits`` output)."""
        total = np.full(rows, self.base_margin, dtype=np.float64)
        for tree in self.trees:
            total += self.tree_margin(tree, directions, rows)
        return total


def directions_by_record(
    records: Sequence[int], matrix: NDArray[np.bool_]
) -> dict[int, NDArray[np.bool_]]:
    """``resolve_splits`` output keyed by record id."""
    return {record: matrix[i] for i, record in enumerate(records)}


# -- persistence ---------------------------------------------------------------------------


def part_to_dict(part: PartyPart) -> dict[str, Any]:
    return {
        "party": part.party,
        "rules": [
            {
                "record": record,
                "feature": rule.feature,
                "threshold": rule.threshold,
                "missing_left": rule.missing_left,
            }
            for record, rule in sorted(part.rules.items())
        ],
        "importance": {f: {"gain": i.gain, "splits": i.splits} for f, i in part.importance.items()},
    }


def part_from_dict(obj: Mapping[str, Any]) -> PartyPart:
    """Rebuild a ``PartyPart``; raises ``ModelFormatError`` on anything malformed."""
    try:
        rules = {}
        for entry in obj["rules"]:
            threshold = entry["threshold"]
            if threshold is not None and not math.isfinite(float(threshold)):
                raise ModelFormatError("a threshold is not finite")
            rules[int(entry["record"])] = SplitRule(
                str(entry["feature"]),
                None if threshold is None else float(threshold),
                bool(entry["missing_left"]),
            )
        importance = {
            str(f): Importance(float(i["gain"]), int(i["splits"]))
            for f, i in obj.get("importance", {}).items()
        }
        return PartyPart(str(obj["party"]), rules, importance)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFormatError(f"model part does not parse ({type(exc).__name__})") from None


def ensemble_to_dict(ensemble: Ensemble) -> dict[str, Any]:
    return {
        "base_margin": ensemble.base_margin,
        "trees": [
            [
                {"leaf": n.weight}
                if n.is_leaf
                else {
                    "left": n.left,
                    "right": n.right,
                    "party": n.party,
                    "record": n.record,
                    "gain": n.gain,
                }
                for n in tree
            ]
            for tree in ensemble.trees
        ],
    }


def ensemble_from_dict(obj: Mapping[str, Any]) -> Ensemble:
    """Rebuild an ``Ensemble``; raises ``ModelFormatError`` on anything malformed."""
    try:
        trees = []
        for raw in obj["trees"]:
            nodes = []
            for i, n in enumerate(raw):
                if "leaf" in n:
                    nodes.append(TreeNode(weight=float(n["leaf"])))
                    continue
                left, right = int(n["left"]), int(n["right"])
                if not i < left < len(raw) or not i < right < len(raw):
                    raise ModelFormatError("a child does not follow its parent")
                nodes.append(
                    TreeNode(left, right, str(n["party"]), int(n["record"]), float(n["gain"]))
                )
            trees.append(tuple(nodes))
        return Ensemble(float(obj["base_margin"]), tuple(trees))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFormatError(f"ensemble does not parse ({type(exc).__name__})") from None


def _write(path: Path, body: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(body, indent=1))
    partial.replace(path)


def _read(path: Path, kind: str) -> dict[str, Any]:
    try:
        body = json.loads(path.read_text())
    except ValueError:
        raise ModelFormatError(f"{path.name} is not JSON") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT_VERSION:
        raise ModelFormatError(f"{path.name} is not a version-{FORMAT_VERSION} model file")
    if body.get("kind") != kind:
        raise ModelFormatError(f"{path.name} holds a {body.get('kind')!r}, not a {kind!r}")
    return body


def save_part(path: Path, part: PartyPart, job_id: str) -> None:
    """Write a feature holder's part (its lookup table) as versioned JSON."""
    _write(
        path,
        {
            "format": FORMAT_VERSION,
            "kind": "secureboost/party",
            "job_id": job_id,
            **part_to_dict(part),
        },
    )


def load_part(path: Path) -> PartyPart:
    """Read what ``save_part`` wrote. Raises ``ModelFormatError`` if it is anything else."""
    return part_from_dict(_read(path, "secureboost/party"))


def save_guest_model(path: Path, ensemble: Ensemble, part: PartyPart, job_id: str) -> None:
    """Write the label holder's model: the ensemble and its own lookup table."""
    _write(
        path,
        {
            "format": FORMAT_VERSION,
            "kind": "secureboost/label_holder",
            "job_id": job_id,
            "ensemble": ensemble_to_dict(ensemble),
            "part": part_to_dict(part),
        },
    )


def load_guest_model(path: Path) -> tuple[Ensemble, PartyPart]:
    """Read what ``save_guest_model`` wrote."""
    body = _read(path, "secureboost/label_holder")
    return ensemble_from_dict(body["ensemble"]), part_from_dict(body["part"])
