"""A release leaked and mangled every way is traced to its recipient, with a proof that
verifies against the coordinator's witness; a file the node never released accuses no one.

Real processes: coordinator and nodes from ``LocalFederation``, releases over mutual TLS, and
``fedcredit trace`` run as the operator runs it, in its own process; then the same tracing by
upload on the node's console, over HTTPS with client certificates.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from coordinator.local import LocalFederation
from node.audit.checkpoint import SignedCheckpoint
from node.audit.entry import Action
from node.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from node.audit.reader import LogReader
from node.audit.search import SearchQuery
from node.console.leak_trace import MAX_UPLOAD
from node.governance.tabular import write_table
from node.pki import identity_from_certificate
from tests.console.conftest import client
from tests.governance.helpers import decode, fedcredit, release, wait_witnessed, witness_checkpoint

pytestmark = pytest.mark.slow

CARRIERS = ("tax_growth_12m", "electricity_growth_12m", "electricity_kwh_12m")


@dataclass(frozen=True)
class Released:
    bank_a: pd.DataFrame
    bank_a_id: str
    bank_2: pd.DataFrame
    bank_2_id: str


@pytest.fixture(scope="module")
def released(federation: LocalFederation) -> Iterator[Released]:
    a = release(federation, "bank", fmt="parquet")
    b = release(federation, "bank-2", fmt="csv")
    with LogReader.open(federation.root / "state" / "government" / "audit") as log:
        size = log.size()
    wait_witnessed(federation, "government", size)
    yield Released(decode(a), a.release_id, decode(b), b.release_id)


def _trace(fed: LocalFederation, path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    config = fed.root / "config" / "government.yaml"
    done = fedcredit("trace", str(path), "--config", str(config), "--format", "json", *extra)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def _government_key(fed: LocalFederation) -> Ed25519PublicKey:
    identity = identity_from_certificate((fed.certs / "government.crt").read_bytes())
    return Ed25519PublicKey.from_public_bytes(identity.sign_public)


def _check_evidence(fed: LocalFederation, match: dict[str, Any], release_id: str) -> None:
    """Verify the proof as an auditor would: only the bytes, the proof and the node's key."""
    evidence = match["evidence"]
    assert evidence["anchor"] == "witness"
    assert evidence["entry"]["action"] == "release"
    assert evidence["entry"]["details"]["release_id"] == release_id
    entry = json.dumps(evidence["entry"], sort_keys=True, separators=(",", ":")).encode()
    cp = SignedCheckpoint.from_bytes(evidence["checkpoint"].encode())
    cp.verify(_government_key(fed))
    proof = [bytes.fromhex(h) for h in evidence["inclusion_proof"]]
    verify_inclusion(leaf_hash(entry), evidence["index"], cp.size, proof, cp.root)
    # the witness holds this checkpoint or a later one the log proves consistent with it
    held = witness_checkpoint(fed, "government")
    if held.size != cp.size:
        with LogReader.open(fed.root / "state" / "government" / "audit") as log:
            consistency = log.consistency_proof(cp.size, held.size)
        verify_consistency(cp.size, held.size, cp.root, held.root, consistency)
    else:
        assert held.root == cp.root


def _perturb(frame: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column].dtype):
            x = out[column].to_numpy(dtype="float64", copy=True)
            hit = rng.random(len(x)) < share
            x[hit] = np.round(x[hit] * rng.uniform(0.9, 1.1, int(hit.sum())), 1)
            out[column] = x
    return out


MANGLES = {
    "subset_10pct": lambda f, rng: f.sample(frac=0.10, random_state=rng),
    "reorder": lambda f, rng: f.sample(frac=1.0, random_state=rng)[list(reversed(f.columns))],
    "drop_columns": lambda f, rng: f[["industry_code", "electricity_kwh_12m", "tax_growth_12m"]],
    "noise_30pct": lambda f, rng: _perturb(f, 0.30, rng),
}


