"""A slow, obviously correct, centralized reference of the boosting the protocol computes.

All parties' columns in one place; every split candidate is evaluated by summing the rows it
sends left, one candidate at a time, in the protocol's documented order. It shares with the
protocol only what defines the model (binning, fixed-point gradients, row and column sampling,
row roles), not the histogram, packing or split-finding code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from node.training.secureboost.binning import bin_columns, load_columns
from node.training.secureboost.loss import base_margin, gradients, quantize
from node.training.secureboost.model import SplitRule, TreeNode, record_id
from node.training.secureboost.rows import TRAIN, row_roles, tree_columns, tree_sample
from node.training.secureboost.spec import SecureBoostSpec


def _gain(gl: int, hl: int, g: int, h: int, scale: float, l2: float) -> float:
    a, b = gl / scale, hl / scale
    c, d = (g - gl) / scale, (h - hl) / scale
    parent = g / scale * (g / scale) / (h / scale + l2)
    return a * a / (b + l2) + c * c / (d + l2) - parent


def reference_model(
    spec: SecureBoostSpec, frames: dict[str, pd.DataFrame]
) -> tuple[list[list[TreeNode]], dict[int, tuple[str, SplitRule]]]:
    """Trees (as the label holder stores them, before early stopping) and every split's owner
    and rule."""
    bank = spec.label_holder
    y = frames[bank.party][bank.label].to_numpy().astype(np.int8)
    split = spec.split
    roles = row_roles(y, split.test_fraction, split.validation_fraction, split.seed)
    train = roles == TRAIN
    binned: dict[str, Any] = {}
    for holder in (bank, *spec.feature_holders):
        values = load_columns(holder.party, frames[holder.party], holder.features)
        binned[holder.party] = bin_columns(holder.features, values, train, spec.model.bins)
    codes = {p: b.codes[train] for p, b in binned.items()}
    y_train = y[train]
    frac, l2 = spec.encryption.gh_frac_bits, spec.model.l2
    scale = float(1 << frac)
    floor = max(spec.model.min_child_weight, 1.0 / scale)
    margin = np.full(len(y_train), base_margin(y_train))
    trees: list[list[TreeNode]] = []
    rules: dict[int, tuple[str, SplitRule]] = {}
    for t in range(spec.model.trees):
        gq, hq = quantize(*gradients(margin, y_train), frac)
        sample = tree_sample(len(y_train), spec.model.subsample, split.seed, t)
        gq, hq = np.where(sample, gq, 0), np.where(sample, hq, 0)
        active = tree_columns(spec, t)
        nodes = [TreeNode()]
        pos = np.zeros(len(y_train), dtype=np.int64)
        frontier = [0]
        for _ in range(spec.model.max_depth):
            nxt = []
            for node in frontier:
                here = pos == node
                if (here & sample).sum() < 2:
                    continue
                g_tot, h_tot = int(gq[here].sum()), int(hq[here].sum())
                best: tuple[float, str, int, int, bool] | None = None
                for party in spec.parties:
                    for column in active[party]:
                        col = codes[party][:, column]
                        bins = binned[party].columns[column]
                        v = bins.value_bins
                        candidates = [(t_, False) for t_ in range(v)]
                        candidates += [(t_, True) for t_ in range(v - 1)]
                        for threshold, missing_left in candidates:
                            left = np.where(col == v, missing_left, col <= threshold) & here
                            gl, hl = int(gq[left].sum()), int(hq[left].sum())
                            if hl / scale < floor or (h_tot - hl) / scale < floor:
                                continue
                            gain = _gain(gl, hl, g_tot, h_tot, scale, l2)
                            if best is None or gain > best[0]:
                                best = (gain, party, column, threshold, missing_left)
                if best is None or best[0] <= max(spec.model.min_gain, 1e-6):
                    continue
                gain, party, column, threshold, missing_left = best
                bins = binned[party].columns[column]
                col = codes[party][:, column]
                goes = np.where(col == bins.value_bins, missing_left, col <= threshold)
                left_id, right_id = len(nodes), len(nodes) + 1
                record = record_id(t, node)
                nodes[node] = TreeNode(left_id, right_id, party, record, gain)
                nodes += [TreeNode(), TreeNode()]
                rule = SplitRule(bins.name, bins.threshold(threshold), missing_left)
                rules[record] = (party, rule)
                pos[here & goes] = left_id
                pos[here & ~goes] = right_id
                nxt += [left_id, right_id]
            frontier = nxt
        weights = []
        for i, n in enumerate(nodes):
            if not n.is_leaf:
                weights.append(0.0)
                continue
            g, h = int(gq[pos == i].sum()), int(hq[pos == i].sum())
            w = -spec.model.learning_rate * (g / scale) / (h / scale + l2)
            nodes[i] = TreeNode(weight=w)
            weights.append(w)
        margin = margin + np.array(weights)[pos]
        trees.append(nodes)
    return trees, rules
