"""Drive any Flower ``NumPyClient`` as a bank's local trainer, unchanged.

Flower clients implement ``get_parameters(config)``, ``fit(parameters, config)`` and
``evaluate(parameters, config)`` on lists of NumPy arrays. ``FlowerTrainer`` calls exactly
those methods, with the same config keys Flower's strategies send (``server_round``,
``local_epochs``, ``proximal_mu`` as FedProx does), so a client from Flower's quickstart
plugs into a fedcredit node without edits. What fedcredit adds — clipping, quantization,
packing, Paillier — happens around the client, never inside it.

A Flower client's ``evaluate`` returns one loss and an example count; it has no way to hand
back scores. Federated AUC and KS therefore need an optional ``scorer`` (a function from
parameters and split to probabilities and labels, run locally); without one, rounds report
the federated loss only, and there is no held-out evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from flwr.client import NumPyClient
from numpy.typing import NDArray

from node.training.horizontal.evaluation import score_histograms
from node.training.horizontal.exceptions import TrainerError
from node.training.horizontal.params import Parameters
from node.training.horizontal.trainer import Config, EvalCounts, FitResult

Scorer = Callable[[Parameters, str], tuple[NDArray[np.float64], NDArray[np.float64]] | None]


def _as_parameters(value: object, what: str) -> Parameters:
    if not isinstance(value, list) or not all(isinstance(a, np.ndarray) for a in value):
        raise TrainerError(f"{what} must return a list of NumPy arrays (Flower NDArrays)")
    if not value:
        raise TrainerError(f"{what} returned no parameters; implement it in the client")
    return [np.asarray(a, dtype=np.float32) for a in value]


class FlowerTrainer:
    """A ``LocalTrainer`` backed by a Flower ``NumPyClient``.

    Parameters
    ----------
    client:
        The Flower client, used as is.
    initial_parameters:
        Starting weights when the client does not implement ``get_parameters`` (Flower's
        quickstart passes them to the strategy instead).
    scorer:
        Optional local scoring function for federated AUC/KS (see module docstring).
    """

    def __init__(
        self,
        client: NumPyClient,
        initial_parameters: Parameters | None = None,
        scorer: Scorer | None = None,
    ) -> None:
        if not isinstance(client, NumPyClient):
            raise TypeError("client must be a flwr.client.NumPyClient")
        self.client = client
        self.initial_parameters = initial_parameters
        self.scorer = scorer

    def get_parameters(self) -> Parameters:
        if self.initial_parameters is not None:
            return [np.asarray(a, dtype=np.float32) for a in self.initial_parameters]
        return _as_parameters(self.client.get_parameters(config={}), "get_parameters")

    def fit(self, parameters: Parameters, config: Config) -> FitResult:
        result = self.client.fit(parameters, dict(config))
        if not isinstance(result, tuple) or len(result) != 3:
            raise TrainerError("fit must return (parameters, num_examples, metrics)")
        params, n, metrics = result
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise TrainerError("fit must return a positive num_examples")
        numeric = {
            k: float(v)
            for k, v in dict(metrics).items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        return FitResult(_as_parameters(params, "fit"), n, numeric)

    def evaluate(self, parameters: Parameters, split: str, bins: int) -> EvalCounts | None:
        empty = np.zeros(0, dtype=np.int64)
        if split == "val":
            result = self.client.evaluate(parameters, {})
            if not isinstance(result, tuple) or len(result) != 3:
                raise TrainerError("evaluate must return (loss, num_examples, metrics)")
            loss, n, _ = result
            if not isinstance(n, int) or n < 0 or not math.isfinite(float(loss)):
                raise TrainerError("evaluate must return a finite loss and num_examples >= 0")
            pos, neg = empty, empty
            scored = self.scorer(parameters, split) if self.scorer else None
            if scored is not None:
                pos, neg = score_histograms(scored[0], scored[1], bins)
            return EvalCounts(pos=pos, neg=neg, loss_sum=float(loss) * n, n=n)
        scored = self.scorer(parameters, split) if self.scorer else None
        if scored is None:
            return None
        probs, y = scored
        p = np.clip(np.asarray(probs, dtype=np.float64), 1e-7, 1 - 1e-7)
        loss_sum = float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum())
        pos, neg = score_histograms(probs, y, bins)
        return EvalCounts(pos=pos, neg=neg, loss_sum=loss_sum, n=int(np.asarray(y).size))
