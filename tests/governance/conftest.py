"""The local federation the trace tests share: coordinator, three nodes, and ``bank-2``, a
second certificate of bank-a (another recipient, covered by the same authorizations)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from coordinator.local import LocalFederation
from node.pki import issue_certificate
from tests.federation_fixtures import synthetic_federation
from tests.governance.helpers import authorize


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    """Coordinator, government, bank and third-party nodes as processes; plus ``bank-2``."""
    fed = synthetic_federation(tmp_path_factory.mktemp("fed"), n_firms=1500)
    issue_certificate(fed.certs, "bank-2", role="bank", organization="bank-a")
    issue_certificate(fed.certs, "loan-desk", role="loan_officer", organization="bank-a")
    try:
        fed.start()
        authorize(fed)
        yield fed
    finally:
        fed.stop()
