"""The label holder grows one tree, layer by layer, with the feature holders.

Per tree: compute every training row's gradient and hessian, encrypt the sampled rows' pairs
(one ciphertext per row, see ``layout.py``) and send them to every feature holder the tree uses.
Per layer: tell those holders which rows sit in which node and which nodes to histogram (the
root, then only the child with fewer sampled rows of each split pair); decrypt their packed
histograms, derive each sibling as parent minus child in the clear, add the own columns'
histograms, choose each node's best split across all parties, and ask each split's owner —
only the owner — which rows go left. The leaf weights stay here. See
docs/protocols/secureboost.md for the message flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from node.training.secureboost import wire as sbwire
from node.training.secureboost.binning import BinnedColumns, goes_left
from node.training.secureboost.cells import GuestKeys
from node.training.secureboost.histogram import plain_histograms, slot_index
from node.training.secureboost.layout import GHLayout
from node.training.secureboost.loss import gradients, quantize
from node.training.secureboost.model import SplitRule, TreeNode, record_id
from node.training.secureboost.rows import tree_columns, tree_sample
from node.training.secureboost.session import Session, topic
from node.training.secureboost.spec import SecureBoostSpec
from node.training.secureboost.split import (
    Histogram,
    Split,
    SplitRules,
    best_split,
    leaf_weight,
)
from node.training.vertical import wire
from node.training.vertical.exceptions import MalformedMessage


@dataclass
class GrownTree:
    """One finished tree: its nodes, the label holder's own new rules, each training row's leaf."""

    nodes: list[TreeNode]
    rules: dict[int, SplitRule]
    leaf_of: NDArray[np.int64]


@dataclass
class Counters:
    """What the label holder did, for the job summary and the benchmark."""

    encrypted: int = 0
    decrypted: int = 0
    host_histograms: int = 0
    # what a protocol without subtraction would histogram: every splittable node, every row
    nodes_evaluated: int = 0
    rows_evaluated: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "ciphertexts_encrypted": self.encrypted,
            "decryptions": self.decrypted,
            "host_node_histograms": self.host_histograms,
            "host_nodes_evaluated": self.nodes_evaluated,
            "host_rows_evaluated": self.rows_evaluated,
        }


@dataclass
class _Layer:
    """The label holder's bookkeeping while it grows one tree."""

    pos: NDArray[np.int64]
    nodes: list[TreeNode] = field(default_factory=lambda: [TreeNode()])
    host_hists: dict[int, dict[str, Histogram]] = field(default_factory=dict)


