"""A feature holder (SecureBoost's passive party): bins, encrypted histograms, its own splits.

It bins its columns on the training rows, and for every tree it takes part in it receives one
ciphertext per sampled row (gradient and hessian packed together), builds the encrypted
histograms of the nodes the label holder asks for (``histogram.py``, on worker processes), packs
them many bins to a ciphertext and sends them back. When the label holder picks one of its
candidates it files the rule — column and threshold — under a record id in its own lookup
table and answers only with which rows go left. Its rules never leave this party; for
prediction it answers the same way (``resolve_columns``).
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.jobs.hooks import JobHooks
from node.training.secureboost import checkpoint
from node.training.secureboost import wire as sbwire
from node.training.secureboost.binning import BinnedColumns, bin_columns, goes_left
from node.training.secureboost.cells import CellArith, arith_from_message
from node.training.secureboost.checkpoint import HostState
from node.training.secureboost.histogram import histograms, pack, slot_index
from node.training.secureboost.layout import GHLayout
from node.training.secureboost.model import (
    PartyPart,
    SplitRule,
    record_id,
    resolve_columns,
    tree_of,
)
from node.training.secureboost.results import HostResult
from node.training.secureboost.role import Role
from node.training.secureboost.rows import TEST, TRAIN, VALIDATION, tree_columns
from node.training.secureboost.session import topic
from node.training.secureboost.spec import SecureBoostSpec
from node.training.vertical import wire
from node.training.vertical.exceptions import DataMismatch, MalformedMessage
from node.transport.channel import PartyChannel

log = logging.getLogger("fedcredit.training.secureboost")


class HostRole(Role):
    """One attempt of a feature holder's side."""

    def setup(self, frame: pd.DataFrame) -> None:
        self.counters = {"ciphertexts_received": 0, "ciphertexts_sent": 0, "node_histograms": 0}

    def run(self) -> HostResult:
        """Run to the end; on a failure tell the others and raise (see ``session.py``)."""
        return self.session.guard(self._run, self.spec.rejoin_wait_s)

    def _recv_json(self, name: str, keys: set[str], stage: str) -> dict[str, Any]:
        return wire.decode_json(self.session.recv(self.lead, name, stage), self.lead, name, keys)

    # -- the run -------------------------------------------------------------------------
    def _run(self) -> HostResult:
        spec = self.spec
        arith = arith_from_message(
            self.session.recv(self.lead, topic("key"), "key exchange"),
            self.lead,
            topic("key"),
            spec.encryption.plaintext,
            spec.encryption.key_bits,
        )
        self.record_use()
        mine = checkpoint.latest(self.hooks)
        self.session.send(
            self.lead, topic("resume", "have"), wire.encode_json({"trees": mine}), "resume"
        )
        told = self._recv_json(topic("resume", "from"), {"trees", "stopped"}, "resume")
        start = told["trees"]
        if not isinstance(start, int) or not 0 <= start <= mine:
            raise MalformedMessage(self.lead, topic("resume", "from"), "tree count out of range")
        roles = self._roles()
        binned = bin_columns(self.data.features, self.values, roles == TRAIN, spec.model.bins)
        self.session.send(
            self.lead, topic("layout"), wire.encode_json({"slots": binned.slots.tolist()}), "setup"
        )
        state = HostState(0, PartyPart(self.me, {}))
        if start:
            state = HostState.from_bytes(self.me, checkpoint.load(self.hooks, self.me, start))
            if state.trees != start:
                raise DataMismatch(self.me, f"checkpoint holds tree {state.trees}, not {start}")
        train = np.flatnonzero(roles == TRAIN)
        own = BinnedColumns(binned.columns, binned.codes[train])
        valid = np.flatnonzero(roles == VALIDATION)
        for tree in range(start, 0 if told["stopped"] else spec.model.trees):
            self._tree(tree, arith, own, state)
            self._answer(topic(f"t{tree}", "eval"), state.part, valid, tree)
            control = self._recv_json(topic(f"t{tree}", "control"), {"stop"}, "training")
            state.trees = tree + 1
            checkpoint.save(self.hooks, tree + 1, state.to_bytes())
            self.hooks.progress("tree", tree + 1, spec.model.trees, {})
            if control["stop"] is True:
                break
        return self._final(state, roles, start)

    def _roles(self) -> NDArray[np.int16]:
        blob = self.session.recv(self.lead, topic("setup"), "setup")
        try:
            roles = sbwire.decode_codes(blob, self.lead, topic("setup"), self.rows)
        except MalformedMessage:
            raise DataMismatch(self.me, "the label holder has a different number of rows") from None
        if not np.isin(roles, (TRAIN, VALIDATION, TEST)).all():
            raise MalformedMessage(self.lead, topic("setup"), "a row role is unknown")
        return roles

    # -- one tree ------------------------------------------------------------------------
    def _tree(self, tree: int, arith: CellArith, own: BinnedColumns, state: HostState) -> None:
        name = topic(f"t{tree}")
        rows = self._recv_json(f"{name}/plan", {"rows"}, "training")["rows"]
        active = tree_columns(self.spec, tree)[self.me]
        if rows == 0:
            return
        train_rows = len(own.codes)
        if not isinstance(rows, int) or not active or not 0 < rows <= train_rows:
            raise MalformedMessage(self.lead, f"{name}/plan", "this party is not in the tree")
        blob = self.session.recv(self.lead, f"{name}/sample", "training")
        sample = wire.decode_bits(blob, self.lead, f"{name}/sample", train_rows)
        if int(sample.sum()) != rows:
            raise MalformedMessage(self.lead, f"{name}/sample", "sample size differs from plan")
        cells = sbwire.recv_cells(self.session, self.lead, f"{name}/gh", rows, arith, "training")
        self.counters["ciphertexts_received"] += rows
        layout = GHLayout(self.spec.encryption.gh_frac_bits, rows, self.spec.encryption.key_bits)
        cell_of = np.full(train_rows, -1, dtype=np.int64)
        cell_of[sample] = np.arange(rows)
        slots = own.slots[active]
        stride = int(slots.sum())
        depth = 0
        while True:
            layer = self._recv_json(f"{name}/d{depth}/layer", {"compute", "end"}, "training")
            if layer["end"] is True:
                return
            blob = self.session.recv(self.lead, f"{name}/d{depth}/codes", "training")
            codes = sbwire.decode_codes(blob, self.lead, f"{name}/d{depth}/codes", train_rows)
            compute = _node_list(layer["compute"], codes, self.lead, f"{name}/d{depth}/layer")
            lookup = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
            lookup[compute] = np.arange(len(compute))
            chosen = np.flatnonzero(sample & np.isin(codes, compute))
            index = slot_index(
                own.codes[np.ix_(chosen, np.asarray(active, dtype=np.int64))],
                np.cumsum(slots) - slots,
                lookup[codes[chosen]] * stride,
            )
            bins = histograms(
                arith,
                cells.take(cell_of[chosen].tolist()),
                index,
                stride * len(compute),
                self.pool,
            )
            packed = pack(arith, bins, layout, self.pool)
            sbwire.send_cells(
                self.session, self.lead, f"{name}/d{depth}/hist", packed, arith, "training"
            )
            self.counters["ciphertexts_sent"] += len(packed)
            self.counters["node_histograms"] += len(compute)
            self._split(f"{name}/d{depth}", tree, codes, own, active, state)
            depth += 1

    def _split(
        self,
        name: str,
        tree: int,
        codes: NDArray[np.int16],
        own: BinnedColumns,
        active: list[int],
        state: HostState,
    ) -> None:
        """File the rules the label holder chose among this party's candidates; say which
        rows go left (positions only)."""
        body = self._recv_json(f"{name}/split", {"splits"}, "training")["splits"]
        if not isinstance(body, list):
            raise MalformedMessage(self.lead, f"{name}/split", "splits must be a list")
        chunks = []
        rules = dict(state.part.rules)
        for entry in body:
            if not (isinstance(entry, list) and len(entry) == 4):
                raise MalformedMessage(self.lead, f"{name}/split", "a split is malformed")
            node, column, threshold_bin, missing_left = entry
            if (
                not isinstance(node, int)
                or not (codes == node).any()
                or column not in active
                or not isinstance(threshold_bin, int)
                or not 0 <= threshold_bin < own.columns[column].value_bins
                or not isinstance(missing_left, bool)
                or record_id(tree, node) in rules
            ):
                raise MalformedMessage(self.lead, f"{name}/split", "a split names no candidate")
            bins = own.columns[column]
            rows = np.flatnonzero(codes == node)
            chunks.append(
                goes_left(own.codes[rows, column], threshold_bin, bins.value_bins, missing_left)
            )
            rules[record_id(tree, node)] = SplitRule(
                bins.name, bins.threshold(threshold_bin), missing_left
            )
        state.part = PartyPart(self.me, rules)
        if chunks:
            self.session.send(
                self.lead, f"{name}/part", wire.encode_bits(np.concatenate(chunks)), "training"
            )

    # -- prediction and the end ----------------------------------------------------------
    def _answer(
        self, name: str, part: PartyPart, rows: NDArray[np.int64], tree: int | None
    ) -> None:
        """Resolve the records the label holder asks for on ``rows`` and send the directions."""
        wanted = self._recv_json(name, {"records"}, "prediction")["records"]
        if not isinstance(wanted, list) or any(
            r not in part.rules or (tree is not None and tree_of(r) != tree) for r in wanted
        ):
            raise MalformedMessage(self.lead, name, "asks for a record this party does not own")
        columns = {f: self.values[rows, j] for j, f in enumerate(self.data.features)}
        bits = resolve_columns(part, columns, wanted)
        self.session.send(self.lead, f"{name}/dirs", wire.encode_bits(bits.ravel()), "prediction")

    def _final(self, state: HostState, roles: NDArray[np.int16], start: int) -> HostResult:
        told = self._recv_json(topic("final"), {"trees", "gains"}, "final")
        trees, gains = told["trees"], told["gains"]
        if not isinstance(trees, int) or not 0 <= trees <= state.trees:
            raise MalformedMessage(self.lead, topic("final"), "tree count out of range")
        part = state.part.truncated(trees)
        try:
            part = part.with_importance({int(r): float(g) for r, g in gains})
        except (KeyError, TypeError, ValueError):
            raise MalformedMessage(self.lead, topic("final"), "gains name unknown splits") from None
        self._answer(topic("final", "test"), part, np.flatnonzero(roles == TEST), None)
        self.hooks.record("model_trained", {"trees": trees, "splits": len(part.rules)})
        return HostResult(part, trees, start, dict(self.counters))


def _node_list(raw: object, codes: NDArray[np.int16], sender: str, name: str) -> list[int]:
    """The nodes to histogram: distinct node ids that some row sits in."""
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(n, int) for n in raw)
        or len(set(raw)) != len(raw)
        or not np.isin(raw, codes).all()
    ):
        raise MalformedMessage(sender, name, "names no node of this tree")
    return [int(n) for n in raw]


def run_host(
    channel: PartyChannel,
    hooks: JobHooks,
    spec: SecureBoostSpec,
    frame: pd.DataFrame,
    pool: Executor | None = None,
) -> HostResult:
    """Run a feature holder's side; ``frame`` holds the PSI-aligned rows in the shared order.

    Raises
    ------
    DataMismatch
        A column is missing or invalid, or the row count differs from the label holder's.
    PartyFailed
        Another party failed, or left and did not return within ``rejoin_wait_s``.
    MalformedMessage
        The label holder sent something that failed validation.
    """
    return HostRole(channel, hooks, spec, frame, pool).run()
