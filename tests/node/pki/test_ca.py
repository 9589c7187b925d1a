"""Creating the CA, issuing party certificates and revoking them, on real files."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from node.pki import (
    BadIdentity,
    CertificateExists,
    PkiError,
    create_ca,
    identity_from_certificate,
    issue_certificate,
    load_crl,
    renew_crl,
    revoke,
)

from .helpers import ca_cert


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ca_is_a_ca_and_its_key_is_private(tmp_path: Path) -> None:
    # execute
    create_ca(tmp_path / "certs")
    # assert
    ca = ca_cert(tmp_path / "certs")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert _mode(tmp_path / "certs" / "ca.key") == 0o600
    assert _mode(tmp_path / "certs") == 0o700
    crl = load_crl(tmp_path / "certs")
    assert crl is not None and len(crl) == 0


def test_second_ca_in_same_folder_refused(tmp_path: Path) -> None:
    # prepare
    create_ca(tmp_path)
    before = (tmp_path / "ca.key").read_bytes()
    # execute / assert
    with pytest.raises(PkiError, match="already exists"):
        create_ca(tmp_path)
    assert (tmp_path / "ca.key").read_bytes() == before


def test_issue_writes_four_files_with_private_keys_0600(ca_dir: Path) -> None:
    # execute
    path = issue_certificate(
        ca_dir, "gov-1", role="government", organization="Tax Bureau", node_id="gov-tax-1"
    )
    # assert
    assert path == ca_dir / "gov-1.crt"
    for suffix in ("key", "seal.key", "sign.key"):
        assert _mode(ca_dir / f"gov-1.{suffix}") == 0o600, suffix
    assert not list(ca_dir.glob(".tmp-*"))
    identity = identity_from_certificate(path.read_bytes())
    assert (identity.organization, identity.node_id, identity.role) == (
        "Tax Bureau",
        "gov-tax-1",
        "government",
    )


def test_subject_and_san_cover_loopback_and_given_hosts(ca_dir: Path) -> None:
    # execute
    path = issue_certificate(
        ca_dir,
        "coordinator",
        role="coordinator",
        organization="Federation Operator",
        hostnames=["coord.example", "10.1.2.3"],
    )
    # assert
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == (
        "coordinator"
    )
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {
        "localhost",
        "coord.example",
        "coordinator.fedcredit.internal",  # the name clients pin (peer_dns_name)
    }
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("10.1.2.3"),
    }
    cert.verify_directly_issued_by(ca_cert(ca_dir))


def test_issue_into_another_folder(ca_dir: Path, tmp_path: Path) -> None:
    # execute
    issue_certificate(
        ca_dir, "tp-1", role="third_party", organization="Power Co", out_dir=tmp_path / "out"
    )
    # assert
    assert (tmp_path / "out" / "tp-1.crt").exists()
    assert not (ca_dir / "tp-1.crt").exists()


def test_unknown_role_refused(ca_dir: Path) -> None:
    with pytest.raises(BadIdentity, match="unknown role 'admin'") as err:
        issue_certificate(ca_dir, "x", role="admin", organization="Org")
    assert err.value.subject == "x"
    assert not (ca_dir / "x.crt").exists()


def test_empty_organization_refused(ca_dir: Path) -> None:
    with pytest.raises(BadIdentity, match="non-empty organization"):
        issue_certificate(ca_dir, "x", role="bank", organization="  ")


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", ""])
def test_name_that_is_not_a_plain_file_name_refused(ca_dir: Path, name: str) -> None:
    with pytest.raises(ValueError, match="must be letters"):
        issue_certificate(ca_dir, name, role="bank", organization="Bank")


def test_non_positive_days_refused(ca_dir: Path) -> None:
    with pytest.raises(ValueError, match="days must be positive"):
        issue_certificate(ca_dir, "x", role="bank", organization="Bank", days=0)


def test_reissue_needs_overwrite(ca_dir: Path) -> None:
    # prepare
    old = (ca_dir / "bank-a.crt").read_bytes()
    # execute / assert
    with pytest.raises(CertificateExists) as err:
        issue_certificate(ca_dir, "bank-a", role="bank", organization="Bank A")
    assert err.value.path.endswith("bank-a.crt")
    assert (ca_dir / "bank-a.crt").read_bytes() == old
    issue_certificate(ca_dir, "bank-a", role="bank", organization="Bank A", overwrite=True)
    assert (ca_dir / "bank-a.crt").read_bytes() != old


def test_issue_without_ca_refused(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="certs init"):
        issue_certificate(tmp_path, "x", role="bank", organization="Bank")


def test_backdated_validity(ca_dir: Path) -> None:
    # prepare
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    # execute
    path = issue_certificate(
        ca_dir, "old", role="bank", organization="Bank", not_before=start, days=10
    )
    # assert
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    assert cert.not_valid_before_utc == start
    assert cert.not_valid_after_utc == start + dt.timedelta(days=10)


def test_revoke_by_file_and_serial_is_idempotent(ca_dir: Path) -> None:
    # prepare
    serial = identity_from_certificate((ca_dir / "bank-a.crt").read_bytes()).serial
    # execute
    first = revoke(ca_dir, ca_dir / "bank-a.crt")
    second = revoke(ca_dir, serial)
    # assert
    assert first == second == serial
    crl = load_crl(ca_dir)
    assert crl is not None and [r.serial_number for r in crl] == [serial]
    assert crl.is_signature_valid(ca_cert(ca_dir).public_key())  # type: ignore[arg-type]


def test_revoke_without_ca_refused(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="no CA"):
        revoke(tmp_path, 1234)


def test_renew_crl_moves_next_update_and_keeps_entries(ca_dir: Path) -> None:
    # prepare
    serial = revoke(ca_dir, ca_dir / "bank-a.crt")
    old = load_crl(ca_dir)
    assert old is not None
    # execute
    count = renew_crl(ca_dir)
    # assert
    new = load_crl(ca_dir)
    assert new is not None and count == 1
    assert [r.serial_number for r in new] == [serial]
    assert new.next_update_utc is not None and old.next_update_utc is not None
    assert new.next_update_utc >= old.next_update_utc
    assert new.is_signature_valid(ca_cert(ca_dir).public_key())  # type: ignore[arg-type]


def test_renew_crl_without_ca(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="no CA"):
        renew_crl(tmp_path)
