"""Crashes the fuzz harness found, each kept as a regression test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from node.audit.exceptions import InvalidCheckpoint
from node.policy.exceptions import PolicyFileError
from node.policy.loader import load_policy


@pytest.mark.parametrize("text", ["\x00", "fedcredit_policy: 1\n\x07\n", "datasets: {\x1b: 1}"])
def test_policy_file_with_a_control_character_is_a_policy_error(tmp_path: Path, text: str) -> None:
    # found by the policy_yaml target: yaml's ReaderError escaped the loader
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyFileError, match="non-printable character"):
        load_policy(path)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda text: text.rsplit(" ", 1)[0] + " abc\n",  # found by the checkpoint target
        lambda text: text.replace("\n5\n", "\n" + "9" * 5000 + "\n"),  # int() digit limit
    ],
)
def test_malformed_checkpoint_is_an_invalid_checkpoint(tamper: Callable[[str], str]) -> None:
    # found by the checkpoint target: a signature with broken base64 padding escaped as
    # binascii.Error instead of InvalidCheckpoint
    key = Ed25519PrivateKey.generate()
    text = sign_checkpoint(Checkpoint("bank", 5, b"r" * 32, "2026-01-01T00:00:00.000000Z"), key)
    with pytest.raises(InvalidCheckpoint):
        SignedCheckpoint.from_bytes(tamper(text.to_bytes().decode()).encode())
