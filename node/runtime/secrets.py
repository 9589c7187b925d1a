"""The node's long-lived secret: keys its masking hashes, recipient tokens and log tokens."""

from __future__ import annotations

import os
from pathlib import Path

from node.pki.files import write_private

SECRET_BYTES = 32


def node_secret(state_dir: Path) -> bytes:
    """Read ``<state_dir>/node.secret``, creating it (0600) on first start.

    Tokens and keyed hashes stay stable across restarts only while this file is kept; losing
    it makes every earlier token unlinkable, which is also how it is rotated on purpose.
    """
    path = state_dir / "node.secret"
    if not path.exists():
        write_private(path, os.urandom(SECRET_BYTES))
    data = path.read_bytes()
    if len(data) != SECRET_BYTES:
        raise ValueError(f"{path} must hold {SECRET_BYTES} bytes; restore it from backup")
    return data
