"""The local federation's monitoring (``coordinator/local/monitoring.py``) as the cross-process
tests run it: every party under ``tests.node.monitoring.wiretap``, the scoring sections of
``ScoringFederation``, a looser policy deadline, a webhook receiver, and the bank's scheduler
checking every second; the early-warning model trained on a backtest year of cut-offs."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pandas as pd

from coordinator.local.federation import REPO_ROOT, PartySpec
from coordinator.local.lending import BANK, authorize, deploy_parts
from coordinator.local.monitoring import (
    PANELS,
    SHIPPED_POLICY,
    BankWatch,
    publish,
    table_name,
    watching,
    write_tables,
)
from coordinator.local.synthetic import ORGANIZATIONS
from node.data.synthetic import generate_federation
from node.monitoring.deployment import check_deployment
from node.pki import issue_certificate
from tests.node.scoring.federation import ScoringFederation

HOLDERS = ("government", "third_party")
# The shipped monitoring policy with a deadline loose enough for a loaded test machine.
MONITOR_POLICY = SHIPPED_POLICY.read_text().replace("deadline_ms: 60000", "deadline_ms: 120000")
# The training table's cutoff months: those whose 6-month label window can hold a default
# (the synthetic defaults fall in the follow-up year, 2026, only): a backtest that knows the
# whole follow-up year, unlike the local federation's demo, which stops its clock in it. A
# short panel keeps the table at firms x 12 rows.
TABLE_MONTHS = ("2025-07", "2026-06")
# The early-warning model: the local federation's job file as it is (vertical_lr, three epochs,
# a 1024-bit key: the model is the setting here, not under test; tests/node/training covers
# the job). Measured on the 500-firm federation below (2026-11, shared 2-core machine): the
# job costs ~21 CPU-s over all parties, of which ~11 are the PSI on `<code>@<month>` ids (~7
# of those fixed: each node's worker pool starting), ~10 the three epochs; under a load
# average of 16-27 that is 30-80 s of wall time.
EW_JOB = (REPO_ROOT / "scripts" / "jobs" / "early_warning.yaml").read_text()


def _boosted(job: str) -> str:
    """The same tables through an ordinary secureboost job: eight trees of depth 3 on the
    job's other defaults (early stopping on the validation rows) and the same key. Each
    replacement must match, so a change to the job file cannot silently undo it."""
    for old, new in (
        ("type: vertical_lr", "type: secureboost"),
        ("\nvertical:\n", "\nsecureboost:\n"),
        ("validation: {fraction: 0.2, seed: 7}",
         "split: {test_fraction: 0.2, validation_fraction: 0.15, seed: 7}"),
        ("model: {epochs: 3}", "model: {trees: 8, max_depth: 3}"),
    ):  # fmt: skip
        assert old in job, f"scripts/jobs/early_warning.yaml no longer says {old!r}"
        job = job.replace(old, new)
    return job


EW_BOOST_JOB = _boosted(EW_JOB)


class Receiver(BaseHTTPRequestHandler):
    """A local webhook receiver keeping every body it was sent (one subclass per test)."""

    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        type(self).bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class MonitoringFederation(ScoringFederation):
    """Every party runs under ``tests.node.monitoring.wiretap``: the daemon itself, writing down
    what the coordinator relays and what each node opens (``<root>/wire/``)."""

    coordinator_module = node_module = "tests.node.monitoring.wiretap"


def monitoring_federation(
    root: Path, sinks: list[dict[str, object]], n_firms: int = 500
) -> tuple[MonitoringFederation, list[str]]:
    """Prepare (not start) the federation, live panels up to the observation month."""
    files = generate_federation(root / "data", n_firms=n_firms, seed=11)
    parties = [
        PartySpec(name, name, org, {name: (files.tables[name], files.schemas[name], "uscc")})
        for name, org in ORGANIZATIONS.items()
    ]
    fed = MonitoringFederation(root)
    policy = fed.root / "config" / "monitoring.yaml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text(MONITOR_POLICY)
    # CSV panels: the tests publish a broken file and scan the text for leaked values
    watch = BankWatch(policy, sinks, check_every_s=1)
    fed.prepare(watching(parties, fed.root, watch, fmt="csv"))
    issue_certificate(fed.certs, "loan-desk", role="loan_officer", organization="bank-a")
    for node in PANELS:
        publish(fed, node, "2025-12")
    codes = pd.read_csv(files.tables["bank"], dtype={"uscc": str})["uscc"].tolist()
    return fed, codes


def train_and_deploy(fed: MonitoringFederation, codes: list[str], job: str) -> None:
    """Each node writes its early-warning table from its own panel (a backtest: cutoffs whose
    following 6 months are known), offline; then the nodes start, train ``job`` (id ``ew``),
    the bank registers every borrower's monitoring authorization at both holders, and each
    party deploys its part as ``sme-ew`` (the bank last: then its scheduler refreshes)."""
    for node in PANELS:
        publish(fed, node, "2026-12")
    write_tables(fed, *TABLE_MONTHS)
    for node in PANELS:
        publish(fed, node, "2025-12")
    fed.start()
    status = fed.wait_job(fed.submit(job, job_id="ew"), timeout=600)
    assert status.state == "succeeded", status.error
    ack = authorize(fed.node(BANK), codes, "post_loan_monitoring", HOLDERS, days=365)
    assert all(v.startswith("stored") for v in ack.holders.values()), ack.holders
    check_deployment(fed.root / "state" / BANK, "ew", "sme-ew")  # what models deploy checks
    deploy_parts(fed, "ew", "sme-ew", dataset=table_name, nodes=[*HOLDERS, BANK])
