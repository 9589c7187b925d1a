"""Each role's main path in Debian's Chromium, with the role's client certificate.

Playwright drives the system browser (``/usr/bin/chromium``, installed by
``scripts/services/chromium.sh``); no browser is downloaded. Playwright presents a client
certificate by making the TLS connection itself, in its driver (a Node.js process), so that
is where the federation CA is trusted (``NODE_EXTRA_CA_CERTS``): every console's server
certificate is verified against it, and a server from another CA is refused.
Screenshots are kept in ``$FEDCREDIT_SCREENSHOTS`` (default: the test's temporary
folder); the README's come from a run with ``FEDCREDIT_SCREENSHOTS=docs/console``. Each
page also passes basic accessibility checks: every form control has a label, the main links
and buttons are reachable with the keyboard, and text contrast is at least 4.5:1.
"""

from __future__ import annotations

import os
import shutil
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from coordinator.local import LocalFederation
from node.pki import create_ca, issue_certificate

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

# The checks run in the page; their scripts sit beside this file.
CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text()
UNLABELLED_JS = (Path(__file__).parent / "unlabelled.js").read_text()


def _screens() -> Path | None:
    where = os.environ.get("FEDCREDIT_SCREENSHOTS")
    return Path(where) if where else None


@pytest.fixture(scope="module")
def playwright(federation: LocalFederation) -> Iterator[object]:
    """Playwright whose driver trusts the federation CA, and only it besides the system's."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/services/chromium.sh install")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as env:
        env.setenv("NODE_EXTRA_CA_CERTS", str(federation.certs / "ca.crt"))
        with sync_playwright() as p:
            yield p


def _context(playwright: object, fed: LocalFederation, who: str, tmp: Path, origins: list[str]):
    """A fresh browser profile presenting ``who``'s certificate to the given consoles."""
    certificates = [
        {"origin": fed.console_url(o) if "://" not in o else o,
         "certPath": str(fed.certs / f"{who}.crt"), "keyPath": str(fed.certs / f"{who}.key")}
        for o in origins
    ]  # fmt: skip
    profile = tmp / f"profile-{who}"
    shutil.rmtree(profile, ignore_errors=True)
    return playwright.chromium.launch_persistent_context(  # type: ignore[attr-defined]
        str(profile),
        executable_path=str(CHROMIUM),
        args=ARGS,
        headless=True,
        client_certificates=certificates,
        ignore_https_errors=False,  # each console's certificate must chain to the federation CA
        accept_downloads=True,
        viewport={"width": 1280, "height": 900},
    )


def _accessible(page: object) -> None:
    assert page.evaluate(UNLABELLED_JS) == []  # type: ignore[attr-defined]
    ratio, where = page.evaluate(CONTRAST_JS)  # type: ignore[attr-defined]
    assert ratio >= 4.5, f"contrast {ratio:.2f} at {where}"


def _reach_by_keyboard(page: object, name: str, limit: int = 60) -> None:
    """Tab from the top until the element with accessible text ``name`` has the focus."""
    page.locator("body").focus()  # type: ignore[attr-defined]
    for _ in range(limit):
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        text = page.evaluate("() => document.activeElement.textContent.trim()")  # type: ignore[attr-defined]
        if text == name:
            return
    raise AssertionError(f"{name!r} is not reachable with the Tab key")


def _shot(page: object, tmp: Path, name: str) -> None:
    for folder in (tmp, _screens()):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_operator_follows_a_job_to_its_curves_and_submits_one(
    federation: LocalFederation, playwright: object, tmp_path: Path
) -> None:
    url = federation.console_url("coordinator")
    with _context(playwright, federation, "operator", tmp_path, ["coordinator"]) as ctx:
        page = ctx.new_page()
        page.goto(url + "/")
        assert page.locator("#nodes tbody tr").count() == 3
        assert page.get_by_text("online").count() >= 3
        _reach_by_keyboard(page, "Jobs")
        page.keyboard.press("Enter")
        page.get_by_role("link", name="vertical-1").click()
        assert page.locator("svg[role=img] title", has_text="ROC curve").count() == 1
        assert page.locator("#contribution tbody tr").count() == 3
        _accessible(page)
        _shot(page, tmp_path, "operator")
        # submission from a validated form: a bad file is refused with the reason
        page.goto(url + "/jobs/new")
        page.get_by_label("Job file (YAML)").fill("type: nosuchtype\nparties: {bank: {}}\n")
        page.get_by_role("button", name="Submit").click()
        assert page.locator("#errors").is_visible()
        page.get_by_label("Job file (YAML)").fill(
            "type: check\nparties: {government: {}, bank: {}, third_party: {}}\n"
        )
        page.get_by_label("Job id").fill("check-from-console")
        page.get_by_role("button", name="Submit").click()
        page.wait_for_url("**/jobs/check-from-console")
        _accessible(page)


