"""trace: the leaker's release is named with a verified proof; an innocent table is not."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit import AccessLog
from node.audit.exceptions import CheckpointSignatureError
from node.audit.merkle import leaf_hash, verify_inclusion
from node.audit.sink import AuditSink
from node.governance.evidence import Prover, load_witnessed, remember_witnessed
from node.governance.releases import GovernedReleases
from node.governance.tabular import write_table
from node.governance.trace import trace_file, trace_table
from node.policy import PolicyEngine, ReleaseRequest, build_release

from .conftest import BANK_A, BANK_B, Caller

FIELDS = (
    "uscc",
    "industry_code",
    "tax_growth_12m",
    "electricity_kwh_12m",
    "electricity_growth_12m",
)


def _release(  # type: ignore[no-untyped-def]
    engine, governed, sink, who, certs: Path, frame
) -> tuple[str, bytes]:
    """The Release RPC's path: build (marked), log, register; the id and the bytes sent."""
    request = ReleaseRequest("government", FIELDS)
    release = build_release(engine, who, request, frame, marker=governed)
    index = sink.record("release", release.record.log_details())
    cert = (certs / ("bank.crt" if who is BANK_A else "bank-b.crt")).read_bytes()
    governed.register(release.record, cert, index)
    return release.record.release_id, release.table


def _decode(table: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(table))


@pytest.fixture
def two_releases(engine, governed, sink, certs, gov_frame):  # type: ignore[no-untyped-def]
    a = _release(engine, governed, sink, BANK_A, certs, gov_frame)
    b = _release(engine, governed, sink, BANK_B, certs, gov_frame)
    return a, b


def test_a_mangled_copy_is_traced_with_a_witnessed_proof(
    tmp_path: Path,
    two_releases,  # type: ignore[no-untyped-def]
    governed: GovernedReleases,
    access_log: AccessLog,
    signing_key: Ed25519PrivateKey,
) -> None:
    # prepare: the witness accepted a checkpoint covering both releases; bank-a leaks 15 %
    (rid_a, table_a), _ = two_releases
    copy_a = _decode(table_a)
    remember_witnessed(tmp_path / "gov", access_log.checkpoint())
    leak = copy_a.sample(frac=0.15, random_state=2)[["electricity_kwh_12m", "tax_growth_12m"]]
    path = tmp_path / "leak.xlsx"
    write_table(leak, path, "xlsx")
    prover = Prover(access_log, signing_key.public_key(), load_witnessed(tmp_path / "gov"))
    # execute
    report = trace_file(path, governed.registry.releases(), governed.key, prover=prover)
    # assert: one match, the right recipient, a bound, and evidence that verifies on its own
    assert report.traced and [m.release.record.release_id for m in report.matches] == [rid_a]
    match = report.matches[0]
    assert match.release.principal == "bank-a/bank/bank"
    assert match.release.cert_serial and len(match.release.cert_sha256) == 64
    assert match.log10_bound < -9 and not match.exact_copy
    proof = match.evidence
    assert proof is not None and proof.witnessed
    cp = proof.anchor.checkpoint
    cp.verify(signing_key.public_key())
    verify_inclusion(leaf_hash(proof.entry), proof.index, cp.size, list(proof.proof), cp.root)
    assert proof.to_dict()["entry"]["details"]["release_id"] == rid_a


def test_an_unmarked_extract_of_the_same_rows_accuses_no_one(
    engine: PolicyEngine,
    governed: GovernedReleases,
    gov_frame: pd.DataFrame,
    two_releases,  # type: ignore[no-untyped-def]
) -> None:
    unmarked = build_release(engine, BANK_A, ReleaseRequest("government", FIELDS), gov_frame)
    report = trace_table(_decode(unmarked.table), governed.registry.releases(), governed.key)
    assert not report.traced and report.verdict.tested == 2


def test_an_exact_copy_is_matched_by_its_hash(
    tmp_path: Path,
    two_releases,  # type: ignore[no-untyped-def]
    governed: GovernedReleases,
) -> None:
    _, (rid_b, table_b) = two_releases
    path = tmp_path / "copy.parquet"
    path.write_bytes(table_b)
    report = trace_file(path, governed.registry.releases(), governed.key)
    assert [m.release.record.release_id for m in report.matches] == [rid_b]
    assert report.matches[0].exact_copy


def test_entries_newer_than_the_witnessed_checkpoint_are_proven_against_the_nodes_own(
    tmp_path: Path,
    engine: PolicyEngine,
    governed: GovernedReleases,
    sink: AuditSink,
    certs: Path,
    gov_frame: pd.DataFrame,
    access_log: AccessLog,
    signing_key: Ed25519PrivateKey,
) -> None:
    witnessed = access_log.checkpoint()  # before the release
    rid, table = _release(engine, governed, sink, BANK_A, certs, gov_frame)
    copy = _decode(table)
    prover = Prover(access_log, signing_key.public_key(), witnessed)
    report = trace_table(copy, governed.registry.releases(), governed.key, prover=prover)
    assert report.matches[0].evidence is None  # no checkpoint covers it yet
    access_log.checkpoint()
    report = trace_table(copy, governed.registry.releases(), governed.key, prover=prover)
    evidence = report.matches[0].evidence
    assert evidence is not None and evidence.anchor.source == "node" and not evidence.witnessed
    assert report.matches[0].release.record.release_id == rid


def test_a_witnessed_checkpoint_of_another_key_is_refused(access_log: AccessLog) -> None:
    other = Ed25519PrivateKey.generate()
    cp = access_log.checkpoint()
    with pytest.raises(CheckpointSignatureError):
        Prover(access_log, other.public_key(), cp)


def test_a_recipient_not_in_the_registry_is_never_named(
    engine: PolicyEngine, governed: GovernedReleases, gov_frame: pd.DataFrame
) -> None:
    stranger = Caller("bank-b", "elsewhere", "bank")
    request = ReleaseRequest("government", FIELDS)
    release = build_release(engine, stranger, request, gov_frame, marker=governed)
    report = trace_table(_decode(release.table), governed.registry.releases(), governed.key)
    assert not report.traced  # marked, but never registered: nothing to name
