"""A running local federation with consoles, and a vertical job done, for the console tests."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from coordinator.local import LocalFederation
from tests.federation_fixtures import CHECK_JOB, synthetic_federation

# 1024-bit keys and two epochs keep training short: the console, not training, is under test.
VERTICAL_JOB = (
    (Path(__file__).resolve().parents[2] / "scripts" / "jobs" / "vertical_lr.yaml")
    .read_text()
    .replace("key_bits: 2048}", "key_bits: 1024, allow_weak_key: true}")
    .replace("epochs: 5", "epochs: 2")
)


@pytest.fixture(scope="package")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    fed = synthetic_federation(tmp_path_factory.mktemp("console-fed"), n_firms=600)
    try:
        fed.start()
        fed.wait_job(fed.submit(CHECK_JOB, job_id="check-1"), timeout=120)
        status = fed.wait_job(fed.submit(VERTICAL_JOB, job_id="vertical-1"), timeout=600)
        assert status.state == "succeeded", status.error
        yield fed
    finally:
        fed.stop()
    assert fed.running() == []


def client(fed: LocalFederation, who: str) -> httpx.Client:
    """An HTTPS client presenting ``who``'s certificate and trusting only the federation CA."""
    context = ssl.create_default_context(cafile=str(fed.certs / "ca.crt"))
    context.load_cert_chain(fed.certs / f"{who}.crt", fed.certs / f"{who}.key")
    return httpx.Client(verify=context, timeout=30)
