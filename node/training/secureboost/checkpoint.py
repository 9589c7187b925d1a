"""What each party checkpoints after every tree, and how a resumed run finds it.

A party that finished ``k`` trees writes its state under ``tree-slot-<k % 2>`` and then
``latest = k``. Parties checkpoint in lockstep (the label holder before it tells the others the
tree is done, they after hearing it), so no party is ever more than one tree behind another;
two alternating slots are therefore enough to resume from the newest tree everyone has, and
the checkpoints of a long job stay the size of one. The label holder's state carries margins
(log-odds) of its training and validation rows as raw ``float64``, so a resumed run continues
bit for bit where the interrupted one stopped.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from node.jobs.hooks import JobHooks
from node.training.secureboost.model import (
    Ensemble,
    PartyPart,
    ensemble_from_dict,
    ensemble_to_dict,
    part_from_dict,
    part_to_dict,
)
from node.training.vertical.exceptions import DataMismatch

VERSION: Final = 1
LATEST: Final = "latest"


def slot_name(trees: int) -> str:
    return f"tree-slot-{trees % 2}"


def latest(hooks: JobHooks) -> int:
    blob = hooks.load_checkpoint(LATEST)
    return int(blob.decode()) if blob else 0


@dataclass
class HostState:
    """A feature holder's progress: its lookup table so far."""

    trees: int
    part: PartyPart

    def to_bytes(self) -> bytes:
        body = {"trees": self.trees, "part": part_to_dict(self.part)}
        return bytes([VERSION]) + json.dumps(body).encode()

    @classmethod
    def from_bytes(cls, party: str, blob: bytes) -> HostState:
        if not blob or blob[0] != VERSION:
            raise DataMismatch(party, "checkpoint has an unknown format version")
        try:
            body = json.loads(blob[1:])
            return cls(int(body["trees"]), part_from_dict(body["part"]))
        except (ValueError, KeyError, TypeError):
            raise DataMismatch(party, "checkpoint does not parse") from None


@dataclass
class GuestState:
    """The label holder's progress: model so far, margins, early stopping, history."""

    trees: int
    ensemble: Ensemble
    part: PartyPart
    margin_train: NDArray[np.float64]
    margin_valid: NDArray[np.float64]
    history: list[dict[str, float]] = field(default_factory=list)
    best_trees: int = 0
    best_auc: float | None = None
    wait: int = 0
    stopped: bool = False

    def to_bytes(self) -> bytes:
        state: dict[str, Any] = {
            "trees": self.trees,
            "ensemble": ensemble_to_dict(self.ensemble),
            "part": part_to_dict(self.part),
            "history": self.history,
            "best_trees": self.best_trees,
            "best_auc": self.best_auc,
            "wait": self.wait,
            "stopped": self.stopped,
        }
        out = io.BytesIO()
        np.savez(
            out,
            state=np.frombuffer(json.dumps(state).encode(), dtype=np.uint8),
            margin_train=self.margin_train,
            margin_valid=self.margin_valid,
        )
        return bytes([VERSION]) + out.getvalue()

    @classmethod
    def from_bytes(cls, party: str, blob: bytes, train_rows: int, valid_rows: int) -> GuestState:
        """Parse ``to_bytes`` for a job of ``train_rows`` / ``valid_rows`` rows.

        Raises
        ------
        DataMismatch
            Unknown version, unreadable, or margins for another number of rows.
        """
        if not blob or blob[0] != VERSION:
            raise DataMismatch(party, "checkpoint has an unknown format version")
        try:
            arrays = np.load(io.BytesIO(blob[1:]), allow_pickle=False)
            body = json.loads(arrays["state"].tobytes())
            state = cls(
                int(body["trees"]),
                ensemble_from_dict(body["ensemble"]),
                part_from_dict(body["part"]),
                arrays["margin_train"].astype(np.float64),
                arrays["margin_valid"].astype(np.float64),
                list(body["history"]),
                int(body["best_trees"]),
                None if body["best_auc"] is None else float(body["best_auc"]),
                int(body["wait"]),
                bool(body["stopped"]),
            )
        except (ValueError, KeyError, TypeError, OSError):
            raise DataMismatch(party, "checkpoint does not parse") from None
        if state.margin_train.shape != (train_rows,) or state.margin_valid.shape != (valid_rows,):
            raise DataMismatch(party, "checkpoint holds margins for another number of rows")
        return state


def save(hooks: JobHooks, trees: int, blob: bytes) -> None:
    """Write the state after ``trees`` trees, then move ``latest`` to it."""
    hooks.save_checkpoint(slot_name(trees), blob)
    hooks.save_checkpoint(LATEST, str(trees).encode())


def load(hooks: JobHooks, party: str, trees: int) -> bytes:
    """The state written after ``trees`` trees.

    Raises
    ------
    DataMismatch
        It is gone (more than one tree behind this party's newest).
    """
    blob = hooks.load_checkpoint(slot_name(trees))
    if blob is None:
        raise DataMismatch(party, f"checkpoint after tree {trees} is missing")
    return blob
