"""Issue 10's identity findings, against real node and coordinator processes.

- A node re-registering under a new organization retried forever, logging
  ``unreachable (StatusCode.ALREADY_EXISTS)``: now the coordinator says why and the node exits
  with code 11 and one clear line.
- Re-issued keys (same CA, same identity) needed an undocumented coordinator restart, and jobs
  then failed with ``_InactiveRpcError (the message is withheld ...)`` while the cause sat in
  traces.jsonl: now the coordinator picks the new certificate up when the node registers, and a
  refusal by the coordinator reaches the job's error with the coordinator's own reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import yaml

from coordinator.local import LocalFederation
from node.cli.exit_codes import ExitCode
from node.pki import issue_certificate
from tests.federation_fixtures import CHECK_JOB
from tests.security.coord_federation import configured_federation

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    federation = configured_federation(tmp_path_factory.mktemp("identity"))
    try:
        federation.start()
        yield federation
    finally:
        federation.stop()
    assert federation.running() == []


def test_reissued_keys_are_used_without_a_coordinator_restart(fed: LocalFederation) -> None:
    # prepare: the bank gets new keys (same CA, same identity) and restarts with them
    fed.stop_party("bank")
    issue_certificate(fed.certs, "bank", role="bank", organization="bank-a", overwrite=True)
    fed.start_node("bank")
    fed.wait_online(["bank"])
    # execute / assert: jobs work at once, the coordinator sealing to the new keys
    status = fed.wait_job(fed.submit(CHECK_JOB, job_id="after-rekey"), timeout=60)
    assert status.state == "succeeded", status.error
    log = (fed.root / "logs" / "coordinator.log").read_text()
    assert "node bank presented a new certificate" in log


def test_a_node_under_a_new_organization_exits_11_with_one_clear_line(
    fed: LocalFederation,
) -> None:
    # prepare: third_party's node id, certified for another organization
    fed.stop_party("third_party")
    issue_certificate(
        fed.certs, "third_party", role="third_party", organization="elsewhere", overwrite=True
    )
    log = fed.root / "logs" / "third_party.log"
    before = len(log.read_text().splitlines())
    # execute
    fed.start_node("third_party")
    code = _exit_code(fed, "third_party")
    # assert
    assert code == ExitCode.REFUSED_BY_COORDINATOR
    lines = log.read_text().splitlines()[before:]
    assert "ALREADY_EXISTS" not in "\n".join(lines)
    final = lines[-1]
    assert final.startswith("fedcredit-node: coordinator refused this node:")
    assert "registered to organization 'third-party', not 'elsewhere'" in final
    assert not any("retrying" in line for line in lines)


def _exit_code(fed: LocalFederation, name: str, timeout: float = 30.0) -> int:
    """Wait for a party to exit by itself; return its exit code."""
    deadline = time.monotonic() + timeout
    while name in fed.running() and time.monotonic() < deadline:
        time.sleep(0.2)
    return fed.stop_party(name)


def test_a_refusal_by_the_coordinator_reaches_the_job_error_with_its_reason(
    fed: LocalFederation,
) -> None:
    # prepare: restart the coordinator with a relay limit a check job cannot stay under
    fed.stop_party("coordinator")
    config = fed.root / "config" / "coordinator.yaml"
    raw = yaml.safe_load(config.read_text())
    raw["limits"] = {"envelopes_per_s": 0.01, "envelope_burst": 1}
    config.write_text(yaml.safe_dump(raw))
    fed.start_coordinator()
    fed.wait_online(["bank", "government"])
    spec = "type: check\nparties:\n  bank: {}\n  government: {}\n"
    # execute
    status = fed.wait_job(fed.submit(spec, job_id="limited"), timeout=120)
    # assert: the party's error carries the coordinator's reason, not a withheld class name
    assert status.state == "failed"
    assert "withheld" not in status.error
    assert "the coordinator refused an envelope (RESOURCE_EXHAUSTED)" in status.error
    assert "limits.envelopes_per_s" in status.error
