"""The torch models a horizontal job can train: logistic regression and a small MLP."""

from __future__ import annotations

import torch
from torch import nn

from node.training.horizontal.spec import ModelSpec


class LogisticRegression(nn.Module):
    """One linear layer producing a default logit; the scorecard baseline."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.linear(x)
        return out.squeeze(-1)


class MLP(nn.Module):
    """A small ReLU network producing a default logit (captures feature interactions)."""

    def __init__(self, n_features: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x)
        return out.squeeze(-1)


def build_model(spec: ModelSpec, n_features: int, seed: int = 0) -> nn.Module:
    """Build the model named by ``spec`` with deterministic initial weights from ``seed``.

    The initial weights do not need to agree across banks (the key holder's are broadcast),
    but a fixed seed makes benchmark runs repeatable.
    """
    if n_features < 1:
        raise ValueError(f"n_features must be positive, got {n_features}")
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        if spec.kind == "lr":
            return LogisticRegression(n_features)
        if spec.kind == "mlp":
            return MLP(n_features, spec.hidden)
        raise ValueError(f"unknown model kind {spec.kind!r}; expected 'lr' or 'mlp'")
    finally:
        torch.random.set_rng_state(generator_state)
