"""One bank alone, trained the way the federation trains: the yardstick a horizontal run beats.

The bank's own data, the job's model, local optimizer, rounds (each round one local fit from
the last weights, as a federation of one bank would), kept round (``node.training.selection``)
and calibration — so the difference to the federated model is what the other banks' data adds,
not a difference of method. Local only: nothing is sent anywhere.
"""

from __future__ import annotations

from typing import Any

from node.training.horizontal.data import BankData
from node.training.horizontal.evaluation import (
    federated_metrics,
    histogram_calibration,
    histogram_report,
)
from node.training.horizontal.local import TorchTrainer
from node.training.horizontal.params import Parameters
from node.training.horizontal.spec import HorizontalSpec
from node.training.horizontal.trainer import Config
from node.training.selection import Selection


def bank_alone_metrics(spec: HorizontalSpec, data: BankData, seed: int = 0) -> dict[str, Any]:
    """Test-split (validation when the bank has no test set) AUC, KS and calibrated log-loss."""
    trainer = TorchTrainer(spec, data, seed=seed)
    params: Parameters = trainer.get_parameters()
    kept = params
    selection = Selection()
    for r in range(1, spec.rounds + 1):
        config: Config = {
            "server_round": r,
            "local_epochs": spec.local_epochs,
            "batch_size": spec.batch_size,
            "learning_rate": spec.learning_rate,
            "proximal_mu": 0.0,
        }
        params = trainer.fit(params, config).parameters
        val = trainer.evaluate(params, "val", spec.eval_bins)
        assert val is not None  # the built-in trainer always has validation rows
        found = federated_metrics(val.pos, val.neg, val.loss_sum, val.n, "val")
        if selection.observe(r, found["val_auc"], found["val_auc_se"]):
            kept = params
        if spec.patience and selection.wait >= spec.patience:
            break
    val = trainer.evaluate(kept, "val", spec.eval_bins)
    test = trainer.evaluate(kept, "test", spec.eval_bins)
    assert val is not None
    reported, split = (test, "test") if test is not None else (val, "val")
    out: dict[str, Any] = federated_metrics(
        reported.pos, reported.neg, reported.loss_sum, reported.n, split
    )
    calibration = histogram_calibration(val.pos, val.neg)
    report = histogram_report(reported.pos, reported.neg, calibration)
    out[f"{split}_log_loss"] = report["log_loss"]
    out["kept_round"] = selection.best_epoch
    return out
