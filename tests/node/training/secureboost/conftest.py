"""Shared fixtures: a slice of the real default_credit vertical split and job sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.node.training.vertical.conftest import GUEST_FEATURES, HOST_FEATURES, allow_all
from tests.node.training.vertical.conftest import section as vertical_section

__all__ = ["GUEST_FEATURES", "HOST_FEATURES", "allow_all", "credit_frames", "section"]

ROWS = 1200


@pytest.fixture(scope="session")
def credit_frames(default_credit_dir: Path) -> dict[str, pd.DataFrame]:
    """The first rows of the guest and host files (already aligned by id, as PSI would)."""
    guest = pd.read_csv(default_credit_dir / "default_credit_hetero_guest.csv", nrows=ROWS)
    host = pd.read_csv(default_credit_dir / "default_credit_hetero_host.csv", nrows=ROWS)
    assert (guest["id"] == host["id"]).all()
    return {"bank": guest, "gov": host, "third": host}


def section(
    *, plaintext: bool = True, trees: int = 4, three_party: bool = False, **model: Any
) -> dict[str, Any]:
    """A job-file ``secureboost`` section over the fixture data.

    Encrypted runs use a 768-bit key, allowed explicitly: the protocol's arithmetic and packing
    layout work the same at any key size (fewer bin sums per ciphertext), and 2048-bit keys
    would make the suite slow. The cross-process tests and the benchmark use 1024 and 2048.
    """
    parties = vertical_section(three_party=three_party)
    return {
        "label_holder": parties["label_holder"],
        "feature_holders": parties["feature_holders"],
        "split": {"test_fraction": 0.2, "validation_fraction": 0.2, "seed": 11},
        "model": {"trees": trees, "max_depth": 3, "bins": 16, **model},
        "encryption": {"key_bits": 768, "allow_weak_key": True, "plaintext": plaintext},
        "timeout_s": 30,
        "rejoin_wait_s": 0,
    }
