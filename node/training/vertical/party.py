"""What both kinds of data party do: key, resume, preparation, mini-batches, checkpoints.

A data party is either the label holder (``label_holder.py``) or a feature holder
(``feature_holder.py``). They differ in who forms the encrypted residual, who scores the
validation rows and what they return; everything else — turning the residual into a packed,
masked gradient for the key holder, the optimizer step, the convergence report, checkpoints —
is written once here. See ``docs/protocols/vertical-lr.md`` for the message flow.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.crypto.paillier import public_key_from_bytes
from node.crypto.paillier.exceptions import InvalidKey
from node.jobs.hooks import JobHooks
from node.training.cells import Cells
from node.training.preprocess import Transform, fit_transform
from node.training.vertical import wire
from node.training.vertical.exceptions import DataMismatch, MalformedMessage, PartyFailed
from node.training.vertical.gradients import SLOT_BITS, cipher_count, slots_per_cipher, unpack
from node.training.vertical.local import Features, Split, check_columns, epoch_batches, quantize
from node.training.vertical.ops import CellOps, PaillierOps, PlainOps
from node.training.vertical.optimizer import Optimizer, change_figures
from node.training.vertical.session import Session, topic
from node.training.vertical.spec import ARBITER, VerticalSpec
from node.training.vertical.state import PartyState
from node.training.vertical.woe import (
    WoeTable,
    assign_bins,
    min_bin_rows,
    quantile_edges,
    woe_from_counts,
)
from node.transport.channel import PartyChannel

log = logging.getLogger("fedcredit.training.vertical")

ResultT = TypeVar("ResultT")


def key_message(plaintext: bool, public: bytes) -> bytes:
    """The arbiter's announcement of the job's scheme and public key."""
    return wire.encode_json({"scheme": "plain" if plaintext else "paillier", "key": public.hex()})


@dataclass(frozen=True)
class Control:
    """The arbiter's decision after an epoch."""

    stop: bool
    best_epoch: int
    reason: str


@dataclass(frozen=True)
class BinLayout:
    """One column's WOE bins on the training rows."""

    name: str
    edges: NDArray[np.float64]
    assigned: NDArray[np.int64]
    sizes: NDArray[np.int64]
    allowed: NDArray[np.bool_]


