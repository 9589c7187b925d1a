"""Evidence from the access log: an entry with its inclusion proof against a checkpoint.

Trace results and incident reports cite access-log entries. Each citation carries the
entry's exact bytes, the RFC 6962 inclusion proof and the signed checkpoint it was checked
against, so anyone with the node's public key can re-check it offline (``fedcredit-audit``
does the same check). The preferred anchor is a checkpoint the coordinator's witness
accepted: the node keeps the last one (``remember_witnessed``), and an auditor may bring a
copy fetched from the witness itself. An entry newer than every witnessed checkpoint is
proven against the node's own newest checkpoint and marked as not yet witnessed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.audit.checkpoint import SignedCheckpoint
from node.audit.merkle import leaf_hash, verify_inclusion
from node.audit.reader import LogReader

WITNESSED_NAME: Final = "witnessed.checkpoint"


def remember_witnessed(directory: Path, checkpoint: SignedCheckpoint) -> None:
    """Keep ``checkpoint`` as the newest one the witness accepted (atomic replace)."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (WITNESSED_NAME + ".tmp")
    tmp.write_bytes(checkpoint.to_bytes())
    os.replace(tmp, directory / WITNESSED_NAME)


def load_witnessed(directory: Path) -> SignedCheckpoint | None:
    """The newest checkpoint the witness accepted from this node, as the node kept it.

    Raises
    ------
    InvalidCheckpoint
        The kept file is not a checkpoint.
    """
    path = directory / WITNESSED_NAME
    return SignedCheckpoint.from_bytes(path.read_bytes()) if path.is_file() else None


@dataclass(frozen=True)
class Anchor:
    """A checkpoint to prove against and where it came from (``witness`` or ``node``)."""

    checkpoint: SignedCheckpoint
    source: str


@dataclass(frozen=True)
class EntryProof:
    """One access-log entry, proven included in a signed checkpoint."""

    index: int
    entry: bytes
    proof: tuple[bytes, ...]
    anchor: Anchor

    @property
    def witnessed(self) -> bool:
        """Whether the anchor is a checkpoint the coordinator's witness accepted."""
        return self.anchor.source == "witness"

    def to_dict(self) -> dict[str, Any]:
        """Plain form: what a regulator's package carries for this entry."""
        cp = self.anchor.checkpoint
        return {
            "index": self.index,
            "entry": json.loads(self.entry),
            "leaf_hash": leaf_hash(self.entry).hex(),
            "tree_size": cp.size,
            "inclusion_proof": [p.hex() for p in self.proof],
            "checkpoint": cp.to_bytes().decode("ascii"),
            "anchor": self.anchor.source,
            "verified": True,
        }


class Prover:
    """Proves entries of one log against the best anchor available for each.

    Parameters
    ----------
    reader
        The node's access log.
    public_key
        The node's Ed25519 key (from its certificate); every anchor is checked against it.
    witnessed
        A checkpoint the witness accepted (kept by the node, or brought by the auditor).

    Raises
    ------
    CheckpointSignatureError
        ``witnessed`` is not signed by ``public_key``.
    """

    def __init__(
        self,
        reader: LogReader,
        public_key: Ed25519PublicKey,
        witnessed: SignedCheckpoint | None,
    ) -> None:
        self._reader = reader
        self._key = public_key
        if witnessed is not None:
            witnessed.verify(public_key)
        self._witnessed = witnessed
        self._own: SignedCheckpoint | None = None

    @property
    def witnessed(self) -> SignedCheckpoint | None:
        """The witnessed checkpoint in use, if any."""
        return self._witnessed

    def _anchor_for(self, index: int) -> Anchor | None:
        if self._witnessed is not None and index < self._witnessed.size:
            return Anchor(self._witnessed, "witness")
        if self._own is None or index >= self._own.size:
            latest = self._reader.latest_checkpoint()
            if latest is not None:
                latest.verify(self._key)
            self._own = latest
        if self._own is not None and index < self._own.size:
            return Anchor(self._own, "node")
        return None

    def prove(self, index: int) -> EntryProof | None:
        """Entry ``index`` with a verified inclusion proof, or ``None`` when no checkpoint
        covers it yet (the node signs one at least every ``checkpoint_interval_s``).

        Raises
        ------
        InvalidProof
            The proof does not verify: the log was altered (run ``fedcredit-audit verify``).
        ProofRangeError
            The log has no entry ``index``.
        """
        anchor = self._anchor_for(index)
        if anchor is None:
            return None
        cp = anchor.checkpoint
        data = self._reader.entry_bytes(index)
        proof = self._reader.inclusion_proof(index, cp.size)
        verify_inclusion(leaf_hash(data), index, cp.size, proof, cp.root)
        return EntryProof(index, data, tuple(proof), anchor)
