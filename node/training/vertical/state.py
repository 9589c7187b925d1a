"""The resumable state of each role, as dataclasses with a versioned JSON checkpoint format.

Every data party checkpoints ``epoch-<e>`` after each epoch (and ``latest``); the arbiter
does the same with its early-stopping state. A restarted job resumes from the newest epoch all
of them have (see docs/protocols/vertical-lr.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from node.training.vertical.exceptions import DataMismatch
from node.training.vertical.linearization import Linearization
from node.training.vertical.optimizer import OptimizerState
from node.training.vertical.stopping import StopState

CHECKPOINT_VERSION: Final = 2


def _encode(body: dict[str, Any]) -> bytes:
    return bytes([CHECKPOINT_VERSION]) + json.dumps(body).encode()


def _decode(party: str, blob: bytes) -> dict[str, Any]:
    if not blob or blob[0] != CHECKPOINT_VERSION:
        raise DataMismatch(party, "checkpoint has an unknown format version")
    try:
        body = json.loads(blob[1:])
    except ValueError:
        raise DataMismatch(party, "checkpoint does not parse") from None
    if not isinstance(body, dict):
        raise DataMismatch(party, "checkpoint does not parse")
    return body


@dataclass
class PartyState:
    """A data party's resumable state.

    ``epoch_weights`` are the weights the last epoch reported (averaged for Adam);
    ``best_weights`` those of the best epoch so far; ``history`` the label holder's validation
    metrics per epoch and ``linearization`` its current bands (both empty at feature holders).
    """

    epoch: int
    optimizer: OptimizerState
    epoch_weights: NDArray[np.float64]
    best_weights: NDArray[np.float64]
    best_epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    linearization: Linearization = field(default_factory=Linearization.tangent)

    @classmethod
    def start(cls, weights: NDArray[np.float64]) -> PartyState:
        return cls(0, OptimizerState.start(weights), weights.copy(), weights.copy())

    def to_bytes(self) -> bytes:
        return _encode(
            {
                "epoch": self.epoch,
                "optimizer": self.optimizer.to_dict(),
                "epoch_weights": self.epoch_weights.tolist(),
                "best_weights": self.best_weights.tolist(),
                "best_epoch": self.best_epoch,
                "history": self.history,
                "linearization": self.linearization.to_dict(),
            }
        )

    @classmethod
    def from_bytes(cls, party: str, blob: bytes, width: int) -> PartyState:
        """Parse a checkpoint written by ``to_bytes`` for a model of ``width`` weights.

        Raises
        ------
        DataMismatch
            Unknown version, unreadable, or a different number of weights.
        """
        body = _decode(party, blob)
        try:
            state = cls(
                epoch=int(body["epoch"]),
                optimizer=OptimizerState.from_dict(body["optimizer"]),
                epoch_weights=np.array(body["epoch_weights"], dtype=np.float64),
                best_weights=np.array(body["best_weights"], dtype=np.float64),
                best_epoch=int(body["best_epoch"]),
                history=[dict(h) for h in body["history"]],
                linearization=Linearization.from_dict(body["linearization"]),
            )
        except (ValueError, KeyError, TypeError):
            raise DataMismatch(party, "checkpoint does not parse") from None
        shapes = {state.optimizer.weights.shape, state.epoch_weights.shape}
        if shapes | {state.best_weights.shape} != {(width,)}:
            raise DataMismatch(party, "checkpoint holds a model of another width")
        return state


@dataclass
class ArbiterState(StopState):
    """The key holder's state: the stopping rule's state, the last epoch and the history."""

    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        return _encode(
            {
                "epoch": self.epoch,
                "best_auc": self.best_auc,
                "best_epoch": self.best_epoch,
                "wait": self.wait,
                "history": self.history,
                "stopped": self.stopped,
            }
        )

    @classmethod
    def from_bytes(cls, blob: bytes) -> ArbiterState:
        """Parse ``to_bytes``; raises ``DataMismatch`` (party ``coordinator``) when it cannot."""
        body = _decode("coordinator", blob)
        try:
            best = body["best_auc"]
            return cls(
                epoch=int(body["epoch"]),
                best_auc=None if best is None else float(best),
                best_epoch=int(body["best_epoch"]),
                wait=int(body["wait"]),
                history=[dict(h) for h in body["history"]],
                stopped=str(body["stopped"]),
            )
        except (ValueError, KeyError, TypeError):
            raise DataMismatch("coordinator", "checkpoint does not parse") from None
