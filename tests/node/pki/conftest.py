"""A real federation CA in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.pki import create_ca, issue_certificate


@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    """A CA folder with one bank node ``bank-a`` issued."""
    cert_dir = tmp_path / "certs"
    create_ca(cert_dir)
    issue_certificate(cert_dir, "bank-a", role="bank", organization="Bank A")
    return cert_dir