@pytest.mark.parametrize("mangle", sorted(MANGLES))
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_a_mangled_leak_names_its_recipient_with_a_witnessed_proof(
    federation: LocalFederation, released: Released, tmp_path: Path, mangle: str, fmt: str
) -> None:
    # prepare: bank-a's copy, mangled, saved in another format than it was released in
    leak = MANGLES[mangle](released.bank_a, 5)
    path = tmp_path / f"leak.{fmt}"
    write_table(leak, path, fmt)
    # execute
    code, report = _trace(federation, path)
    # assert: exactly bank-a's release, with its certificate, a bound and the evidence
    assert code == 0
    (match,) = report["matches"]
    rel = match["release"]
    assert rel["release_id"] == released.bank_a_id
    assert (rel["organization"], rel["node_id"], rel["role"]) == ("bank-a", "bank", "bank")
    assert rel["certificate_serial"] and len(rel["certificate_sha256"]) == 64
    assert rel["query"]["dataset"] == "government" and rel["policy_version"]
    assert match["false_accusation_bound"] <= 1e-9
    _check_evidence(federation, match, released.bank_a_id)


def test_two_colluders_merging_their_copies_are_both_named(
    federation: LocalFederation, released: Released, tmp_path: Path
) -> None:
    # prepare: the colluders line their copies up on the firm name and mix cell by cell
    a = released.bank_a.sort_values("firm_name", kind="stable").reset_index(drop=True)
    b = released.bank_2.sort_values("firm_name", kind="stable").reset_index(drop=True)
    from_b = np.random.default_rng(3).random((len(a), len(CARRIERS))) < 0.5
    merged = a[list(CARRIERS)].where(~from_b, b[list(CARRIERS)])
    path = tmp_path / "merged.csv"
    write_table(merged, path, "csv")
    # execute
    code, report = _trace(federation, path)
    # assert
    assert code == 0
    named = {m["release"]["release_id"] for m in report["matches"]}
    assert named == {released.bank_a_id, released.bank_2_id}


def test_the_witness_copy_of_the_checkpoint_can_anchor_the_proof(
    federation: LocalFederation, released: Released, tmp_path: Path
) -> None:
    held = witness_checkpoint(federation, "government")
    anchor = tmp_path / "witness.checkpoint"
    anchor.write_bytes(held.to_bytes())
    path = tmp_path / "leak.parquet"
    write_table(released.bank_2.sample(frac=0.2, random_state=1), path, "parquet")
    code, report = _trace(federation, path, "--witness-checkpoint", str(anchor))
    assert code == 0
    (match,) = report["matches"]
    assert match["release"]["release_id"] == released.bank_2_id
    assert match["evidence"]["tree_size"] == held.size


def test_a_file_never_released_accuses_no_one(
    federation: LocalFederation, released: Released, tmp_path: Path
) -> None:
    # prepare: the raw numbers of the node's own table (never released as they are)
    raw = pd.read_csv(federation.root / "data" / "government.csv")
    path = tmp_path / "innocent.csv"
    write_table(raw[["industry_code", *CARRIERS]], path, "csv")
    # execute
    code, report = _trace(federation, path)
    # assert
    assert code == 1 and report["matches"] == [] and report["releases_tested"] >= 2


def test_the_trace_output_holds_no_raw_identifier(
    federation: LocalFederation, released: Released, tmp_path: Path
) -> None:
    path = tmp_path / "leak.csv"
    write_table(released.bank_a.sample(frac=0.1, random_state=9), path, "csv")
    done = fedcredit(
        "trace", str(path), "--config", str(federation.root / "config" / "government.yaml")
    )
    assert done.returncode == 0, done.stderr
    raw = pd.read_csv(federation.root / "data" / "government.csv", dtype=str)
    text = done.stdout + done.stderr
    assert "bank-a/bank/bank" in text
    for column in ("uscc", "legal_rep_id_number", "legal_rep_phone"):
        assert not any(value in text for value in raw[column].dropna()), column


def test_bad_input_is_one_line_naming_the_problem(
    federation: LocalFederation, tmp_path: Path
) -> None:
    garbage = tmp_path / "leak.bin"
    garbage.write_bytes(b"\x00\xff\x81 not a table")
    config = str(federation.root / "config" / "government.yaml")
    done = fedcredit("trace", str(garbage), "--config", config)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "neither Parquet" in done.stderr
    done = fedcredit("trace", str(garbage), "--config", str(tmp_path / "none.yaml"))
    assert done.returncode == 2 and "Traceback" not in done.stderr


