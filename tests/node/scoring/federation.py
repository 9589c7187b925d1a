"""A synthetic three-holder federation with scoring configured, a trained and deployed model."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from coordinator.local import LocalFederation
from coordinator.local.federation import POLICY_DIR, PartySpec
from coordinator.local.synthetic import ORGANIZATIONS
from node.cli.app import app
from node.data.synthetic import generate_federation
from node.pki import issue_certificate
from node.transport.client import open_channel
from protos.fedcredit.v1 import node_pb2_grpc

SCORING = {
    "government": {
        "flags": {
            "GOV-TAX-ARREARS": "tax_arrears_months >= 3",
            "GOV-COURT-ENFORCEMENT": "court_judgments_24m >= 3",
        },
        "caps": {"per_firm_per_day": 6},
    },
    "third_party": {"flags": {"TP-BUREAU-DEFAULT": "bureau_flags >= 2"}},
    "bank": {"decision_policy": "decision.yaml"},
}
# The shipped decision policy with a deadline loose enough for a loaded test machine: these
# tests are about what is decided and logged, not about latency (the benchmark is).
DECISION_POLICY = (
    (POLICY_DIR / "decision" / "sme-standard.yaml")
    .read_text()
    .replace("deadline_ms: 300 ", "deadline_ms: 5000")
)


def short_vertical_job(epochs: int = 2) -> str:
    """The demo's vertical_lr job with 1024-bit keys and two epochs: training in about a minute
    on two cores, for tests of what comes after it (scoring, the console), not of training.

    Each replacement must match, so a change to the demo file cannot silently undo it.
    """
    job = (
        Path(__file__).resolve().parents[3] / "scripts" / "jobs" / "vertical_lr.yaml"
    ).read_text()
    for old, new in (
        ("encryption: {key_bits: 2048}", "encryption: {key_bits: 1024, allow_weak_key: true}"),
        ("model: {epochs: 8}", f"model: {{epochs: {epochs}}}"),
    ):
        assert old in job, f"scripts/jobs/vertical_lr.yaml no longer says {old!r}"
        job = job.replace(old, new)
    return job


JOB = short_vertical_job()
# Six shallow trees with 1024-bit keys: the decision path, not training, is under test.
SECUREBOOST_JOB = (
    (Path(__file__).resolve().parents[3] / "scripts" / "jobs" / "secureboost.yaml")
    .read_text()
    .replace("trees: 12", "trees: 6")
    .replace("{key_bits: 2048}", "{key_bits: 1024, allow_weak_key: true}")
)


class ScoringFederation(LocalFederation):
    """The local federation with each node's ``scoring:`` section written into its config."""

    def _write_node_config(self, p: PartySpec) -> Path:
        path = super()._write_node_config(p)
        raw = yaml.safe_load(path.read_text())
        raw["scoring"] = dict(SCORING.get(p.node_id, {}))
        if "decision_policy" in raw["scoring"]:
            policy = path.parent / "decision.yaml"
            policy.write_text(DECISION_POLICY)
            raw["scoring"]["decision_policy"] = str(policy)
        path.write_text(yaml.safe_dump(raw))
        return path

    def config(self, node: str) -> Path:
        return self.root / "config" / f"{node}.yaml"

    def node(self, node_id: str, as_: str = "loan-desk") -> node_pb2_grpc.NodeStub:
        address = f"127.0.0.1:{self.node_ports[node_id]}"
        return node_pb2_grpc.NodeStub(open_channel(address, self.certs, as_, peer=node_id))

    def cli(self, *args: str) -> str:
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output


def scoring_federation(root: Path, n_firms: int = 600) -> tuple[ScoringFederation, list[str]]:
    """Prepare (not start) the federation; return it and the synthetic firms' codes."""
    files = generate_federation(root / "data", n_firms=n_firms, seed=7)
    parties = [
        PartySpec(name, name, org, {name: (files.tables[name], files.schemas[name], "uscc")})
        for name, org in ORGANIZATIONS.items()
    ]
    fed = ScoringFederation(root)
    fed.prepare(parties)
    issue_certificate(fed.certs, "loan-desk", role="loan_officer", organization="bank-a")
    issue_certificate(fed.certs, "other-desk", role="loan_officer", organization="bank-b")
    import pandas as pd

    codes = pd.read_csv(files.tables["bank"])["uscc"].astype(str).tolist()
    return fed, codes


def train_and_deploy(
    fed: ScoringFederation, job_id: str = "vlr", job: str = JOB
) -> dict[str, object]:
    status = fed.wait_job(fed.submit(job, job_id=job_id), timeout=900)
    assert status.state == "succeeded", status.error
    for node in ("bank", "government", "third_party"):
        fed.cli("models", "deploy", "--config", str(fed.config(node)), "--job", job_id)
    return dict(json.loads(status.result_json))
