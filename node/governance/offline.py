"""A node's governance files, opened read-only for the operator's ``trace`` and ``incident``.

The operator runs these commands on the node's host, beside the running node; the CLI reads
its configuration and passes the node's id, state directory and certificate (this package sits
below the node runtime, so it does not parse node configuration). The state directory holds
the node secret (fingerprint keys derive from it), the release registry and the access log;
the node's certificate gives the key that checkpoints are verified with. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.audit.checkpoint import SignedCheckpoint
from node.audit.reader import LogReader
from node.governance.evidence import Prover, load_witnessed
from node.governance.fingerprint import release_key, root_key
from node.governance.registry import ReleaseRegistry
from node.governance.store import GovernanceDB
from node.pki.identity import identity_from_certificate

# The node secret's length (``node.runtime.secrets`` writes it); checked so a wrong file is named.
_SECRET_BYTES = 32


class NodeFilesError(Exception):
    """A file the command needs is missing or unusable; the message names it and the fix."""


@dataclass
class NodeFiles:
    """Read-only views of one node's registry, log, key and witnessed checkpoint."""

    node_id: str
    registry: ReleaseRegistry
    reader: LogReader
    public_key: Ed25519PublicKey
    prover: Prover
    _db: GovernanceDB
    _root: bytes

    @classmethod
    def open(
        cls,
        node_id: str,
        state_dir: Path,
        certificate: Path,
        witness_checkpoint: Path | None = None,
    ) -> NodeFiles:
        """Open the files of node ``node_id``: its state directory and its certificate file.

        ``witness_checkpoint`` is a checkpoint file fetched from the coordinator's witness;
        without it the one the node kept when the witness last accepted is used.

        Raises
        ------
        NodeFilesError
            The configuration, secret, certificate, registry, log or checkpoint is missing,
            unreadable or does not belong to this node.
        """
        secret_path = state_dir / "node.secret"
        try:
            secret = secret_path.read_bytes()
        except OSError:
            raise NodeFilesError(
                f"no node secret at {secret_path}; run this on the node's host with its config"
            ) from None
        if len(secret) != _SECRET_BYTES:
            raise NodeFilesError(f"{secret_path} is not a node secret; restore it from backup")
        try:
            identity = identity_from_certificate(certificate.read_bytes())
        except Exception as exc:
            raise NodeFilesError(f"cannot read the node certificate {certificate}: {exc}") from None
        public_key = Ed25519PublicKey.from_public_bytes(identity.sign_public)
        try:
            witnessed = (
                SignedCheckpoint.from_bytes(witness_checkpoint.read_bytes())
                if witness_checkpoint is not None
                else load_witnessed(state_dir / "governance")
            )
        except Exception as exc:
            raise NodeFilesError(f"cannot read the witnessed checkpoint: {exc}") from None
        if witnessed is not None and witnessed.origin != node_id:
            raise NodeFilesError(
                f"the checkpoint is of {witnessed.origin!r}, not of {node_id!r}; "
                "fetch this node's checkpoint from the witness"
            )
        try:
            db = GovernanceDB(state_dir / "governance", readonly=True)
            reader = LogReader.open(state_dir / "audit")
        except Exception as exc:
            raise NodeFilesError(str(exc)) from None
        try:
            prover = Prover(reader, public_key, witnessed)
        except Exception:
            reader.close()
            db.close()
            raise NodeFilesError(
                "the witnessed checkpoint is not signed by this node's key; "
                "fetch this node's checkpoint from the witness"
            ) from None
        return cls(node_id, ReleaseRegistry(db), reader, public_key, prover, db, root_key(secret))

    def key_of(self, release_id: str) -> bytes:
        """The fingerprint key of a release (re-derived from the node secret)."""
        return release_key(self._root, release_id)

    def close(self) -> None:
        """Release the database connections."""
        self.reader.close()
        self._db.close()

    def __enter__(self) -> NodeFiles:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
