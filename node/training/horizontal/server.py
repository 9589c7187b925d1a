"""How every bank applies the federation's decrypted mean update to the global model.

The coordinator never sees the mean update (it only adds ciphertexts), so the "server step" of
adaptive federated optimization runs at the banks: each bank holds the same sum, the same
state and the same rule, so every bank computes the same new global model.

- ``fedavg``: ``x += rate * mean_update`` (rate 1.0 is McMahan et al.'s FedAvg).
- ``fedadam`` / ``fedyogi`` (Reddi et al., *Adaptive Federated Optimization*, ICLR 2021):
  the mean update ``d`` is a pseudo-gradient step; ``m = b1 m + (1 - b1) d``; Adam keeps
  ``v = b2 v + (1 - b2) d^2``, Yogi ``v = v - (1 - b2) d^2 sign(v - d^2)``; and
  ``x += rate * m / (sqrt(v) + tau)``. ``tau`` bounds the adaptivity (their default 1e-3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

BETA1: Final = 0.9
BETA2: Final = 0.99


@dataclass
class ServerState:
    """The server optimizer's moments (empty for ``fedavg``)."""

    first: NDArray[np.float64]
    second: NDArray[np.float64]

    @classmethod
    def start(cls, size: int, tau: float) -> ServerState:
        return cls(np.zeros(size), np.full(size, tau * tau))

    def to_dict(self) -> dict[str, Any]:
        return {"first": self.first.tolist(), "second": self.second.tolist()}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ServerState:
        return cls(
            np.array(raw["first"], dtype=np.float64), np.array(raw["second"], dtype=np.float64)
        )


@dataclass(frozen=True)
class ServerOptimizer:
    """The job's server step."""

    name: str
    rate: float
    tau: float

    def apply(
        self, vector: NDArray[np.float64], mean: NDArray[np.float64], state: ServerState
    ) -> NDArray[np.float64]:
        """The new global model; updates ``state`` in place."""
        if self.name == "fedavg":
            return vector + self.rate * mean
        state.first = BETA1 * state.first + (1 - BETA1) * mean
        square = mean * mean
        if self.name == "fedadam":
            state.second = BETA2 * state.second + (1 - BETA2) * square
        else:
            state.second = state.second - (1 - BETA2) * square * np.sign(state.second - square)
        return vector + self.rate * state.first / (np.sqrt(state.second) + self.tau)
