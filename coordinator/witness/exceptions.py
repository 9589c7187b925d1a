"""Why the witness refused a node's checkpoint; each refusal carries the sizes involved."""

from __future__ import annotations


class WitnessError(Exception):
    """Base class for witness errors."""


class CheckpointRefused(WitnessError):
    """The offered checkpoint was not accepted; the witness still holds the previous one.

    ``reason`` is safe to return to the node (it names sizes, never entry contents).
    """

    def __init__(self, node_id: str, reason: str) -> None:
        super().__init__(f"checkpoint from node {node_id!r} refused: {reason}")
        self.node_id = node_id
        self.reason = reason


class StaleCheckpoint(CheckpointRefused):
    """The offered checkpoint is smaller than the one held: a rollback, or a late message."""

    def __init__(self, node_id: str, held_size: int, offered_size: int) -> None:
        super().__init__(
            node_id,
            f"size {offered_size} is older than the accepted size {held_size}; publish a "
            "checkpoint at least as large as the accepted one",
        )
        self.held_size = held_size
        self.offered_size = offered_size


class ForkDetected(CheckpointRefused):
    """Two validly signed checkpoints of the same size with different roots: proof of a fork.

    The evidence (both checkpoints) is kept by the witness for auditors.
    """

    def __init__(self, node_id: str, size: int, held_root: bytes, offered_root: bytes) -> None:
        super().__init__(
            node_id,
            f"a different root ({offered_root.hex()[:16]}...) for size {size}, already "
            f"accepted with root {held_root.hex()[:16]}...: the node's log was forked",
        )
        self.size = size
        self.held_root = held_root
        self.offered_root = offered_root


class InconsistentCheckpoint(CheckpointRefused):
    """The consistency proof from the held checkpoint to the offered one does not verify."""

    def __init__(self, node_id: str, held_size: int, offered_size: int, detail: str) -> None:
        super().__init__(
            node_id,
            f"no valid consistency proof from accepted size {held_size} to {offered_size} "
            f"({detail}); send the proof from the accepted size, or the log was rewritten",
        )
        self.held_size = held_size
        self.offered_size = offered_size
