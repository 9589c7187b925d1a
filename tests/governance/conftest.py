"""The local federation the trace tests share: coordinator, three nodes and ``bank-b``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from coordinator.local import LocalFederation
from node.pki import issue_certificate
from tests.federation_fixtures import synthetic_federation


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    """Coordinator, government, bank and third-party nodes as processes; plus ``bank-b``."""
    fed = synthetic_federation(tmp_path_factory.mktemp("fed"), n_firms=1500)
    issue_certificate(fed.certs, "bank-b", role="bank", organization="bank-b")
    try:
        fed.start()
        yield fed
    finally:
        fed.stop()
