"""A running local federation with consoles for the console tests: a check job, a vertical
job trained and deployed for scoring, and a few decisions by the bank's loan officer."""

from __future__ import annotations

import hashlib
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from coordinator.local import LocalFederation
from protos.fedcredit.v1 import node_pb2
from tests.federation_fixtures import CHECK_JOB
from tests.node.scoring.federation import (
    ScoringFederation,
    scoring_federation,
    short_vertical_job,
    train_and_deploy,
)

DAY = 86_400.0
# Enough firms for the curves to have bands (at least 20 test firms each) and enough epochs
# for the model to beat the bank alone: the console shows them, and its screenshots too.
N_FIRMS, EPOCHS = 3000, 5
# Applications decided before the tests: two firms authorized the bank to ask the other
# holders about them, the third did not (so its decision carries the holders' gaps).
AUTHORIZED, UNAUTHORIZED = (0, 1), 2


@pytest.fixture(scope="package")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScoringFederation]:
    root = tmp_path_factory.mktemp("console-fed")
    fed, codes = scoring_federation(root, n_firms=N_FIRMS)
    try:
        fed.start()
        fed.wait_job(fed.submit(CHECK_JOB, job_id="check-1"), timeout=120)
        train_and_deploy(fed, job_id="vertical-1", job=short_vertical_job(EPOCHS))
        decide(fed, held_by_every_holder(root / "data", codes))
        yield fed
    finally:
        fed.stop()
    assert fed.running() == []


def held_by_every_holder(data: Path, codes: list[str]) -> list[str]:
    """The bank's firms of which each other holder has a record, in the bank's order: an
    authorized firm's decision then has an answer from every holder (not every synthetic firm
    is known to the third party)."""
    held = [
        set(pd.read_csv(data / f"{holder}.csv", usecols=["uscc"])["uscc"].astype(str))
        for holder in ("government", "third_party")
    ]
    return [code for code in codes if all(code in h for h in held)]


def decide(fed: ScoringFederation, codes: list[str]) -> None:
    """Authorize two firms at the holders and decide three applications, as a loan system."""
    bank = fed.node("bank", as_="bank-officer")
    now = time.time()
    grants = [
        node_pb2.AuthorizationGrant(
            uscc=codes[i], purposes=["loan_approval"], valid_from=now - DAY,
            valid_to=now + 30 * DAY, document_sha256=hashlib.sha256(b"form").hexdigest(),
            collector="branch-7", collected_at=now - DAY, holders=["government", "third_party"],
        )
        for i in AUTHORIZED
    ]  # fmt: skip
    bank.RegisterAuthorizations(node_pb2.AuthorizationBatch(grants=grants), timeout=60)
    for i in (*AUTHORIZED, UNAUTHORIZED):
        request = node_pb2.DecideRequest(
            uscc=codes[i], application_ref=f"APP-{i}", amount=400_000, term_months=12
        )
        bank.Decide(request, timeout=60)


def client(fed: LocalFederation, who: str) -> httpx.Client:
    """An HTTPS client presenting ``who``'s certificate and trusting only the federation CA."""
    context = ssl.create_default_context(cafile=str(fed.certs / "ca.crt"))
    context.load_cert_chain(fed.certs / f"{who}.crt", fed.certs / f"{who}.key")
    return httpx.Client(verify=context, timeout=30)
