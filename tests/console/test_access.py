"""The consoles over real HTTPS with real client certificates: who may see what, and the log."""

from __future__ import annotations

import re
import ssl

import httpx
import pandas as pd
import pytest

from coordinator.local import LocalFederation
from node.audit import LogReader
from node.audit.entry import Action
from node.audit.search import SearchQuery
from node.pki import issue_certificate, revoke
from tests.console.conftest import client

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("party", "who", "path", "status"),
    [
        ("coordinator", "operator", "/", 200),
        ("coordinator", "operator", "/jobs/vertical-1", 200),
        ("coordinator", "auditor", "/witness", 200),
        ("coordinator", "auditor", "/jobs/new", 403),  # auditors do not submit jobs
        ("coordinator", "government", "/witness", 403),
        ("bank", "auditor", "/audit", 200),
        ("bank", "operator", "/audit", 403),
        ("bank", "bank-officer", "/decisions", 200),
        ("bank", "auditor", "/decisions", 403),
        ("government", "government-staff", "/left", 200),
        ("government", "bank-staff", "/left", 403),  # another organization's staff
        ("government", "government-staff", "/policy", 200),
        ("coordinator", "government-staff", "/metrics", 403),
    ],
)
def test_pages_follow_the_role_and_organization_in_the_certificate(
    federation: LocalFederation, party: str, who: str, path: str, status: int
) -> None:
    with client(federation, who) as http:
        assert http.get(federation.console_url(party) + path).status_code == status


def test_every_view_and_refusal_is_in_the_access_log(federation: LocalFederation) -> None:
    # execute: one allowed and one refused view at the bank's console
    with client(federation, "auditor") as http:
        http.get(federation.console_url("bank") + "/audit")
        http.get(federation.console_url("bank") + "/decisions")
    # assert: a read and a denial, named console.<page>, by the auditor
    with LogReader.open(federation.root / "state" / "bank" / "audit") as reader:
        reads = reader.search(SearchQuery(actor="audit-office", action=Action.READ))
        denials = reader.search(SearchQuery(actor="audit-office", action=Action.DENIAL))
    assert any(e.details.get("rpc") == "audit" for _, e in reads)
    assert any(e.details.get("rpc") == "decisions" for _, e in denials)


def test_a_revoked_certificate_is_refused_at_once(federation: LocalFederation) -> None:
    # prepare: a second auditor, allowed, then revoked
    issue_certificate(federation.certs, "auditor-2", role="auditor", organization="audit-office")
    url = federation.console_url("bank") + "/audit"
    with client(federation, "auditor-2") as http:
        assert http.get(url).status_code == 200
    revoke(federation.certs, federation.certs / "auditor-2.crt")
    # execute / assert: refused, and a certificate event in the log
    with client(federation, "auditor-2") as http:
        answer = http.get(url)
    assert answer.status_code == 403
    assert "refused" in answer.text
    with LogReader.open(federation.root / "state" / "bank" / "audit") as reader:
        assert reader.search(SearchQuery(action=Action.CERTIFICATE))


def test_no_client_certificate_no_connection(federation: LocalFederation) -> None:
    context = ssl.create_default_context(cafile=str(federation.certs / "ca.crt"))
    with httpx.Client(verify=context) as http, pytest.raises(httpx.HTTPError):
        http.get(federation.console_url("coordinator") + "/")


def test_a_post_from_another_site_is_refused(federation: LocalFederation) -> None:
    with client(federation, "operator") as http:
        answer = http.post(
            federation.console_url("coordinator") + "/jobs/new",
            data={"spec": "type: check\nparties: {bank: {}}\n"},
            headers={"Origin": "https://elsewhere.example"},
        )
    assert answer.status_code == 403


def test_submitting_a_bad_job_file_names_the_problem(federation: LocalFederation) -> None:
    url = federation.console_url("coordinator")
    with client(federation, "operator") as http:
        answer = http.post(
            url + "/jobs/new",
            data={"spec": "type: nosuchtype\nparties: {bank: {}}\n", "job_id": ""},
            headers={"Origin": url},
        )
    assert answer.status_code == 200
    assert "The job was not submitted" in answer.text and "nosuchtype" in answer.text


def test_metrics_are_scraped_and_carry_no_identifier(federation: LocalFederation) -> None:
    # execute: scrape the coordinator and the bank after the jobs
    with client(federation, "operator") as http:
        coordinator = http.get(federation.console_url("coordinator") + "/metrics").text
        bank = http.get(federation.console_url("bank") + "/metrics").text
    # assert: RPC latency, relay bytes and the bank's epochs, in Prometheus format
    assert "# TYPE fedcredit_rpc_server_duration_seconds histogram" in coordinator
    assert re.search(r"^fedcredit_relay_bytes_total [1-9]", coordinator, re.M)
    assert re.search(r'^fedcredit_job_progress_total\{.*stage="epoch".*\} [1-9]', bank, re.M)
    # and no firm's credit code, nor a job id, in any label or value
    codes = pd.read_csv(federation.root / "data" / "bank.csv", dtype=str)["uscc"]
    for text in (coordinator, bank):
        assert not any(code in text for code in codes)
        assert "vertical-1" not in text
