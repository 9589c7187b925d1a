"""Fixtures for the governance tests: the shipped policies, a real access log and registry."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit import AccessLog, Actor
from node.audit.sink import AuditSink
from node.data.synthetic import SyntheticConfig, SyntheticFederation, build_federation
from node.governance.registry import ReleaseRegistry
from node.governance.releases import GovernedReleases
from node.governance.store import GovernanceDB
from node.pki import create_ca, issue_certificate
from node.policy import PolicyEngine

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Caller:
    """Stands in for a verified identity (organization, node id, role)."""

    organization: str
    node_id: str
    role: str


BANK_A = Caller("bank-a", "bank", "bank")
BANK_B = Caller("bank-b", "bank-b", "bank")
GOVERNMENT = Actor("gov-dc", "government", "government")


@pytest.fixture(scope="session")
def federation() -> SyntheticFederation:
    """A synthetic economy large enough for traces of small subsets."""
    return build_federation(SyntheticConfig(n_firms=1500, seed=11))


@pytest.fixture
def gov_frame(federation: SyntheticFederation) -> pd.DataFrame:
    return federation.government.copy()


@pytest.fixture
def secret() -> bytes:
    return os.urandom(32)


@pytest.fixture
def engine(secret: bytes) -> PolicyEngine:
    """The shipped government policy; noise draws seeded so two releases can be compared."""
    return PolicyEngine.load(
        REPO_ROOT / "policies" / "government.yaml",
        secret,
        rng_factory=lambda: np.random.default_rng(7),
    )


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def access_log(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Iterator[AccessLog]:
    log = AccessLog.open(tmp_path / "audit", signing_key, "government")
    yield log
    log.close()


@pytest.fixture
def sink(access_log: AccessLog) -> AuditSink:
    return AuditSink(access_log, GOVERNMENT)


@pytest.fixture
def governance_db(tmp_path: Path) -> Iterator[GovernanceDB]:
    db = GovernanceDB(tmp_path / "governance")
    yield db
    db.close()


@pytest.fixture
def governed(secret: bytes, governance_db: GovernanceDB, sink: AuditSink) -> GovernedReleases:
    return GovernedReleases(secret, ReleaseRegistry(governance_db), sink.record)


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA with the two recipients' certificates."""
    folder = tmp_path_factory.mktemp("certs")
    create_ca(folder)
    issue_certificate(folder, "bank", role="bank", organization="bank-a")
    issue_certificate(folder, "bank-b", role="bank", organization="bank-b")
    return folder
