"""``fedcredit certs`` run in-process on real certificate folders."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from node.cli.certs import app
from node.cli.exit_codes import ExitCode
from node.pki import identity_from_certificate

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    cert_dir = tmp_path / "certs"
    _run("init", "--dir", str(cert_dir))
    return cert_dir


def test_init_issue_list_revoke(ca: Path) -> None:
    # execute
    out = _run(
        "issue",
        "bank-a",
        "--role",
        "bank",
        "--org",
        "Bank A",
        "--host",
        "bank-a.internal",
        "--dir",
        str(ca),
    )
    _run(
        "issue",
        "gov",
        "--role",
        "government",
        "--org",
        "Tax",
        "--node-id",
        "gov-1",
        "--dir",
        str(ca),
    )
    _run("revoke", "gov", "--dir", str(ca))
    listing = json.loads(_run("list", "--dir", str(ca), "--format", "json"))
    # assert
    assert "CN=bank-a OU=bank" in out
    assert [(r["name"], r["status"]) for r in listing] == [("bank-a", "valid"), ("gov", "revoked")]
    assert identity_from_certificate((ca / "gov.crt").read_bytes()).node_id == "gov-1"
    for key in ("ca.key", "bank-a.key", "bank-a.seal.key", "bank-a.sign.key"):
        assert stat.S_IMODE((ca / key).stat().st_mode) == 0o600, key


def test_list_text(ca: Path) -> None:
    _run("issue", "bank-a", "--role", "bank", "--org", "Bank A", "--dir", str(ca))
    assert "bank-a" in _run("list", "--dir", str(ca))


def test_init_twice_refused(ca: Path) -> None:
    out = _run("init", "--dir", str(ca), code=ExitCode.CERTIFICATE)
    assert "already exists" in out


def test_issue_unknown_role_refused(ca: Path) -> None:
    out = _run(
        "issue", "x", "--role", "root", "--org", "O", "--dir", str(ca), code=ExitCode.CERTIFICATE
    )
    assert "unknown role 'root'" in out
    assert not (ca / "x.crt").exists()


def test_issue_bad_name_refused(ca: Path) -> None:
    _run("issue", "../x", "--role", "bank", "--org", "O", "--dir", str(ca), code=ExitCode.USAGE)


def test_issue_twice_needs_overwrite(ca: Path) -> None:
    _run("issue", "b", "--role", "bank", "--org", "O", "--dir", str(ca))
    _run("issue", "b", "--role", "bank", "--org", "O", "--dir", str(ca), code=ExitCode.CERTIFICATE)
    _run("issue", "b", "--role", "bank", "--org", "O", "--dir", str(ca), "--overwrite")


def test_issue_without_ca(tmp_path: Path) -> None:
    out = _run(
        "issue",
        "b",
        "--role",
        "bank",
        "--org",
        "O",
        "--dir",
        str(tmp_path),
        code=ExitCode.CERTIFICATE,
    )
    assert "certs init" in out


def test_revoke_by_serial_and_path(ca: Path) -> None:
    # prepare
    _run("issue", "a", "--role", "bank", "--org", "O", "--dir", str(ca))
    _run("issue", "b", "--role", "bank", "--org", "O", "--dir", str(ca))
    serial = identity_from_certificate((ca / "a.crt").read_bytes()).serial
    # execute
    _run("revoke", f"0x{serial:x}", "--dir", str(ca))
    _run("revoke", str(ca / "b.crt"), "--dir", str(ca))
    # assert
    listing = json.loads(_run("list", "--dir", str(ca), "--format", "json"))
    assert {r["status"] for r in listing} == {"revoked"}


def test_revoke_unknown_target(ca: Path) -> None:
    out = _run("revoke", "no-such-party", "--dir", str(ca), code=ExitCode.USAGE)
    assert "neither a certificate file" in out


def test_verify_explains_refusal(ca: Path) -> None:
    # prepare
    _run("issue", "a", "--role", "bank", "--org", "O", "--dir", str(ca))
    ok = json.loads(_run("verify", str(ca / "a.crt"), "--dir", str(ca), "--format", "json"))
    assert ok["role"] == "bank"
    assert "ok: O=O CN=a OU=bank" in _run("verify", str(ca / "a.crt"), "--dir", str(ca))
    _run("revoke", "a", "--dir", str(ca))
    # execute
    out = _run("verify", str(ca / "a.crt"), "--dir", str(ca), code=ExitCode.CERTIFICATE)
    # assert
    assert "was revoked" in out


def test_verify_foreign_certificate(ca: Path, tmp_path: Path) -> None:
    _run("init", "--dir", str(tmp_path / "rogue"))
    _run("issue", "r", "--role", "bank", "--org", "O", "--dir", str(tmp_path / "rogue"))
    out = _run(
        "verify", str(tmp_path / "rogue" / "r.crt"), "--dir", str(ca), code=ExitCode.CERTIFICATE
    )
    assert "not issued by the federation CA" in out


def test_verify_unreadable_inputs(ca: Path, tmp_path: Path) -> None:
    _run("verify", str(tmp_path / "missing.crt"), "--dir", str(ca), code=ExitCode.USAGE)
    (tmp_path / "junk.crt").write_text("junk")
    _run("verify", str(tmp_path / "junk.crt"), "--dir", str(ca), code=ExitCode.USAGE)


def test_list_without_ca(tmp_path: Path) -> None:
    out = _run("list", "--dir", str(tmp_path), code=ExitCode.CERTIFICATE)
    assert "certs init" in out


def test_crl_renewal_keeps_revocations(ca: Path) -> None:
    # prepare
    _run("issue", "a", "--role", "bank", "--org", "O", "--dir", str(ca))
    _run("revoke", "a", "--dir", str(ca))
    before = (ca / "ca.crl").read_bytes()
    # execute
    out = _run("crl", "--dir", str(ca))
    # assert
    assert "1 revoked" in out
    assert (ca / "ca.crl").read_bytes() != before
    listing = json.loads(_run("list", "--dir", str(ca), "--format", "json"))
    assert [r["status"] for r in listing] == ["revoked"]


def test_crl_renewal_without_ca(tmp_path: Path) -> None:
    _run("crl", "--dir", str(tmp_path), code=ExitCode.CERTIFICATE)
