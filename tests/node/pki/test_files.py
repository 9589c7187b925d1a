"""Loading a party's credentials from its certificate folder."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from node.pki import PkiError, issue_certificate, load_identity_files
from node.pki.files import private_pem, write_private


def test_load_identity_files(ca_dir: Path) -> None:
    # execute
    creds = load_identity_files(ca_dir, "bank-a")
    # assert
    assert creds.identity.node_id == "bank-a"
    assert creds.cert_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE KEY" in creds.key_pem
    assert creds.ca_pem == (ca_dir / "ca.crt").read_bytes()
    assert isinstance(creds.seal_key, X25519PrivateKey)
    assert isinstance(creds.sign_key, Ed25519PrivateKey)
    assert creds.crl_path == ca_dir / "ca.crl"


def test_missing_file_named(ca_dir: Path) -> None:
    (ca_dir / "bank-a.seal.key").unlink()
    with pytest.raises(PkiError, match=r"bank-a\.seal\.key is missing"):
        load_identity_files(ca_dir, "bank-a")


def test_swapped_envelope_key_refused(ca_dir: Path) -> None:
    write_private(ca_dir / "bank-a.seal.key", private_pem(X25519PrivateKey.generate()))
    with pytest.raises(PkiError, match="do not match the certificate"):
        load_identity_files(ca_dir, "bank-a")


def test_tls_key_of_another_party_refused(ca_dir: Path) -> None:
    # prepare
    issue_certificate(ca_dir, "bank-b", role="bank", organization="Bank B")
    shutil.copy(ca_dir / "bank-b.key", ca_dir / "bank-a.key")
    # execute / assert
    with pytest.raises(PkiError, match=r"bank-a\.key does not belong to bank-a\.crt"):
        load_identity_files(ca_dir, "bank-a")


def test_wrong_key_type_refused(ca_dir: Path) -> None:
    write_private(ca_dir / "bank-a.seal.key", private_pem(Ed25519PrivateKey.generate()))
    with pytest.raises(PkiError, match="must be X25519"):
        load_identity_files(ca_dir, "bank-a")


def test_garbage_key_file_refused(ca_dir: Path) -> None:
    write_private(ca_dir / "bank-a.sign.key", b"not a key")
    with pytest.raises(PkiError, match="not an unencrypted PEM"):
        load_identity_files(ca_dir, "bank-a")


def test_world_readable_key_warned_without_content(
    ca_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # prepare
    (ca_dir / "bank-a.sign.key").chmod(0o644)
    secret = (ca_dir / "bank-a.sign.key").read_bytes()
    # execute
    with caplog.at_level(logging.WARNING, logger="fedcredit.pki.files"):
        load_identity_files(ca_dir, "bank-a")
    # assert
    assert "readable by other users" in caplog.text
    assert secret.decode().splitlines()[1] not in caplog.text


def test_write_private_is_0600_and_atomic(tmp_path: Path) -> None:
    # prepare
    target = tmp_path / "k" / "x.key"
    # execute
    write_private(target, b"secret")
    write_private(target, b"secret2")
    # assert
    assert target.read_bytes() == b"secret2"
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["x.key"]
