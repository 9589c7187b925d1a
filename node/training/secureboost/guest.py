"""The label holder (the bank, SecureBoost's active party): keys, split, trees, early stopping.

It generates the attempt's Paillier key pair, agrees with the feature holders where to resume,
draws the test / validation / training rows, grows every tree (``grow.py``), scores the
validation rows after each tree by federated prediction (each holder resolves its own splits),
stops early on validation AUC, and finally scores the test rows with the model cut back to its
best tree count. See docs/protocols/secureboost.md.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.jobs.hooks import JobHooks
from node.training import metrics
from node.training.curves import model_curves
from node.training.secureboost import checkpoint
from node.training.secureboost import wire as sbwire
from node.training.secureboost.binning import BinnedColumns, bin_columns
from node.training.secureboost.cells import GuestKeys, key_message
from node.training.secureboost.checkpoint import GuestState
from node.training.secureboost.grow import Counters, TreeGrower
from node.training.secureboost.loss import base_margin, log_loss
from node.training.secureboost.model import (
    Directions,
    Ensemble,
    PartyPart,
    directions_by_record,
    resolve_columns,
)
from node.training.secureboost.results import GuestResult
from node.training.secureboost.role import Role
from node.training.secureboost.rows import TEST, TRAIN, VALIDATION, row_roles
from node.training.secureboost.session import topic
from node.training.secureboost.spec import SecureBoostSpec
from node.training.vertical import wire
from node.training.vertical.exceptions import MalformedMessage
from node.training.vertical.local import load_labels
from node.transport.channel import PartyChannel

log = logging.getLogger("fedcredit.training.secureboost")


def _quality(y: NDArray[np.int8], margin: NDArray[np.float64]) -> dict[str, float]:
    auc = metrics.auc(y, margin)
    ks = metrics.ks(y, margin)
    return {"auc": auc, "ks": ks, "gini": 2 * auc - 1, "loss": log_loss(y, margin)}


class GuestRole(Role):
    """One attempt of the label holder's side."""

    def setup(self, frame: pd.DataFrame) -> None:
        assert self.data.label is not None
        self.y = load_labels(self.me, frame, self.data.label)
        self.counters = Counters()

    def run(self) -> GuestResult:
        """Run to the end; on a failure tell the others and raise (see ``session.py``)."""
        keys = GuestKeys(self.spec.encryption.key_bits, self.spec.encryption.plaintext, self.pool)
        try:
            return self.session.guard(lambda: self._run(keys), self.spec.rejoin_wait_s)
        finally:
            keys.close()

    # -- set-up --------------------------------------------------------------------------
    def _resume(self) -> int:
        mine = checkpoint.latest(self.hooks)
        start = mine
        for host in self.spec.hosts:
            name = topic("resume", "have")
            blob = self.session.recv(host, name, "resume")
            have = wire.decode_json(blob, host, name, {"trees"})["trees"]
            if not isinstance(have, int) or not 0 <= have <= self.spec.model.trees:
                raise MalformedMessage(host, name, "tree count out of range")
            start = min(start, have)
        return start

    def _host_slots(self) -> dict[str, NDArray[np.int64]]:
        out = {}
        for holder in self.spec.feature_holders:
            name = topic("layout")
            obj = wire.decode_json(
                self.session.recv(holder.party, name, "setup"), holder.party, name, {"slots"}
            )
            slots = obj["slots"]
            if (
                not isinstance(slots, list)
                or len(slots) != len(holder.features)
                or not all(isinstance(s, int) and 2 <= s <= self.spec.model.bins + 1 for s in slots)
            ):
                raise MalformedMessage(holder.party, name, "slot counts do not fit the job")
            out[holder.party] = np.array(slots, dtype=np.int64)
        return out

    def _state(self, start: int, train: int, valid: int, prior: float) -> GuestState:
        if start == 0:
            empty = PartyPart(self.me, {})
            margins = np.full(train, prior), np.full(valid, prior)
            return GuestState(0, Ensemble(prior), empty, *margins)
        state = GuestState.from_bytes(
            self.me, checkpoint.load(self.hooks, self.me, start), train, valid
        )
        if state.trees != start:
            raise MalformedMessage(self.me, "checkpoint", f"holds tree {state.trees}, not {start}")
        return state

    # -- the run -------------------------------------------------------------------------
    def _run(self, keys: GuestKeys) -> GuestResult:
        spec = self.spec
        for host in spec.hosts:
            self.session.send(host, topic("key"), key_message(keys.arith), "key exchange")
        self.record_use()
        start = self._resume()
        roles = row_roles(
            self.y, spec.split.test_fraction, spec.split.validation_fraction, spec.split.seed
        )
        train, valid = np.flatnonzero(roles == TRAIN), np.flatnonzero(roles == VALIDATION)
        state = self._state(start, len(train), len(valid), base_margin(self.y[train]))
        told = wire.encode_json({"trees": start, "stopped": state.stopped})
        for host in spec.hosts:
            self.session.send(host, topic("resume", "from"), told, "resume")
            self.session.send(host, topic("setup"), sbwire.encode_codes(roles), "setup")
        binned = bin_columns(
            spec.label_holder.features, self.values, roles == TRAIN, spec.model.bins
        )
        own = BinnedColumns(binned.columns, binned.codes[train])
        grower = TreeGrower(
            self.session, keys, spec, self.y[train], own, self._host_slots(), self.counters
        )
        grower.prefetch(state.trees)
        for tree in range(state.trees, 0 if state.stopped else spec.model.trees):
            grown = grower.grow(tree, state.margin_train)
            state.ensemble = Ensemble(
                state.ensemble.base_margin, (*state.ensemble.trees, tuple(grown.nodes))
            )
            state.part = PartyPart(self.me, {**state.part.rules, **grown.rules})
            weights = np.array([n.weight for n in grown.nodes])
            state.margin_train = state.margin_train + weights[grown.leaf_of]
            state.margin_valid = state.margin_valid + self._tree_margin(tree, state, valid)
            found = _quality(self.y[valid], state.margin_valid)
            self._stopping(tree, found, state)
            checkpoint.save(self.hooks, tree + 1, state.to_bytes())
            for host in spec.hosts:
                self.session.send(
                    host,
                    topic(f"t{tree}", "control"),
                    wire.encode_json({"stop": state.stopped}),
                    "training",
                )
            self.hooks.progress("tree", tree + 1, spec.model.trees, {"val_auc": found["auc"]})
            log.info(
                "secureboost job %s tree %d: validation AUC %.4f",
                self.session.channel.job_id,
                tree + 1,
                found["auc"],
            )
            if state.stopped:
                break
        return self._final(state, roles, start)

    def _stopping(self, tree: int, found: dict[str, float], state: GuestState) -> None:
        stopping = self.spec.model.early_stopping
        state.history.append({"tree": tree + 1, "val_auc": found["auc"], "val_loss": found["loss"]})
        min_delta = stopping.min_delta if stopping else 0.0
        if state.best_auc is None or found["auc"] > state.best_auc + min_delta or not stopping:
            state.best_auc, state.best_trees, state.wait = found["auc"], tree + 1, 0
        else:
            state.wait += 1
        state.trees = tree + 1
        state.stopped = bool(stopping and state.wait >= stopping.patience)

    # -- federated prediction ------------------------------------------------------------
    def _directions(
        self, name: str, part: PartyPart, rows: NDArray[np.int64], records: dict[str, list[int]]
    ) -> Directions:
        """Every party's directions at its listed records, for ``rows``: the hosts' from them,
        the own ones resolved here."""
        out: dict[str, dict[int, NDArray[np.bool_]]] = {}
        for host in self.spec.hosts:
            wanted = records.get(host, [])
            self.session.send(host, name, wire.encode_json({"records": wanted}), "prediction")
            blob = self.session.recv(host, f"{name}/dirs", "prediction")
            bits = wire.decode_bits(blob, host, f"{name}/dirs", len(wanted) * len(rows))
            out[host] = directions_by_record(wanted, bits.reshape(len(wanted), len(rows)))
        columns = {f: self.values[rows, j] for j, f in enumerate(self.spec.label_holder.features)}
        own = records.get(self.me, [])
        out[self.me] = directions_by_record(own, resolve_columns(part, columns, own))
        return out

    def _tree_margin(
        self, tree: int, state: GuestState, rows: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        nodes = state.ensemble.trees[tree]
        records: dict[str, list[int]] = {}
        for node in nodes:
            if node.party is not None and node.record is not None:
                records.setdefault(node.party, []).append(node.record)
        directions = self._directions(topic(f"t{tree}", "eval"), state.part, rows, records)
        return state.ensemble.tree_margin(nodes, directions, len(rows))

    # -- the end -------------------------------------------------------------------------
    def _final(self, state: GuestState, roles: NDArray[np.int16], start: int) -> GuestResult:
        spec = self.spec
        best = state.best_trees
        ensemble = state.ensemble.truncated(best)
        part = state.part.truncated(best).with_importance(ensemble.gains_of(self.me))
        for host in spec.hosts:
            gains = sorted(ensemble.gains_of(host).items())
            self.session.send(
                host, topic("final"), wire.encode_json({"trees": best, "gains": gains}), "final"
            )
        test = np.flatnonzero(roles == TEST)
        records = {p: ensemble.records_of(p) for p in spec.parties}
        directions = self._directions(topic("final", "test"), part, test, records)
        margin = ensemble.margin(directions, len(test))
        found = _quality(self.y[test], margin)
        at_best = next((h for h in state.history if h["tree"] == best), {})
        self.hooks.record("model_trained", {"trees": best, "splits": len(part.rules)})
        return GuestResult(
            ensemble,
            part,
            state.trees,
            start,
            found,
            {k: float(v) for k, v in at_best.items() if k != "tree"},
            state.history,
            {
                name: int((roles == r).sum())
                for name, r in (("train", TRAIN), ("validation", VALIDATION), ("test", TEST))
            },
            {**self.counters.as_dict(), "bytes_sent": self.session.bytes_sent},
            extra={"curves": model_curves(self.y[test], margin)},  # banded, for the console
        )


def run_guest(
    channel: PartyChannel,
    hooks: JobHooks,
    spec: SecureBoostSpec,
    frame: pd.DataFrame,
    pool: Executor | None = None,
) -> GuestResult:
    """Run the label holder's side; ``frame`` holds the PSI-aligned rows in the shared order.

    Raises
    ------
    DataMismatch
        A column is missing or invalid, or the label is not 0/1.
    PartyFailed
        Another party failed, or left and did not return within ``rejoin_wait_s``.
    MalformedMessage
        Another party sent something that failed validation.
    """
    return GuestRole(channel, hooks, spec, frame, pool).run()
