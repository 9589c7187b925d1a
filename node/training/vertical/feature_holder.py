"""A feature holder (government data center, third party): encrypts its partial predictions.

It holds no labels. Per mini-batch it sends the encrypted partial logits of its rows to the
label holder and receives the encrypted residuals back; per epoch it sends its validation
partial logits, masked pairwise with the other feature holders so that the label holder learns
only their sum. At the end it sends its partial logits of the best epoch for every row (same
masking) so the label holder can report train, validation and test metrics, and keeps its
model part.
"""

from __future__ import annotations

import secrets
from concurrent.futures import Executor
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.crypto.paillier import encode
from node.jobs.hooks import JobHooks
from node.training.cells import Cells
from node.training.vertical import wire
from node.training.vertical.exceptions import DataMismatch, MalformedMessage
from node.training.vertical.gradients import MAX_ABS_PARTIAL
from node.training.vertical.local import Split, pair_masks
from node.training.vertical.model import PartyModel
from node.training.vertical.ops import CellOps
from node.training.vertical.party import BinLayout, DataParty
from node.training.vertical.results import FeatureHolderResult, Traffic, TrainingCourse
from node.training.vertical.session import topic
from node.training.vertical.spec import ARBITER, VerticalSpec
from node.training.vertical.state import PartyState
from node.training.vertical.woe import bin_indicators
from node.transport.channel import PartyChannel

WOE_CHUNK: Final = 2048
"""Encrypted labels per message: 2048 x 512 bytes (x 1024 for 4096-bit keys) stays under 4 MiB."""
FINAL_STREAM: Final = 1 << 62
"""Mask stream index of the final scores (epochs use their own number)."""


def masked_scores(
    partial: NDArray[np.float64], frac: int, seeds: list[tuple[bytes, int]], stream: int
) -> NDArray[np.uint64]:
    """Fixed-point partial logits plus this host's pairwise masks (they cancel in the sum)."""
    q = encode(partial, frac).view(np.uint64)
    for seed, sign in seeds:
        mask = pair_masks(seed, stream, len(q))
        q = q + mask if sign > 0 else q - mask
    return q


