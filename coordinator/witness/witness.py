"""The coordinator's checkpoint witness: durable, per node, append-only in effect.

A node signs its own checkpoints, so on its own it could show one auditor one history and a
second auditor another (a fork), or rewrite its log and sign a fresh one. The witness closes
that: it accepts a node's new checkpoint only with a valid consistency proof from the one it
already holds, so the sequence of accepted checkpoints is one linear history. Any auditor can
fetch the witnessed checkpoint and verify the node's log against it.

Pure domain code: it is handed the node's public key (from the node registry / certificate)
and the raw checkpoint and proof bytes from ``PublishCheckpointRequest``; the gRPC servicer maps
``CheckpointRefused`` subclasses to ``FAILED_PRECONDITION`` with the exception's message.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from coordinator.state.database import Database, SqliteDatabase
from coordinator.state.migrations import Migration, migrate
from coordinator.witness.exceptions import (
    CheckpointRefused,
    ForkDetected,
    InconsistentCheckpoint,
    StaleCheckpoint,
)
from node.audit.checkpoint import SignedCheckpoint
from node.audit.exceptions import CheckpointSignatureError, InvalidCheckpoint, InvalidProof
from node.audit.merkle import verify_consistency

logger = logging.getLogger("fedcredit.coordinator.witness")

_SCHEMA_V1: Final = """
CREATE TABLE IF NOT EXISTS latest (
    node_id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    data {blob} NOT NULL,
    accepted_at {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    id {serial_pk},
    node_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    held {blob} NOT NULL,
    offered {blob} NOT NULL,
    proof TEXT NOT NULL,
    detected_at {real} NOT NULL
)
"""
MIGRATIONS: Final = (Migration(1, "latest checkpoints, fork evidence", _SCHEMA_V1),)


@dataclass(frozen=True)
class ForkEvidence:
    """Two signed checkpoints that cannot both be honest, kept for auditors."""

    node_id: str
    kind: str  # "fork" (same size, different roots) or "inconsistent" (proof failed)
    held: SignedCheckpoint
    offered: SignedCheckpoint
    proof: list[bytes]
    detected_at: float


class CheckpointWitness:
    """Keeps each node's latest accepted checkpoint and refuses forks. Thread-safe.

    Parameters
    ----------
    database
        The coordinator's database (SQLite or PostgreSQL: a standby coordinator on the same
        PostgreSQL database takes over the witness with it), or the path of a SQLite file
        of its own (created if missing; ``":memory:"`` works for tests).
    """

    def __init__(self, database: Database | Path | str) -> None:
        self._lock = threading.Lock()
        # SQLite runs with synchronous=FULL: an accepted checkpoint must survive a crash, or
        # a node could fork right after.
        self._db = database if isinstance(database, Database) else SqliteDatabase(database)
        migrate(self._db, "witness", MIGRATIONS)

    def latest(self, node_id: str) -> SignedCheckpoint | None:
        """Return the node's latest accepted checkpoint, or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM latest WHERE node_id = ?", (node_id,)
            ).fetchone()
        return None if row is None else SignedCheckpoint.from_bytes(bytes(row[0]))

    def accepted_size(self, node_id: str) -> int | None:
        """Return the size of the node's latest accepted checkpoint, or ``None``."""
        held = self.latest(node_id)
        return None if held is None else held.size

    def publish(
        self,
        node_id: str,
        public_key: Ed25519PublicKey,
        checkpoint: bytes,
        consistency_proof: Sequence[bytes] = (),
    ) -> int:
        """Accept ``checkpoint`` from ``node_id`` if it extends the held one; return its size.

        Parameters
        ----------
        node_id
            The publishing node, as authenticated by its mTLS certificate.
        public_key
            The node's Ed25519 checkpoint key.
        checkpoint
            The signed checkpoint bytes (``SignedCheckpoint.to_bytes``).
        consistency_proof
            The proof from the held checkpoint's size to the offered size (empty for the
            first checkpoint, or when re-publishing the same size).

        Raises
        ------
        CheckpointRefused
            Malformed, for another origin, or badly signed.
        StaleCheckpoint
            Smaller than the held checkpoint.
        ForkDetected
            Same size as the held checkpoint, different root (evidence kept).
        InconsistentCheckpoint
            Larger, but the proof does not link it to the held one (evidence kept).
        """
        try:
            offered = SignedCheckpoint.from_bytes(checkpoint)
        except InvalidCheckpoint as exc:
            raise CheckpointRefused(node_id, exc.reason) from None
        if offered.origin != node_id:
            raise CheckpointRefused(node_id, "the checkpoint names another origin")
        try:
            offered.verify(public_key)
        except CheckpointSignatureError:
            raise CheckpointRefused(node_id, "the signature does not verify") from None
        proof = list(consistency_proof)
        refused: CheckpointRefused | None = None
        with self._lock, self._db.transaction():
            try:
                size = self._decide(node_id, offered, proof)
            except (ForkDetected, InconsistentCheckpoint) as exc:
                refused = exc  # commit the evidence, then refuse
        if refused is not None:
            raise refused
        logger.info("witness accepted checkpoint of %s at size %d", node_id, size)
        return size

    def _decide(self, node_id: str, offered: SignedCheckpoint, proof: list[bytes]) -> int:
        row = self._db.execute("SELECT data FROM latest WHERE node_id = ?", (node_id,)).fetchone()
        held = None if row is None else SignedCheckpoint.from_bytes(bytes(row[0]))
        if held is not None:
            if offered.size < held.size:
                raise StaleCheckpoint(node_id, held.size, offered.size)
            if offered.size == held.size and offered.root != held.root:
                self._keep_evidence(node_id, "fork", held, offered, proof)
                logger.warning("witness: fork by %s at size %d", node_id, offered.size)
                raise ForkDetected(node_id, offered.size, held.root, offered.root)
            try:
                verify_consistency(held.size, offered.size, held.root, offered.root, proof)
            except InvalidProof as exc:
                self._keep_evidence(node_id, "inconsistent", held, offered, proof)
                logger.warning(
                    "witness: inconsistent checkpoint from %s (%d -> %d)",
                    node_id,
                    held.size,
                    offered.size,
                )
                raise InconsistentCheckpoint(
                    node_id, held.size, offered.size, type(exc).__name__
                ) from None
            if offered.size == held.size and offered.time <= held.time:
                return held.size  # same tree, not newer: nothing to update
        self._db.execute(
            "INSERT INTO latest (node_id, size, data, accepted_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (node_id) DO UPDATE SET size=excluded.size, data=excluded.data, "
            "accepted_at=excluded.accepted_at",
            (node_id, offered.size, offered.to_bytes(), time.time()),
        )
        return offered.size

    def _keep_evidence(
        self,
        node_id: str,
        kind: str,
        held: SignedCheckpoint,
        offered: SignedCheckpoint,
        proof: list[bytes],
    ) -> None:
        self._db.execute(
            "INSERT INTO evidence (node_id, kind, held, offered, proof, detected_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                node_id,
                kind,
                held.to_bytes(),
                offered.to_bytes(),
                json.dumps([p.hex() for p in proof]),
                time.time(),
            ),
        )

    def evidence(self, node_id: str | None = None) -> list[ForkEvidence]:
        """Return the kept fork evidence, oldest first, for one node or all."""
        sql = "SELECT node_id, kind, held, offered, proof, detected_at FROM evidence"
        params: tuple[str, ...] = ()
        if node_id is not None:
            sql += " WHERE node_id = ?"
            params = (node_id,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", params).fetchall()
        return [
            ForkEvidence(
                n,
                k,
                SignedCheckpoint.from_bytes(bytes(h)),
                SignedCheckpoint.from_bytes(bytes(o)),
                [bytes.fromhex(x) for x in json.loads(p)],
                float(t),
            )
            for n, k, h, o, p, t in rows
        ]

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
