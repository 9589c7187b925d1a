"""Governed releases: marked within tolerance, rows named by tokens, logged and registered."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from node.audit import AccessLog
from node.audit.tokens import subject_tokenizer
from node.governance.registry import certificate_facts
from node.governance.releases import GovernedReleases
from node.policy import PolicyEngine, ReleaseRequest, build_release

from .conftest import BANK_A

FIELDS = (
    "uscc", "firm_name", "industry_code", "tax_growth_12m", "electricity_kwh_12m",
    "electricity_growth_12m", "court_judgments_24m",
)  # fmt: skip


def _decode(table: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(table))


def test_the_mark_changes_only_carriers_and_within_their_tolerance(
    engine: PolicyEngine, governed: GovernedReleases, gov_frame: pd.DataFrame
) -> None:
    # prepare: the same request with and without the marker (noise draws are seeded)
    request = ReleaseRequest("government", FIELDS)
    plain = build_release(engine, BANK_A, request, gov_frame)
    # execute
    marked = build_release(engine, BANK_A, request, gov_frame, marker=governed)
    # assert
    before, after = _decode(plain.table), _decode(marked.table)
    tolerances = {
        "tax_growth_12m": 0.001,
        "electricity_growth_12m": 0.001,
        "electricity_kwh_12m": 100,
    }
    for column in FIELDS:
        if column in tolerances:
            delta = (after[column] - before[column]).abs()
            assert delta.max() <= tolerances[column] and delta.gt(0).mean() > 0.3, column
        else:
            pd.testing.assert_series_equal(after[column], before[column])
    assert set(marked.record.fingerprint["steps"]) == set(tolerances)
    assert marked.record.sha256 == hashlib.sha256(marked.table).hexdigest()


def test_released_rows_are_named_by_their_firm_tokens(
    engine: PolicyEngine, governed: GovernedReleases, gov_frame: pd.DataFrame, secret: bytes
) -> None:
    request = ReleaseRequest("government", FIELDS, filter="industry_code == 'C13'")
    release = build_release(engine, BANK_A, request, gov_frame, marker=governed)
    ids = gov_frame.loc[gov_frame["industry_code"] == "C13", "uscc"]
    tokens = subject_tokenizer(secret)
    assert release.record.subjects == tuple(sorted(tokens.token(u) for u in ids))
    assert all(s.startswith("ft:") for s in release.record.subjects)
    assert release.record.rows == len(ids)


def test_issue_fingerprints_logs_and_registers_a_scoring_answer(
    governed: GovernedReleases, access_log: AccessLog, certs: Path, gov_frame: pd.DataFrame
) -> None:
    # prepare: a batch-scoring answer file as another component would produce it
    rng = np.random.default_rng(3)
    answers = pd.DataFrame(
        {"applicant": [f"tk_{i:032x}" for i in range(400)], "pd": rng.uniform(0, 0.3, 400)}
    )
    cert = (certs / "bank.crt").read_bytes()
    # execute
    release = governed.issue(
        answers,
        BANK_A,
        cert,
        purpose="scoring",
        dataset="scores",
        query={"batch": "2026-11"},
        policy_version="v1",
        tolerances={"pd": 1e-4},
        ids=gov_frame["uscc"].iloc[:400],
    )
    # assert: the file carries the mark, the log names the rows, the registry the certificate
    assert (release.frame["pd"] - answers["pd"]).abs().max() <= 1e-4
    registered = governed.registry.get(release.record.release_id)
    assert registered is not None and registered.log_index is not None
    assert (registered.cert_serial, registered.cert_sha256) == certificate_facts(cert)
    entry = access_log.entry(registered.log_index)
    assert entry.action.value == "release" and entry.purpose == "scoring"
    assert entry.details["release_id"] == release.record.release_id
    assert len(entry.subjects) == 400 and entry.rows == 400


def test_a_malformed_certificate_is_refused_before_anything_is_recorded(
    governed: GovernedReleases, access_log: AccessLog
) -> None:
    answers = pd.DataFrame({"pd": [0.1, 0.2]})
    with pytest.raises(ValueError):
        governed.issue(
            answers,
            BANK_A,
            b"-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n",
            purpose="scoring",
            dataset="scores",
            query={},
            policy_version="v1",
            tolerances={"pd": 1e-4},
        )
    assert governed.registry.releases() == [] and access_log.size() == 0