class FeatureHolder(DataParty[FeatureHolderResult]):
    """A data party without labels."""

    def __init__(
        self,
        channel: PartyChannel,
        hooks: JobHooks,
        spec: VerticalSpec,
        frame: pd.DataFrame,
        pool: Executor | None,
    ) -> None:
        super().__init__(channel, hooks, spec, frame, pool)
        self.pair_seeds: list[tuple[bytes, int]] = []  # (seed, +1 add / -1 subtract)

    def _split(self) -> Split:
        blob = self.session.recv(self.lead, topic("setup"), "setup")
        try:
            bits = wire.decode_bits(blob, self.lead, topic("setup"), 2 * self.rows)
            return Split.from_bits(bits)
        except (MalformedMessage, ValueError):
            raise DataMismatch(self.me, "the label holder has a different number of rows") from None

    def _pair(self) -> None:
        mine = self.hosts.index(self.me)
        for other in self.hosts[mine + 1 :]:
            seed = secrets.token_bytes(32)
            self.session.send(other, topic("pair"), seed, "setup")
            self.pair_seeds.append((seed, 1))
        for other in self.hosts[:mine]:
            seed = self.session.recv(other, topic("pair"), "setup")
            if len(seed) != 32:
                raise MalformedMessage(other, topic("pair"), "seed is not 32 bytes")
            self.pair_seeds.append((seed, -1))

    def _initial_weights(self, split: Split) -> NDArray[np.float64]:
        return np.zeros(self.features.width)

    def _woe_positives(
        self, ops: CellOps, layout: list[BinLayout], split: Split
    ) -> list[NDArray[np.int64]]:
        """Default counts per bin through the key holder, from the label holder's E(y)."""
        bins = self.spec.woe_bins or 0
        train = int(split.train.sum())
        parts = []
        for k in range(0, train, WOE_CHUNK):
            name = topic("woe", "y", k // WOE_CHUNK)
            blob = self.session.recv(self.lead, name, "woe")
            parts.append(
                ops.load(blob, self.lead, name, min(WOE_CHUNK, train - k), check_units=False)
            )
        cells = ops.join(parts)
        scalars = np.hstack([bin_indicators(c.assigned, bins, c.allowed) for c in layout])
        sums = ops.inner(cells, scalars, self.pool)
        masks = ops.random_masks(len(sums))
        self.session.send(ARBITER, topic("woe", "g"), ops.dump(ops.mask(sums, masks)), "woe")
        self.ciphertexts_sent += len(sums)
        name = topic("woe", "m")
        opened = wire.decode_ints(
            self.session.recv(ARBITER, name, "woe"), ops.modulus, ARBITER, name, len(masks)
        )
        flat = np.array([ops.signed(o - r) for o, r in zip(opened, masks, strict=True)])
        positives = [flat[i * bins : (i + 1) * bins] for i in range(len(layout))]
        for pos, col in zip(positives, layout, strict=True):
            if (pos < 0).any() or (pos > col.sizes).any():
                raise MalformedMessage(ARBITER, name, "a bin count is out of range")
        return positives

    def _fresh_rows(self) -> bool:
        return True  # it encrypts its partial logits

    def _residual(
        self, ops: CellOps, e: int, b: int, rows: NDArray[np.int64], state: PartyState
    ) -> Cells:
        partial = self.features.values[rows] @ state.optimizer.weights
        if np.abs(partial).max(initial=0.0) >= MAX_ABS_PARTIAL:
            raise DataMismatch(
                self.me,
                f"a partial logit exceeds ±{MAX_ABS_PARTIAL:g}: the model diverged; "
                "lower model.learning_rate",
            )
        cells = ops.encrypt(encode(partial, self.frac).tolist(), self.pool)
        self.session.send(self.lead, topic(f"e{e}", f"b{b}", "u"), ops.dump(cells), "training")
        self.ciphertexts_sent += len(cells)
        name = topic(f"e{e}", f"b{b}", "d")
        blob = self.session.recv(self.lead, name, "training")
        return ops.load(blob, self.lead, name, len(rows), check_units=False)

    def _validate(
        self, e: int, split: Split, weights: NDArray[np.float64], state: PartyState
    ) -> dict[str, float]:
        partial = self.features.values[split.valid] @ weights
        masked = masked_scores(partial, self.frac, self.pair_seeds, e)
        self.session.send(self.lead, topic(f"e{e}", "valid"), wire.encode_u64(masked), "validation")
        return {}

    def _final(
        self, ops: CellOps, split: Split, state: PartyState, stopped: str
    ) -> FeatureHolderResult:
        partial = self.features.values @ state.best_weights
        masked = masked_scores(partial, self.frac, self.pair_seeds, FINAL_STREAM)
        self.session.send(self.lead, topic("final", "scores"), wire.encode_u64(masked), "final")
        self.session.send(
            self.lead,
            topic("final"),
            wire.encode_json({"score_std": float(np.std(partial))}),
            "final",
        )
        model = PartyModel(
            party=self.me,
            features=tuple(self.data.features),
            weights=tuple(float(w) for w in state.best_weights),
            transform=self.transform,
            feature_frac_bits=self.feature_frac,
            woe=self.woe_tables,
        )
        return FeatureHolderResult(
            model=model,
            course=TrainingCourse(state.best_epoch, state.epoch, stopped),
            traffic=Traffic(self.ciphertexts_sent, self.session.bytes_sent),
        )


def run_feature_holder(
    channel: PartyChannel,
    hooks: JobHooks,
    spec: VerticalSpec,
    frame: pd.DataFrame,
    pool: Executor | None = None,
) -> FeatureHolderResult:
    """Run a feature holder's side; ``frame`` holds the PSI-aligned rows in the shared order.

    Raises
    ------
    DataMismatch
        A column is missing or invalid, or the row count differs from the label holder's.
    PartyFailed
        Another party left or stayed silent; the error names it.
    MalformedMessage
        Another party sent something that failed validation.
    """
    return FeatureHolder(channel, hooks, spec, frame, pool).run()