class TreeGrower:
    """Grows the label holder's trees; one instance per job attempt."""

    def __init__(
        self,
        session: Session,
        keys: GuestKeys,
        spec: SecureBoostSpec,
        y_train: NDArray[np.int8],
        own: BinnedColumns,
        host_slots: Mapping[str, NDArray[np.int64]],
        counters: Counters,
    ) -> None:
        self.session = session
        self.keys = keys
        self.spec = spec
        self.y = y_train
        self.own = own
        self.host_slots = host_slots
        self.counters = counters
        self.me = spec.label_holder.party
        self.frac = spec.encryption.gh_frac_bits
        model = spec.model
        self.rules = SplitRules(model.l2, model.min_child_weight, model.min_gain, self.frac)

    def prefetch(self, tree: int) -> None:
        """Start drawing the encryption randomness tree ``tree`` will need."""
        if tree < self.spec.model.trees and self._hosts_in(tree):
            sample = tree_sample(len(self.y), self.spec.model.subsample, self.spec.split.seed, tree)
            self.keys.prefetch(int(sample.sum()))

    def _hosts_in(self, tree: int) -> list[str]:
        columns = tree_columns(self.spec, tree)
        return [h for h in self.spec.hosts if columns[h]]

    # -- one tree ------------------------------------------------------------------------
    def grow(self, tree: int, margin: NDArray[np.float64]) -> GrownTree:
        """Grow tree ``tree`` (0-based) from the training rows' current ``margin``."""
        spec = self.spec
        g, h = gradients(margin, self.y)
        gq, hq = quantize(g, h, self.frac)
        sample = tree_sample(len(self.y), spec.model.subsample, spec.split.seed, tree)
        gq, hq = np.where(sample, gq, 0), np.where(sample, hq, 0)
        columns = tree_columns(spec, tree)
        hosts_in = {host: columns[host] for host in spec.hosts if columns[host]}
        layout = self._send_gradients(tree, sample, gq, hq, list(hosts_in))
        self.prefetch(tree + 1)
        state = _Layer(pos=np.zeros(len(self.y), dtype=np.int64))
        own_rules: dict[int, SplitRule] = {}
        frontier, pairs = [0], [(-1, 0, 0)]
        depth = 0
        while depth < spec.model.max_depth:
            counts = np.bincount(state.pos[sample], minlength=len(state.nodes))
            splittable = {n for n in frontier if counts[n] >= 2}
            if not splittable:
                break
            g_tot, h_tot = _totals(state.pos, gq, hq, len(state.nodes))
            compute = sorted(
                min(pair, key=lambda n: counts[n]) for _, *pair in pairs if set(pair) & splittable
            )
            if hosts_in:
                self.counters.nodes_evaluated += len(splittable)
                self.counters.rows_evaluated += int(sum(counts[n] for n in splittable))
            name = topic(f"t{tree}", f"d{depth}")
            hists = self._host_histograms(
                name, state, frontier, compute, pairs, hosts_in, layout, (g_tot, h_tot)
            )
            own = self._own_histograms(
                state.pos, sample, gq, hq, sorted(splittable), columns[self.me]
            )
            splits = {}
            for node in sorted(splittable):
                found = best_split(
                    [own[node], *(hists[host][node] for host in hosts_in)],
                    int(g_tot[node]),
                    int(h_tot[node]),
                    self.rules,
                )
                if found is not None:
                    splits[node] = found
            lefts = self._partition(name, tree, state, splits, list(hosts_in), own_rules)
            state.host_hists = {n: {host: hists[host][n] for host in hosts_in} for n in splits}
            frontier, pairs = [], []
            for node, split in splits.items():
                left, right = len(state.nodes), len(state.nodes) + 1
                state.nodes[node] = TreeNode(
                    left, right, split.party, record_id(tree, node), split.gain
                )
                state.nodes += [TreeNode(), TreeNode()]
                rows = np.flatnonzero(state.pos == node)
                state.pos[rows] = np.where(lefts[node], left, right)
                frontier += [left, right]
                pairs.append((node, left, right))
            depth += 1
        end = wire.encode_json({"compute": [], "end": True})
        for host in hosts_in:
            self.session.send(host, topic(f"t{tree}", f"d{depth}", "layer"), end, "training")
        return self._leaves(state, gq, hq, own_rules)

    def _send_gradients(
        self,
        tree: int,
        sample: NDArray[np.bool_],
        gq: NDArray[np.int64],
        hq: NDArray[np.int64],
        hosts_in: list[str],
    ) -> GHLayout | None:
        """Encrypt the sampled rows' (g, h) pairs and send them to the holders in this tree."""
        rows = int(sample.sum())
        layout = GHLayout(self.frac, rows, self.spec.encryption.key_bits) if hosts_in else None
        cells = self.keys.arith.cells(())
        if layout is not None:
            cells = self.keys.encrypt(layout.row_values(gq[sample], hq[sample]))
            self.counters.encrypted += len(cells)
        name = topic(f"t{tree}")
        for host in self.spec.hosts:
            joins = host in hosts_in
            plan = wire.encode_json({"rows": rows if joins else 0})
            self.session.send(host, f"{name}/plan", plan, "training")
            if joins:
                self.session.send(host, f"{name}/sample", wire.encode_bits(sample), "training")
                sbwire.send_cells(
                    self.session, host, f"{name}/gh", cells, self.keys.arith, "training"
                )
        return layout

    def _host_histograms(
        self,
        name: str,
        state: _Layer,
        frontier: list[int],
        compute: list[int],
        pairs: list[tuple[int, int, int]],
        hosts_in: Mapping[str, list[int]],
        layout: GHLayout | None,
        totals: tuple[NDArray[np.int64], NDArray[np.int64]],
    ) -> dict[str, dict[int, Histogram]]:
        """Every holder's histograms of every frontier node: the computed ones decrypted,
        their siblings derived here as parent minus child."""
        codes = np.where(np.isin(state.pos, frontier), state.pos, -1).astype(np.int16)
        layer = wire.encode_json({"compute": compute, "end": False})
        for host in hosts_in:
            self.session.send(host, f"{name}/layer", layer, "training")
            self.session.send(host, f"{name}/codes", sbwire.encode_codes(codes), "training")
        out: dict[str, dict[int, Histogram]] = {}
        for host, active in hosts_in.items():
            assert layout is not None
            slots = self.host_slots[host][active]
            stride = int(slots.sum())
            count = layout.plaintexts_for(stride * len(compute))
            cells = sbwire.recv_cells(
                self.session, host, f"{name}/hist", count, self.keys.arith, "training"
            )
            plain = self.keys.decrypt(cells)
            self.counters.decrypted += len(plain)
            self.counters.host_histograms += len(compute)
            g, h = layout.unpack(plain, stride * len(compute), host, f"{name}/hist")
            mine: dict[int, Histogram] = {}
            for c, node in enumerate(compute):
                part = slice(c * stride, (c + 1) * stride)
                mine[node] = Histogram(host, tuple(active), slots, g[part], h[part])
                _check_totals(mine[node], int(totals[0][node]), int(totals[1][node]), host, name)
            for parent, left, right in pairs:
                before = state.host_hists.get(parent, {}).get(host)
                if before is None:
                    continue
                if left in mine and right not in mine:
                    mine[right] = before - mine[left]
                elif right in mine and left not in mine:
                    mine[left] = before - mine[right]
            out[host] = mine
        return out

    def _own_histograms(
        self,
        pos: NDArray[np.int64],
        sample: NDArray[np.bool_],
        gq: NDArray[np.int64],
        hq: NDArray[np.int64],
        nodes: list[int],
        active: list[int],
    ) -> dict[int, Histogram]:
        slots = self.own.slots[active]
        stride = int(slots.sum())
        lookup = np.full(int(pos.max()) + 1, -1, dtype=np.int64)
        lookup[nodes] = np.arange(len(nodes))
        rows = np.flatnonzero(sample & np.isin(pos, nodes))
        codes = self.own.codes[np.ix_(rows, np.asarray(active, dtype=np.int64))]
        index = slot_index(codes, np.cumsum(slots) - slots, lookup[pos[rows]] * stride)
        g, h = plain_histograms(index, gq[rows], hq[rows], stride * len(nodes))
        return {
            node: Histogram(
                self.me,
                tuple(active),
                slots,
                g[c * stride : (c + 1) * stride],
                h[c * stride : (c + 1) * stride],
            )
            for c, node in enumerate(nodes)
        }

    def _partition(
        self,
        name: str,
        tree: int,
        state: _Layer,
        splits: Mapping[int, Split],
        hosts_in: list[str],
        own_rules: dict[int, SplitRule],
    ) -> dict[int, NDArray[np.bool_]]:
        """Which rows of every split node go left: the owner of each split says."""
        lefts: dict[int, NDArray[np.bool_]] = {}
        for host in hosts_in:
            mine = [(n, s) for n, s in splits.items() if s.party == host]
            body = [[n, s.column, s.threshold_bin, s.missing_left] for n, s in mine]
            self.session.send(host, f"{name}/split", wire.encode_json({"splits": body}), "training")
            if not mine:
                continue
            sizes = [int((state.pos == n).sum()) for n, _ in mine]
            bits = wire.decode_bits(
                self.session.recv(host, f"{name}/part", "training"),
                host,
                f"{name}/part",
                sum(sizes),
            )
            for (node, _), chunk in zip(mine, np.split(bits, np.cumsum(sizes)[:-1]), strict=True):
                lefts[node] = chunk
        for node, split in splits.items():
            if split.party != self.me:
                continue
            column = self.own.columns[split.column]
            rows = np.flatnonzero(state.pos == node)
            lefts[node] = goes_left(
                self.own.codes[rows, split.column],
                split.threshold_bin,
                column.value_bins,
                split.missing_left,
            )
            own_rules[record_id(tree, node)] = SplitRule(
                column.name, column.threshold(split.threshold_bin), split.missing_left
            )
        return lefts

    def _leaves(
        self,
        state: _Layer,
        gq: NDArray[np.int64],
        hq: NDArray[np.int64],
        own_rules: dict[int, SplitRule],
    ) -> GrownTree:
        g_tot, h_tot = _totals(state.pos, gq, hq, len(state.nodes))
        lr = self.spec.model.learning_rate
        nodes = [
            node
            if not node.is_leaf
            else TreeNode(weight=leaf_weight(int(g_tot[i]), int(h_tot[i]), self.rules, lr))
            for i, node in enumerate(state.nodes)
        ]
        return GrownTree(nodes, own_rules, state.pos.copy())


def _totals(
    pos: NDArray[np.int64], gq: NDArray[np.int64], hq: NDArray[np.int64], size: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Exact gradient and hessian sums per node (float64 sums stay below 2^53)."""
    g = np.bincount(pos, weights=gq, minlength=size).astype(np.int64)
    h = np.bincount(pos, weights=hq, minlength=size).astype(np.int64)
    return g, h


def _check_totals(hist: Histogram, g: int, h: int, sender: str, name: str) -> None:
    """Every column's slots of a node sum to the node's totals, which this party knows."""
    starts = np.concatenate([[0], np.cumsum(hist.slots)])
    g_sums = np.add.reduceat(hist.g, starts[:-1]) if len(hist.g) else np.zeros(0)
    h_sums = np.add.reduceat(hist.h, starts[:-1]) if len(hist.h) else np.zeros(0)
    if (g_sums != g).any() or (h_sums != h).any():
        raise MalformedMessage(sender, name, "a column's histogram does not sum to its node")