# The console's trace page: the same tracing, by upload, over HTTPS with client certificates.


def _upload(fed: LocalFederation, who: str, name: str, data: bytes) -> httpx.Response:
    url = fed.console_url("government")
    with client(fed, who) as http:
        return http.post(url + "/governance/trace", files={"leaked": (name, data)},
                         headers={"Origin": url})  # fmt: skip


def _leftover_uploads() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("leak-*"))


def test_an_auditor_traces_a_mangled_leak_on_the_console(
    federation: LocalFederation, released: Released, tmp_path: Path
) -> None:
    # prepare: bank-a's copy, a noisy 30% sample, as a workbook
    path = tmp_path / "found.xlsx"
    write_table(_perturb(released.bank_a.sample(frac=0.3, random_state=2), 0.3, 4), path, "xlsx")
    before = _leftover_uploads()
    # execute
    answer = _upload(federation, "auditor", "found.xlsx", path.read_bytes())
    # assert: bank-a's release, its certificate, bound and witnessed evidence; nothing kept
    assert answer.status_code == 200
    verdict = answer.text.split('id="verdict"')[1].split("</section>")[0]
    assert released.bank_a_id in verdict and "bank-a/bank/bank" in verdict
    assert released.bank_2_id not in verdict and "No release matches" not in verdict
    assert "false-accusation bound" in verdict and "the witness accepted" in verdict
    assert 'href="/audit/entry/' in verdict
    assert _leftover_uploads() <= before
    # and the upload is in the access log as the auditor's use of the trace page
    with LogReader.open(federation.root / "state" / "government" / "audit") as log:
        reads = log.search(SearchQuery(actor="audit-office", action=Action.READ))
    assert any(e.details.get("rpc") == "trace" for _, e in reads)


def test_the_console_says_when_no_release_matches_and_escapes_the_file(
    federation: LocalFederation, released: Released, tmp_path: Path
) -> None:
    # prepare: the node's own raw numbers, one column named like markup
    raw = pd.read_csv(federation.root / "data" / "government.csv")
    table = raw[["industry_code", *CARRIERS]].rename(columns={"industry_code": "<b>x</b>"})
    path = tmp_path / "innocent.csv"
    write_table(table, path, "csv")
    # execute: the node's own staff traces it
    answer = _upload(federation, "government-staff", "innocent.csv", path.read_bytes())
    # assert
    assert answer.status_code == 200
    assert "No release matches" in answer.text and "closest" in answer.text
    assert "&lt;b&gt;x&lt;/b&gt;" in answer.text and "<b>x</b>" not in answer.text


def test_a_garbage_upload_is_one_line_on_the_page(federation: LocalFederation) -> None:
    answer = _upload(federation, "operator", "leak.csv", b"\x00\xff\x81 not a table")
    assert answer.status_code == 200
    problem = answer.text.split('id="trace-problem"')[1].split("</p>")[0]
    assert "leak.csv" in problem and "neither Parquet" in problem
    assert "Traceback" not in answer.text and tempfile.gettempdir() not in answer.text


def test_only_the_incident_roles_of_this_node_may_trace(federation: LocalFederation) -> None:
    url = federation.console_url("government")
    for who in ("bank-staff", "bank-officer"):  # another organization's staff; a loan officer
        assert _upload(federation, who, "leak.csv", b"a,b\n1,2\n").status_code == 403
    with client(federation, "auditor") as http:  # a change from another site is refused
        foreign = http.post(url + "/governance/trace", files={"leaked": ("x.csv", b"a\n1\n")},
                            headers={"Origin": "https://elsewhere.example"})  # fmt: skip
        page = http.get(url + "/governance")
    assert foreign.status_code == 403
    assert 'href="/governance/trace"' in page.text


def test_an_upload_over_the_limit_is_refused_before_it_is_read(
    federation: LocalFederation,
) -> None:
    answer = _upload(federation, "auditor", "big.csv", b"a\n" * (MAX_UPLOAD // 2 + 2**16))
    assert answer.status_code == 413 and "larger than 64 MiB" in answer.text