def test_auditor_verifies_a_node_log_against_the_witness(
    federation: LocalFederation, playwright: object, tmp_path: Path
) -> None:
    with _context(playwright, federation, "auditor", tmp_path, ["coordinator", "bank"]) as ctx:
        page = ctx.new_page()
        page.goto(federation.console_url("coordinator") + "/witness")
        with page.expect_download() as download:
            page.get_by_role("link", name="bank.checkpoint").click()
        checkpoint = tmp_path / "bank.checkpoint"
        download.value.save_as(checkpoint)
        page.goto(federation.console_url("bank") + "/audit")
        page.get_by_label("Checkpoint file").set_input_files(str(checkpoint))
        page.get_by_role("button", name="Verify").click()
        assert page.locator("#verdict strong").inner_text() == "OK"
        page.get_by_label("Action").select_option("training_use")
        page.get_by_role("button", name="Search").click()
        assert page.locator("#hits tbody tr").count() >= 1
        _accessible(page)
        _shot(page, tmp_path, "auditor")
        page.locator("#hits tbody tr a").first.click()
        assert page.locator("#proof-ok").is_visible()
        # and traces a file by upload from the incidents page (the bank released nothing)
        leaked = tmp_path / "found.csv"
        leaked.write_text("industry_code,tax_growth_12m\nC13,0.12\nF51,-0.03\n")
        page.goto(federation.console_url("bank") + "/governance")
        page.get_by_role("link", name="Trace a leaked file").click()
        page.get_by_label("Leaked file").set_input_files(str(leaked))
        page.get_by_role("button", name="Trace").click()
        assert "No release matches" in page.locator("#no-match").inner_text()
        _accessible(page)


def test_data_holder_staff_see_what_left_and_preview_the_policy(
    federation: LocalFederation, playwright: object, tmp_path: Path
) -> None:
    url = federation.console_url("government")
    with _context(playwright, federation, "government-staff", tmp_path, ["government"]) as ctx:
        page = ctx.new_page()
        page.goto(url + "/left")
        assert page.locator("#recipients tbody tr").count() >= 1
        assert page.locator("#left tbody tr").first.locator("td").nth(10).inner_text() != ""
        _accessible(page)
        _shot(page, tmp_path, "data-holder")
        page.goto(url + "/policy")
        page.get_by_label("Recipient role").select_option("bank")
        page.get_by_role("button", name="Preview").click()
        assert page.locator("#preview tbody tr").count() >= 3
        _accessible(page)


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"a console of another federation")

    def log_message(self, *args: object) -> None:
        pass


def test_a_server_from_another_ca_is_refused(
    federation: LocalFederation, playwright: object, tmp_path: Path
) -> None:
    # prepare: an HTTPS server whose certificate another CA issued, with the same names
    create_ca(tmp_path / "other")
    issue_certificate(tmp_path / "other", "impostor", role="operator", organization="other")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(tmp_path / "other" / "impostor.crt", tmp_path / "other" / "impostor.key")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        with _context(playwright, federation, "operator", tmp_path, [origin]) as ctx:
            page = ctx.new_page()
            # execute
            page.goto(origin + "/")
            # assert: the connection was refused before any page of it was shown
            assert "another federation" not in page.content()
            assert "certificate" in page.content()
    finally:
        server.shutdown()
        server.server_close()


def test_loan_officer_reads_a_decision_with_its_reasons(
    federation: LocalFederation, playwright: object, tmp_path: Path
) -> None:
    url = federation.console_url("bank")
    with _context(playwright, federation, "bank-officer", tmp_path, ["bank"]) as ctx:
        page = ctx.new_page()
        page.goto(url + "/")
        _reach_by_keyboard(page, "Decisions")
        page.keyboard.press("Enter")
        page.wait_for_url("**/decisions")
        rows = page.locator("#decisions tbody tr")
        assert rows.count() == 3
        # an authorized firm: every holder answered, and the reasons are listed
        rows.filter(has_text="APP-0").get_by_role("link").click()
        assert page.locator("#outcome").inner_text() in ("approve", "refer", "decline")
        assert page.locator("#reasons tbody tr").count() >= 1
        assert page.locator("#reasons tbody tr").first.inner_text() != "none"
        statuses = page.locator("#holders tbody tr td:nth-child(2)").all_inner_texts()
        assert statuses == ["ok", "ok"]
        _accessible(page)
        _shot(page, tmp_path, "loan-officer")
        # a firm that gave no authorization: the holders' refusals are the decision's gaps
        page.get_by_role("link", name="All decisions").click()
        rows.filter(has_text="APP-2").get_by_role("link").click()
        assert "unauthorized" in page.locator("#gaps").inner_text()
        # the watch list says this node monitors no book (no monitoring section here)
        page.get_by_role("link", name="Watch list").click()
        assert page.locator("h1").inner_text() == "Watch list"
        _accessible(page)
        # a loan officer has no auditor pages
        assert page.get_by_role("link", name="Audit").count() == 0
