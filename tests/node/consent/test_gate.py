"""Per-firm admission: the monitoring hook, releases (withheld and counted) and training."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from node.audit.tokens import FirmTokenizer
from node.consent.gate import TrainingFirms, authorized_subset
from node.consent.record import Authorization, Evidence
from node.consent.store import ConsentStore

DAY = 86_400.0
TOKENS = FirmTokenizer(b"t" * 32)


def consent_store(
    tmp_path: Path, grants: dict[str, tuple[str, ...]], recipient: str
) -> ConsentStore:
    """A store with one grant per firm code: code -> purposes, valid a day either side."""
    now = time.time()
    store = ConsentStore(tmp_path / "auth.sqlite")
    evidence = Evidence("cd" * 32, "desk", now - DAY)
    store.add(
        Authorization(f"auth-{i:016x}", TOKENS.token(code), recipient, purposes,
                      now - DAY, now + DAY, evidence)
        for i, (code, purposes) in enumerate(grants.items())
    )  # fmt: skip
    return store


def test_authorized_subset_is_the_monitoring_hook(tmp_path: Path) -> None:
    # prepare: firm 0 authorized for monitoring, firm 1 only for loan approval, firm 2 none
    codes = ["911100000000000000", "911100000000000001", "911100000000000002"]
    store = consent_store(
        tmp_path,
        {codes[0]: ("post_loan_monitoring",), codes[1]: ("loan_approval",)},
        "bank-a",
    )
    tokens = [TOKENS.token(c) for c in codes]
    # execute
    watched = authorized_subset(store, tokens, "bank-a", "monitoring")
    other_bank = authorized_subset(store, tokens, "bank-b", "monitoring")
    # assert
    assert watched.allowed.tolist() == [True, False, False]
    assert watched.records == ("auth-0000000000000000",) and watched.withheld == 2
    assert other_bank.admitted == 0
    assert authorized_subset(store, [], "bank-a", "monitoring").admitted == 0


def test_training_uses_the_basis_the_policy_states(tmp_path: Path) -> None:
    # prepare: two of four firms authorized for model development
    codes = [f"9111000000000000{i:02d}" for i in range(4)]
    store = consent_store(
        tmp_path,
        {codes[0]: ("model_development",), codes[2]: ("model_development", "loan_approval")},
        "bank-a",
    )
    basis = ["authorized"]
    firms = TrainingFirms(store, TOKENS.token, lambda: basis[0])
    # execute
    authorized = firms.select(codes, "bank-a")
    basis[0] = "deidentified"
    deidentified = firms.select(codes, "bank-a")
    # assert: the summary the job's result records names the basis and counts, no firm
    assert authorized.admission.allowed.tolist() == [True, False, True, False]
    assert authorized.summary() == {
        "basis": "authorized", "recipient": "bank-a", "firms": 2, "withheld": 2,
        "authorizations": 2,
    }  # fmt: skip
    assert deidentified.admission.allowed.all() and deidentified.summary()["withheld"] == 0
    basis[0] = "whatever"
    with pytest.raises(ValueError, match="training basis"):
        firms.select(codes, "bank-a")
    assert np.asarray(authorized.admission.allowed).dtype == np.bool_
