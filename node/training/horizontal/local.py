"""Local training of one bank's torch model: Adam or SGD steps, optionally with FedProx's term."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from node.training.horizontal.data import BankData
from node.training.horizontal.evaluation import score_histograms
from node.training.horizontal.models import build_model
from node.training.horizontal.params import Parameters
from node.training.horizontal.spec import HorizontalSpec
from node.training.horizontal.trainer import Config, EvalCounts, FitResult


def get_weights(model: nn.Module) -> Parameters:
    return [t.detach().cpu().numpy().copy() for t in model.state_dict().values()]


def set_weights(model: nn.Module, parameters: Parameters) -> None:
    state = model.state_dict()
    if len(parameters) != len(state):
        raise ValueError(f"got {len(parameters)} tensors, the model has {len(state)}")
    model.load_state_dict(
        {k: torch.as_tensor(np.asarray(p)) for k, p in zip(state, parameters, strict=True)}
    )


class TorchTrainer:
    """The built-in ``LocalTrainer``: the job's model trained with mini-batches on ``data``.

    Each round starts a fresh local optimizer from the global weights: Adam (the default: it
    scales each coordinate's step by its own gradient history, so the same rate suits a
    logistic regression and an MLP on any data scale) or plain SGD. With ``algorithm:
    fedprox`` the loss gains ``mu/2 * ||w - w_global||^2`` (Li et al., 2020), which keeps banks
    with unlike data from drifting away from the global model.
    """

    def __init__(self, spec: HorizontalSpec, data: BankData, seed: int | None = None) -> None:
        self.spec = spec
        self.data = data
        self.model = build_model(spec.model, data.n_features, spec.seed)
        self._seed = spec.seed if seed is None else seed
        self._generator = torch.Generator().manual_seed(self._seed)
        self._x = torch.from_numpy(np.ascontiguousarray(data.x_train, dtype=np.float32))
        self._y = torch.from_numpy(np.ascontiguousarray(data.y_train, dtype=np.float32))

    def get_parameters(self) -> Parameters:
        return get_weights(self.model)

    def fit(self, parameters: Parameters, config: Config) -> FitResult:
        set_weights(self.model, parameters)
        round_number = int(config.get("server_round", 0))
        # reseed per round so a resumed job repeats exactly the shuffles it would have made
        self._generator.manual_seed(self._seed * 1_000_003 + round_number)
        mu = float(config.get("proximal_mu", self.spec.mu))
        epochs = int(config.get("local_epochs", self.spec.local_epochs))
        anchor = [p.detach().clone() for p in self.model.parameters()]
        rate = float(config.get("learning_rate", self.spec.learning_rate))
        optimizer: torch.optim.Optimizer = (
            torch.optim.Adam(self.model.parameters(), lr=rate)
            if self.spec.optimizer == "adam"
            else torch.optim.SGD(self.model.parameters(), lr=rate)
        )
        loss_fn = nn.BCEWithLogitsLoss()
        self.model.train()
        n = self._y.shape[0]
        total = 0.0
        for _ in range(epochs):
            order = torch.randperm(n, generator=self._generator)
            for start in range(0, n, self.spec.batch_size):
                batch = order[start : start + self.spec.batch_size]
                optimizer.zero_grad()
                loss = loss_fn(self.model(self._x[batch]), self._y[batch])
                if mu > 0:
                    prox = sum(
                        ((w - a) ** 2).sum()
                        for w, a in zip(self.model.parameters(), anchor, strict=True)
                    )
                    loss = loss + 0.5 * mu * prox
                loss.backward()
                optimizer.step()
                total += loss.item() * batch.numel()
        return FitResult(get_weights(self.model), n, {"train_loss": total / (n * epochs)})

    def scores(self, parameters: Parameters, split: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Predicted default probabilities and labels on ``split`` (stays on the bank)."""
        x, y = (
            (self.data.x_val, self.data.y_val)
            if split == "val"
            else (self.data.x_test, self.data.y_test)
        )
        if x is None or y is None:
            return None
        set_weights(self.model, parameters)
        self.model.eval()
        with torch.no_grad():
            logits = self.model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        return torch.sigmoid(logits).numpy().astype(np.float64), np.asarray(y)

    def evaluate(self, parameters: Parameters, split: str, bins: int) -> EvalCounts | None:
        scored = self.scores(parameters, split)
        if scored is None:
            return None
        probs, y = scored
        p = np.clip(probs, 1e-7, 1 - 1e-7)
        loss_sum = float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum())
        pos, neg = score_histograms(probs, y, bins)
        return EvalCounts(pos=pos, neg=neg, loss_sum=loss_sum, n=int(y.size))
