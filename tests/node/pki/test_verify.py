"""Peer verification: each way a certificate can be wrong raises its own named error."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from cryptography import x509

from node.pki import (
    BadIdentity,
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRevoked,
    InvalidRevocationList,
    PeerVerifier,
    PkiError,
    UnknownIssuer,
    create_ca,
    issue_certificate,
    load_crl,
    revoke,
    verify_peer,
)
from node.pki.identity import ENVELOPE_KEYS_OID, encode_envelope_keys

from .helpers import ca_cert, sign_with_ca, subject

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)  # X.509 times have whole seconds


def test_valid_peer_gives_its_identity(ca_dir: Path) -> None:
    # execute
    identity = verify_peer((ca_dir / "bank-a.crt").read_bytes(), ca_cert(ca_dir), load_crl(ca_dir))
    # assert
    assert (identity.organization, identity.node_id, identity.role) == ("Bank A", "bank-a", "bank")


def test_certificate_of_a_foreign_ca(ca_dir: Path, tmp_path: Path) -> None:
    # prepare: another CA with the same name issues a lookalike
    create_ca(tmp_path / "rogue")
    issue_certificate(tmp_path / "rogue", "bank-a", role="bank", organization="Bank A")
    pem = (tmp_path / "rogue" / "bank-a.crt").read_bytes()
    # execute / assert
    with pytest.raises(UnknownIssuer, match="not issued by the federation CA") as err:
        verify_peer(pem, ca_cert(ca_dir), load_crl(ca_dir))
    assert "CN=bank-a" in err.value.subject


def test_ca_certificate_itself_is_not_a_peer(ca_dir: Path, tmp_path: Path) -> None:
    # the CA is self-signed by the same key, but names no role
    with pytest.raises(BadIdentity):
        verify_peer((ca_dir / "ca.crt").read_bytes(), ca_cert(ca_dir))


def test_expired_certificate(ca_dir: Path) -> None:
    # prepare
    start = NOW - dt.timedelta(days=30)
    issue_certificate(ca_dir, "old", role="bank", organization="Bank", not_before=start, days=10)
    # execute / assert
    with pytest.raises(CertificateExpired, match="expired on") as err:
        verify_peer((ca_dir / "old.crt").read_bytes(), ca_cert(ca_dir), load_crl(ca_dir))
    assert err.value.not_after == start + dt.timedelta(days=10)


def test_not_yet_valid_certificate(ca_dir: Path) -> None:
    # prepare
    start = NOW + dt.timedelta(days=2)
    issue_certificate(ca_dir, "new", role="bank", organization="Bank", not_before=start, days=10)
    # execute / assert
    with pytest.raises(CertificateNotYetValid, match="check the system clocks") as err:
        verify_peer((ca_dir / "new.crt").read_bytes(), ca_cert(ca_dir), load_crl(ca_dir))
    assert err.value.not_before == start


def test_validity_is_checked_at_the_given_time(ca_dir: Path) -> None:
    pem = (ca_dir / "bank-a.crt").read_bytes()
    with pytest.raises(CertificateExpired):
        verify_peer(pem, ca_cert(ca_dir), now=NOW + dt.timedelta(days=400))


def test_revoked_certificate(ca_dir: Path) -> None:
    # prepare
    serial = revoke(ca_dir, ca_dir / "bank-a.crt")
    # execute / assert
    with pytest.raises(CertificateRevoked, match="was revoked on") as err:
        verify_peer((ca_dir / "bank-a.crt").read_bytes(), ca_cert(ca_dir), load_crl(ca_dir))
    assert err.value.serial == serial
    assert abs(err.value.revoked_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_missing_role(ca_dir: Path) -> None:
    # prepare
    keys = x509.UnrecognizedExtension(ENVELOPE_KEYS_OID, encode_envelope_keys(b"s" * 32, b"g" * 32))
    pem = sign_with_ca(ca_dir, subject("Bank A", None, "bank-x"), [keys])
    # execute / assert
    with pytest.raises(BadIdentity, match=r"role \(OU\)"):
        verify_peer(pem, ca_cert(ca_dir), load_crl(ca_dir))


def test_crl_of_another_ca_refused(ca_dir: Path, tmp_path: Path) -> None:
    # prepare
    create_ca(tmp_path / "rogue")
    rogue_crl = load_crl(tmp_path / "rogue")
    # execute / assert
    with pytest.raises(InvalidRevocationList):
        verify_peer((ca_dir / "bank-a.crt").read_bytes(), ca_cert(ca_dir), rogue_crl)


def test_error_messages_name_no_key_material(ca_dir: Path) -> None:
    # prepare
    revoke(ca_dir, ca_dir / "bank-a.crt")
    key_text = (ca_dir / "bank-a.key").read_text()
    # execute
    with pytest.raises(CertificateRevoked) as err:
        verify_peer((ca_dir / "bank-a.crt").read_bytes(), ca_cert(ca_dir), load_crl(ca_dir))
    # assert
    for line in key_text.splitlines()[1:-1]:
        assert line not in str(err.value)


class TestPeerVerifier:
    def test_revocation_takes_effect_without_restart(self, ca_dir: Path) -> None:
        # prepare
        verify = PeerVerifier(ca_dir)
        pem = (ca_dir / "bank-a.crt").read_bytes()
        assert verify(pem).node_id == "bank-a"
        # execute
        revoke(ca_dir, ca_dir / "bank-a.crt")
        # assert
        with pytest.raises(CertificateRevoked):
            verify(pem)

    def test_a_checked_certificate_still_expires(self, ca_dir: Path) -> None:
        # the CA signature is checked once per certificate; validity on every call
        verify = PeerVerifier(ca_dir)
        pem = (ca_dir / "bank-a.crt").read_bytes()
        assert verify(pem).node_id == "bank-a"
        with pytest.raises(CertificateExpired):
            verify(pem, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=3650))

    def test_deleting_the_crl_does_not_unrevoke(self, ca_dir: Path) -> None:
        # prepare
        revoke(ca_dir, ca_dir / "bank-a.crt")
        verify = PeerVerifier(ca_dir)
        pem = (ca_dir / "bank-a.crt").read_bytes()
        with pytest.raises(CertificateRevoked):
            verify(pem)
        # execute
        os.remove(ca_dir / "ca.crl")
        # assert
        with pytest.raises(CertificateRevoked):
            verify(pem)

    def test_replaced_crl_from_another_ca_refused(self, ca_dir: Path, tmp_path: Path) -> None:
        # prepare
        create_ca(tmp_path / "rogue")
        verify = PeerVerifier(ca_dir)
        os.replace(tmp_path / "rogue" / "ca.crl", ca_dir / "ca.crl")
        # execute / assert
        with pytest.raises(InvalidRevocationList):
            verify((ca_dir / "bank-a.crt").read_bytes())

    def test_garbage_crl_refused(self, ca_dir: Path) -> None:
        verify = PeerVerifier(ca_dir)
        (ca_dir / "ca.crl").write_bytes(b"garbage")
        with pytest.raises(InvalidRevocationList):
            verify((ca_dir / "bank-a.crt").read_bytes())

    def test_folder_without_ca(self, tmp_path: Path) -> None:
        with pytest.raises(PkiError, match="copy the federation CA certificate"):
            PeerVerifier(tmp_path)


def test_ca_given_as_pem(ca_dir: Path) -> None:
    identity = verify_peer((ca_dir / "bank-a.crt").read_bytes(), (ca_dir / "ca.crt").read_bytes())
    assert identity.node_id == "bank-a"


def test_naive_time_refused(ca_dir: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_peer(
            (ca_dir / "bank-a.crt").read_bytes(), ca_cert(ca_dir), now=dt.datetime(2026, 1, 1)
        )