class DataParty(ABC, Generic[ResultT]):
    """One data party's run; subclasses supply the role-specific steps."""

    intercept: bool = False

    def __init__(
        self,
        channel: PartyChannel,
        hooks: JobHooks,
        spec: VerticalSpec,
        frame: pd.DataFrame,
        pool: Executor | None,
    ) -> None:
        self.spec = spec
        self.hooks = hooks
        self.pool = pool
        self.me = channel.party
        self.data = spec.holder(self.me)
        self.session = Session(channel, (*spec.parties, ARBITER), spec.timeout_s)
        self.hosts = tuple(h.party for h in spec.feature_holders)
        self.lead = spec.label_holder.party
        self.frame = frame
        self.rows = len(frame)
        enc = spec.encryption
        self.frac = enc.residual_frac_bits
        self.slope_bits = enc.slope_frac_bits
        self.feature_frac = enc.feature_frac_bits
        self.ciphertexts_sent = 0
        self.features = Features((), np.zeros((self.rows, 0), np.int64), np.zeros((self.rows, 0)))
        self.transform = Transform(())
        self.woe_tables: dict[str, WoeTable] | None = None
        self.optimizer = Optimizer(
            spec.model.optimizer, spec.model.learning_rate, spec.model.l2, self.intercept
        )
        try:
            check_columns(self.me, frame, self.data.features)
            self._load_own()
        except DataMismatch:
            self.session.abort(self.me, "loading data")  # the others stop now, not at timeout
            raise

    # -- role-specific steps -----------------------------------------------------------------
    def _load_own(self) -> None:
        """Read role-specific columns (the labels) and check them."""

    @abstractmethod
    def _split(self) -> Split:
        """Agree the train / validation / test roles of the rows."""

    def _pair(self) -> None:
        """Agree pairwise mask seeds (feature holders only)."""

    @abstractmethod
    def _initial_weights(self, split: Split) -> NDArray[np.float64]:
        """Starting weights (the label holder's intercept starts at the training log-odds)."""

    @abstractmethod
    def _woe_positives(
        self, ops: CellOps, layout: list[BinLayout], split: Split
    ) -> list[NDArray[np.int64]]:
        """Default counts per WOE bin of each column (the label holder counts its own)."""

    @abstractmethod
    def _fresh_rows(self) -> bool:
        """Whether this party needs fresh randomness for every batch row (it encrypts or
        re-randomises them)."""

    def _fresh_cells(self, rows: int) -> int:
        """Fresh obfuscators this party uses in a batch of ``rows`` rows (its masks included)."""
        masks = cipher_count(self.features.width, self.spec.encryption.key_bits)
        return masks + (rows if self._fresh_rows() else 0)

    @abstractmethod
    def _residual(
        self, ops: CellOps, e: int, b: int, rows: NDArray[np.int64], state: PartyState
    ) -> Cells:
        """The batch's encrypted residual cells, one per row (formed or received)."""

    @abstractmethod
    def _validate(
        self, e: int, split: Split, weights: NDArray[np.float64], state: PartyState
    ) -> dict[str, float]:
        """Exchange validation scores; the label holder returns the epoch's metrics."""

    @abstractmethod
    def _final(self, ops: CellOps, split: Split, state: PartyState, stopped: str) -> ResultT:
        """Final exchange and this role's result."""

    # -- set-up ------------------------------------------------------------------------------
    def _ops(self) -> CellOps:
        blob = self.session.recv(ARBITER, topic("key"), "key exchange")
        obj = wire.decode_json(blob, ARBITER, topic("key"), {"scheme", "key"})
        encryption = self.spec.encryption
        if obj["scheme"] != ("plain" if encryption.plaintext else "paillier"):
            raise MalformedMessage(ARBITER, topic("key"), "scheme differs from the job file")
        if encryption.plaintext:
            return PlainOps(encryption.key_bits)
        try:
            pk = public_key_from_bytes(bytes.fromhex(str(obj["key"])))
        except (InvalidKey, ValueError):
            raise MalformedMessage(ARBITER, topic("key"), "public key does not parse") from None
        if pk.n_bits < encryption.key_bits:
            raise MalformedMessage(ARBITER, topic("key"), "public key is shorter than the job's")
        return PaillierOps(pk)

    def _resume(self) -> tuple[int, str]:
        """Agree the epoch to resume from with the arbiter: ``(epoch, why training had ended)``.

        The reason is empty unless a run that had already stopped is being resumed.
        """
        latest_blob = self.hooks.load_checkpoint("latest")
        latest = int(latest_blob.decode()) if latest_blob else 0
        self.session.send(
            ARBITER, topic("resume", "have"), wire.encode_json({"epoch": latest}), "resume"
        )
        blob = self.session.recv(ARBITER, topic("resume", "from"), "resume")
        told = wire.decode_json(blob, ARBITER, topic("resume", "from"), {"epoch", "stopped"})
        start = told["epoch"]
        if not isinstance(start, int) or not 0 <= start <= latest:
            raise MalformedMessage(ARBITER, topic("resume", "from"), "epoch out of range")
        if not isinstance(told["stopped"], str):
            raise MalformedMessage(ARBITER, topic("resume", "from"), "invalid stop reason")
        return start, told["stopped"]

    def _state(self, start: int, split: Split) -> PartyState:
        if start == 0:
            return PartyState.start(self._initial_weights(split))
        saved = self.hooks.load_checkpoint(f"epoch-{start}")
        if saved is None:
            raise DataMismatch(self.me, f"checkpoint epoch-{start} is missing")
        return PartyState.from_bytes(self.me, saved, self.features.width)

    def _prepare(self, ops: CellOps, split: Split) -> None:
        """Fit the column preparation on this party's training rows and fix-point the result."""
        names = list(self.data.features)
        if self.spec.woe_bins:
            matrix = self._woe(ops, split)
        else:
            self.transform = fit_transform(self.frame, names, self.spec.preprocess, split.train)
            matrix = self.transform.apply(self.frame)
        self.features = quantize(self.me, names, matrix, self.feature_frac, self.intercept)

    def _woe(self, ops: CellOps, split: Split) -> NDArray[np.float64]:
        """Map every column to the WOE of its quantile bin (see ``woe.py``)."""
        bins = self.spec.woe_bins
        assert bins is not None  # the caller checks
        train = split.train
        n_train = int(train.sum())
        floor = min_bin_rows(n_train)
        layout = []
        for name in self.data.features:
            values = self.frame[name].to_numpy(dtype=np.float64)[train]
            edges = quantile_edges(values, bins)
            assigned = assign_bins(values, edges)
            sizes = np.bincount(assigned, minlength=bins)
            layout.append(BinLayout(name, edges, assigned, sizes, sizes >= floor))
        positives = self._woe_positives(ops, layout, split)
        self.woe_tables = {
            col.name: WoeTable(col.edges, woe_from_counts(pos, col.sizes, col.allowed))
            for col, pos in zip(layout, positives, strict=True)
        }
        self.hooks.record("woe_binning", {"fields": list(self.data.features), "bins": bins})
        return (
            np.column_stack(
                [
                    self.woe_tables[n].apply(self.frame[n].to_numpy(dtype=np.float64))
                    for n in self.data.features
                ]
            )
            if self.data.features
            else np.zeros((self.rows, 0))
        )

    # -- one mini-batch ----------------------------------------------------------------------
    def _gradient(
        self, ops: CellOps, e: int, b: int, residual: Cells, rows: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """Open this party's batch gradient through the arbiter, packed and masked."""
        key_bits = self.spec.encryption.key_bits
        sums = ops.inner(residual, self.features.scalars[rows], self.pool)
        packed = ops.pack(sums, SLOT_BITS, slots_per_cipher(key_bits))
        masks = ops.random_masks(len(packed))
        masked = ops.mask(packed, masks)
        self.session.send(ARBITER, topic(f"e{e}", f"b{b}", "g"), ops.dump(masked), "training")
        self.ciphertexts_sent += len(masked)
        name = topic(f"e{e}", f"b{b}", "m")
        blob = self.session.recv(ARBITER, name, "training")
        opened = wire.decode_ints(blob, ops.modulus, ARBITER, name, len(masks))
        plain = [ops.signed(o - r) for o, r in zip(opened, masks, strict=True)]
        exact = unpack(plain, self.features.width, key_bits)
        scale = 2.0 ** (self.frac + self.slope_bits + self.feature_frac)
        return np.array([s / scale for s in exact], dtype=np.float64) / len(rows)

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> ResultT:
        """Run to the end; on any failure, tell the others and raise."""
        try:
            return self._run()
        except PartyFailed:
            raise
        except MalformedMessage as exc:
            self.session.abort(exc.sender, f"a message on {exc.topic}")
            raise
        except Exception as exc:
            self.session.abort(self.me, type(exc).__name__)
            raise

    def _fields(self) -> list[str]:
        return list(self.data.features)

    def _run(self) -> ResultT:
        self.hooks.record(
            "training_use",
            {
                "job_id": self.session.channel.job_id,
                "dataset": self.data.dataset,
                "fields": self._fields(),
                "rows": self.rows,
                "purpose": "training",
            },
        )
        ops = self._ops()
        start, stopped = self._resume()
        split = self._split()
        self._pair()
        self._prepare(ops, split)
        state = self._state(start, split)
        last = state.epoch if stopped else self.spec.model.epochs
        try:
            return self._epochs(ops, split, state, last, stopped or "max_epochs")
        finally:
            ops.close()  # randomness drawn ahead for a batch that will not come

    def _epochs(
        self, ops: CellOps, split: Split, state: PartyState, last: int, reason: str
    ) -> ResultT:
        model = self.spec.model
        train = np.flatnonzero(split.train)
        batch = self.spec.batch_rows(len(train))
        full = min(batch, len(train))
        if last > state.epoch:
            ops.prefetch(self._fresh_cells(full), self.pool)
        for e in range(state.epoch + 1, last + 1):
            state.optimizer.begin_epoch()
            batches = epoch_batches(train, self.spec.seed, e, batch)
            for b, rows in enumerate(batches):
                # randomness for the next batch is drawn while this one waits for its peers
                following = len(batches[b + 1]) if b + 1 < len(batches) else full
                ops.prefetch(self._fresh_cells(following), self.pool)
                residual = self._residual(ops, e, b, rows, state)
                grad = self._gradient(ops, e, b, residual, rows)
                self.optimizer.step(state.optimizer, grad, e)
            weights = self.optimizer.epoch_weights(state.optimizer)
            self._report_change(e, state)
            found = self._validate(e, split, weights, state)
            control = self._control(e)
            if control.best_epoch == e:
                state.best_weights, state.best_epoch = weights.copy(), e
            state.epoch, state.epoch_weights = e, weights
            self.hooks.save_checkpoint(f"epoch-{e}", state.to_bytes())
            self.hooks.save_checkpoint("latest", str(e).encode())
            self.hooks.progress("epoch", e, model.epochs, found)
            if control.stop:
                reason = control.reason
                break
        return self._final(ops, split, state, reason)

    def _report_change(self, e: int, state: PartyState) -> None:
        """Send the arbiter the two numbers its convergence test needs."""
        delta, scale = change_figures(state.optimizer)
        self.session.send(
            ARBITER,
            topic(f"e{e}", "change"),
            wire.encode_json({"delta": delta, "scale": scale}),
            "validation",
        )

    def _control(self, e: int) -> Control:
        name = topic(f"e{e}", "control")
        blob = self.session.recv(ARBITER, name, "validation")
        control = wire.decode_json(blob, ARBITER, name, {"stop", "best_epoch", "reason"})
        if (
            not isinstance(control["stop"], bool)
            or control["best_epoch"] not in range(1, e + 1)
            or not isinstance(control["reason"], str)
        ):
            raise MalformedMessage(ARBITER, name, "invalid decision")
        return Control(control["stop"], control["best_epoch"], control["reason"])
