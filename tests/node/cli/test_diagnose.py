"""``fedcredit diagnose`` against a running local federation: a healthy node, a node whose
certificate has expired, and a job file its policy does not cover."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from coordinator.local import LocalFederation
from node.cli.exit_codes import ExitCode
from node.pki import issue_certificate
from tests.federation_fixtures import run_command

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[3]
VERTICAL = REPO_ROOT / "scripts" / "jobs" / "vertical_lr.yaml"
LINE = re.compile(r"^(OK|WARN|FAIL) +(\S+(?: \S+)?) +(.*)$")


@pytest.fixture
def federation(node_federation: LocalFederation) -> LocalFederation:
    """The session's running federation (tests/conftest.py): these tests leave it as it was."""
    return node_federation


def diagnose(fed: LocalFederation, config: Path, *args: str) -> tuple[int, dict[str, str], str]:
    """Exit code, each check's level, and the whole output of one run as a user types it."""
    result = run_command(fed.root, "node.cli.app", "diagnose", "--config", str(config), *args)
    assert "Traceback" not in result.stderr, result.stderr
    levels = {}
    for line in result.stdout.splitlines():
        found = LINE.match(line)
        if found:
            levels[found[2]] = found[1]
    return result.returncode, levels, result.stdout


def test_a_healthy_node_passes_every_check(federation: LocalFederation) -> None:
    # execute
    code, levels, out = diagnose(
        federation, federation.root / "config" / "bank.yaml", "--job", str(VERTICAL)
    )
    # assert: every check ran and passed, round trips through the relay to both peers
    assert code == ExitCode.OK, out
    checks = ["policy", "certificate", "ca", "disk", "coordinator", "rtt", "clock"]
    checks += ["peer government", "peer third_party", "message", "job vertical_lr.yaml"]
    for check in checks:
        assert levels.get(check) == "OK", (check, out)
    assert re.search(r"peer government +government through the relay: [\d.]+ ms", out)
    assert re.search(r"largest sealed payload that passes both ways: 3[01]\.\d+ MiB", out)
    # the node keeps serving: diagnostics did not take its stream or its state
    assert federation.wait_job(federation.submit(
        "type: check\nparties: {government: {}, bank: {}, third_party: {}}\n", job_id="after"
    ), timeout=120).state == "succeeded"  # fmt: skip


def test_an_expired_certificate_fails_with_the_fix(federation: LocalFederation) -> None:
    # prepare: the bank's node id under a certificate that ended yesterday, in files the
    # session's federation did not have (so they are removed at the end)
    config = federation.root / "config" / "bank-expired.yaml"
    try:
        issue_certificate(
            federation.certs, "bank-expired", role="bank", organization="bank-a", node_id="bank",
            not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=31), days=30,
        )  # fmt: skip
        raw = yaml.safe_load((federation.root / "config" / "bank.yaml").read_text())
        raw["certs"]["name"] = "bank-expired"
        config.write_text(yaml.safe_dump(raw))
        # execute
        code, levels, out = diagnose(federation, config)
    finally:
        for added in [config, *federation.certs.glob("bank-expired.*")]:
            added.unlink(missing_ok=True)
    # assert: the certificate fails with its end date and the fix; the coordinator refuses
    # the TLS handshake and says why; nothing on the network could be measured
    assert code == ExitCode.DIAGNOSE_FAILED, out
    assert levels["certificate"] == "FAIL" and "expired on" in out and "certs request" in out
    assert levels["coordinator"] == "FAIL" and "TLS handshake refused" in out
    assert levels["rtt"] == levels["peers"] == levels["message"] == "FAIL"
    assert levels["policy"] == levels["disk"] == "OK"


def test_a_job_the_policy_does_not_cover_names_the_field(
    federation: LocalFederation, tmp_path: Path
) -> None:
    # prepare: the bank asked to train on its customers' phone numbers
    job = tmp_path / "phones.yaml"
    job.write_text(
        VERTICAL.read_text().replace("relationship_months]", "relationship_months, contact_phone]")
    )
    # execute
    code, levels, out = diagnose(
        federation, federation.root / "config" / "bank.yaml", "--job", str(job)
    )
    # assert
    assert code == ExitCode.DIAGNOSE_FAILED, out
    assert levels["job phones.yaml"] == "FAIL"
    assert "to government" in out and "contact_phone" in out
