"""The label holder (the bank): chooses the split, forms the residuals, scores and calibrates.

Per mini-batch it adds the feature holders' encrypted partial logits and turns their sum into
the encrypted residual with the linearisation of ``linearization.py``. Per epoch it scores the
validation rows (its own part plus the hosts' masked sum), reports three aggregate metrics to
the arbiter and refits the linearisation bands. At the end it receives the hosts' partial
logits of the best epoch for all rows, fits the PD calibration on the validation rows and
reports train, validation and test metrics — the test rows never chose an epoch or a
calibration parameter.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.crypto.paillier import encode
from node.jobs.hooks import JobHooks
from node.training import metrics as m
from node.training.calibration import PlattScaling, fit_platt, probability_report, sigmoid
from node.training.cells import Cells
from node.training.curves import model_curves
from node.training.vertical import wire
from node.training.vertical.feature_holder import WOE_CHUNK
from node.training.vertical.linearization import Linearization
from node.training.vertical.local import Split, load_labels, stratified_split
from node.training.vertical.model import PartyModel
from node.training.vertical.ops import CellOps
from node.training.vertical.party import BinLayout, DataParty
from node.training.vertical.results import LabelHolderResult, Traffic, TrainingCourse
from node.training.vertical.session import topic
from node.training.vertical.spec import ARBITER, VerticalSpec
from node.training.vertical.state import PartyState
from node.transport.channel import PartyChannel


def split_metrics(y: NDArray[np.int8], z: NDArray[np.float64]) -> dict[str, float]:
    """AUC, KS, Gini and raw log-loss of logits ``z`` (rows and defaults for context)."""
    auc = m.auc(y, z)
    return {
        "auc": auc,
        "ks": m.ks(y, z),
        "gini": 2 * auc - 1,
        "loss": m.log_loss(y, sigmoid(z)),
        "rows": float(y.size),
        "defaults": float(y.sum()),
    }


class LabelHolder(DataParty[LabelHolderResult]):
    """The data party that holds the default label."""

    intercept = True

    def __init__(
        self,
        channel: PartyChannel,
        hooks: JobHooks,
        spec: VerticalSpec,
        frame: pd.DataFrame,
        pool: Executor | None,
    ) -> None:
        self.y = np.zeros(0, dtype=np.int8)
        super().__init__(channel, hooks, spec, frame, pool)

    def _load_own(self) -> None:
        label = self.data.label
        assert label is not None  # the spec requires it for the label holder
        self.y = load_labels(self.me, self.frame, label)

    def _fields(self) -> list[str]:
        return [*self.data.features, str(self.data.label)]

    def _split(self) -> Split:
        split = stratified_split(
            self.y, self.spec.validation_fraction, self.spec.test_fraction, self.spec.seed
        )
        for host in self.hosts:
            self.session.send(host, topic("setup"), wire.encode_bits(split.to_bits()), "setup")
        self.session.send(
            ARBITER,
            topic("setup"),
            wire.encode_json({"train_rows": int(split.train.sum())}),
            "setup",
        )
        return split

    def _initial_weights(self, split: Split) -> NDArray[np.float64]:
        weights = np.zeros(self.features.width)
        rate = float(self.y[split.train].mean())
        weights[-1] = float(np.log(rate / (1 - rate)))
        return weights

    def _woe_positives(
        self, ops: CellOps, layout: list[BinLayout], split: Split
    ) -> list[NDArray[np.int64]]:
        """Own counts, and the encrypted training labels for the hosts' counts."""
        bins = self.spec.woe_bins or 0
        y = self.y[split.train].astype(np.int64)
        if self.hosts:
            cells = ops.encrypt(y.tolist(), self.pool)
            for k in range(0, len(cells), WOE_CHUNK):
                payload = ops.dump(cells[k : k + WOE_CHUNK])
                for host in self.hosts:
                    self.session.send(host, topic("woe", "y", k // WOE_CHUNK), payload, "woe")
                self.ciphertexts_sent += len(self.hosts) * min(WOE_CHUNK, len(cells) - k)
        return [
            np.bincount(col.assigned, weights=y, minlength=bins).astype(np.int64) for col in layout
        ]

    # -- one mini-batch ----------------------------------------------------------------------
    def _fresh_rows(self) -> bool:
        return len(self.hosts) == 1  # it re-randomises the residuals (see ``_residual``)

    def _residual(
        self, ops: CellOps, e: int, b: int, rows: NDArray[np.int64], state: PartyState
    ) -> Cells:
        """The encrypted residual ``D_i = S_i * sum_p H_p,i + own_i`` of the batch's rows.

        ``sigmoid(a + h) - y`` is replaced by ``prob - y + slope * (h - center)`` from the
        linearisation bands (see ``linearization.py``): ``S = max(1, round(slope * 2**s))``
        (a zero slope would leave a trivially decryptable ``g^own``) and ``own = round((prob
        - y - S / 2**s * center) * 2**(r + s))``, so ``D`` carries ``r + s`` fractional bits.
        """
        a = self.features.values[rows] @ state.optimizer.weights
        name_u, name_d = topic(f"e{e}", f"b{b}", "u"), topic(f"e{e}", f"b{b}", "d")
        received = [
            ops.load(
                self.session.recv(host, name_u, "training"),
                host,
                name_u,
                len(rows),
                check_units=False,
            )
            for host in self.hosts
        ]
        total = received[0]  # the spec requires at least one feature holder
        for cells in received[1:]:
            total = ops.add(total, cells)
        prob, slope, center = state.linearization.coefficients(a)
        slopes = np.maximum(1, np.rint(slope * 2.0**self.slope_bits)).astype(np.int64)
        own = prob - self.y[rows] - slopes / 2.0**self.slope_bits * center
        # with a single feature holder the residuals are re-randomised: it knows its own
        # ciphertexts and could otherwise divide them out (trying the few possible slopes)
        residual = ops.affine(
            total,
            slopes.tolist(),
            encode(own, self.frac + self.slope_bits).tolist(),
            len(self.hosts) == 1,
            self.pool,
        )
        payload = ops.dump(residual)
        for host in self.hosts:
            self.session.send(host, name_d, payload, "training")
            self.ciphertexts_sent += len(residual)
        return residual

    # -- validation --------------------------------------------------------------------------
    def _host_sum(self, name: str, count: int) -> NDArray[np.float64]:
        total = np.zeros(count, dtype=np.uint64)
        for host in self.hosts:
            total += wire.decode_u64(self.session.recv(host, name, "validation"), host, name, count)
        return total.view(np.int64) / 2.0**self.frac

    def _validate(
        self, e: int, split: Split, weights: NDArray[np.float64], state: PartyState
    ) -> dict[str, float]:
        valid = split.valid
        a = self.features.values[valid] @ weights
        h = self._host_sum(topic(f"e{e}", "valid"), int(valid.sum()))
        y = self.y[valid]
        scores = a + h
        auc = m.auc(y, scores)
        found = {
            "auc": auc,
            "auc_se": m.auc_standard_error(auc, int(y.sum()), int(y.size - y.sum())),
            "ks": m.ks(y, scores),
            "loss": m.log_loss(y, sigmoid(scores)),
        }
        self.session.send(ARBITER, topic(f"e{e}", "metrics"), wire.encode_json(found), "validation")
        if self.spec.model.linearization == "moment_matched":
            state.linearization = Linearization.fit(a, h)
        state.history.append({"epoch": float(e), **found})
        return found

    # -- final -------------------------------------------------------------------------------
    def _final(
        self, ops: CellOps, split: Split, state: PartyState, stopped: str
    ) -> LabelHolderResult:
        own = self.features.values @ state.best_weights
        hosts = self._host_sum(topic("final", "scores"), self.rows)
        spreads = {self.me: float(np.std(own))}
        for host in self.hosts:
            obj = wire.decode_json(
                self.session.recv(host, topic("final"), "final"),
                host,
                topic("final"),
                {"score_std"},
            )
            spreads[host] = float(obj["score_std"])
        total_spread = sum(spreads.values()) or 1.0
        z = own + hosts
        parts = {"train": split.train, "validation": split.valid, "test": split.test}
        splits = {
            k: split_metrics(self.y[rows], z[rows]) for k, rows in parts.items() if rows.any()
        }
        reported = "test" if "test" in splits else "validation"
        calibration = (
            fit_platt(z[split.valid], self.y[split.valid])
            if self.spec.calibration == "platt"
            else PlattScaling()
        )
        rows = parts[reported]
        probabilities = probability_report(self.y[rows], calibration.probabilities(z[rows]))
        metrics = {k: splits[reported][k] for k in ("auc", "ks", "gini")} | {
            "log_loss": probabilities["log_loss"],
            "brier": probabilities["brier"],
        }
        self.session.send(
            ARBITER,
            topic("final"),
            wire.encode_json(
                {**{k: float(v) for k, v in metrics.items()}, "best_epoch": state.best_epoch}
            ),
            "final",
        )
        extra: dict[str, Any] = {"curves": model_curves(self.y[rows], z[rows])}  # banded
        card = None
        if self.spec.scorecard is not None:
            card = self.spec.scorecard.describe()
            points = self.spec.scorecard.points(calibration.logits(z[rows]))
            extra["points"] = {
                "p10": float(np.percentile(points, 10)),
                "median": float(np.median(points)),
                "p90": float(np.percentile(points, 90)),
            }
        best = state.best_weights
        model = PartyModel(
            party=self.me,
            features=tuple(self.data.features),
            weights=tuple(float(w) for w in best[:-1]),
            transform=self.transform,
            feature_frac_bits=self.feature_frac,
            woe=self.woe_tables,
            intercept=float(best[-1]),
            calibration=calibration,
        )
        return LabelHolderResult(
            model=model,
            course=TrainingCourse(state.best_epoch, state.epoch, stopped),
            metrics=metrics,
            metrics_split=reported,
            splits=splits,
            probabilities=probabilities,
            history=state.history,
            contribution={p: s / total_spread for p, s in spreads.items()},
            own_auc=m.auc(self.y[rows], own[rows]),
            scorecard=card,
            traffic=Traffic(self.ciphertexts_sent, self.session.bytes_sent),
            extra=extra,
        )


def run_label_holder(
    channel: PartyChannel,
    hooks: JobHooks,
    spec: VerticalSpec,
    frame: pd.DataFrame,
    pool: Executor | None = None,
) -> LabelHolderResult:
    """Run the label holder's side; ``frame`` holds the PSI-aligned rows in the shared order.

    Raises
    ------
    DataMismatch
        A column is missing or invalid, or the label is not 0/1.
    PartyFailed
        Another party left or stayed silent; the error names it.
    MalformedMessage
        Another party sent something that failed validation.
    """
    return LabelHolder(channel, hooks, spec, frame, pool).run()
