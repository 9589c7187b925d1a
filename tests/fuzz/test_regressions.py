"""Crashes the fuzz harness found, each kept as a regression test."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.policy.exceptions import PolicyFileError
from node.policy.loader import load_policy


@pytest.mark.parametrize("text", ["\x00", "fedcredit_policy: 1\n\x07\n", "datasets: {\x1b: 1}"])
def test_policy_file_with_a_control_character_is_a_policy_error(tmp_path: Path, text: str) -> None:
    # found by the policy_yaml target: yaml's ReaderError escaped the loader
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyFileError, match="non-printable character"):
        load_policy(path)
