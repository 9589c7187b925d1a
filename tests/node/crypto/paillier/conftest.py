"""Shared key fixtures for the Paillier core tests."""

from __future__ import annotations

import pytest

from node.crypto.paillier import PrivateKey, PublicKey, generate_keypair


@pytest.fixture(scope="session")
def small_keypair() -> tuple[PublicKey, PrivateKey]:
    """A 512-bit key: small so the whole suite stays fast; the maths is size-independent."""
    return generate_keypair(512)


@pytest.fixture(scope="session")
def real_keypair() -> tuple[PublicKey, PrivateKey]:
    """A real 2048-bit key, for the few tests that must hold at production size."""
    return generate_keypair(2048)
