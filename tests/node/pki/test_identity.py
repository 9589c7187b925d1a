"""Reading organization, node id, role and envelope keys out of a certificate."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from node.pki import BadIdentity, identity_from_certificate, load_identity_files
from node.pki.identity import ENVELOPE_KEYS_OID, encode_envelope_keys

from .helpers import sign_with_ca, subject

_KEYS = x509.UnrecognizedExtension(ENVELOPE_KEYS_OID, encode_envelope_keys(b"s" * 32, b"g" * 32))


def test_identity_carries_the_envelope_keys_of_the_key_files(ca_dir: Path) -> None:
    # prepare
    creds = load_identity_files(ca_dir, "bank-a")
    # execute
    identity = identity_from_certificate((ca_dir / "bank-a.crt").read_bytes())
    # assert
    assert identity == creds.identity
    assert (identity.organization, identity.node_id, identity.role) == ("Bank A", "bank-a", "bank")
    assert len(identity.seal_public) == len(identity.sign_public) == 32
    assert identity.seal_public != identity.sign_public


def test_accepts_a_parsed_certificate(ca_dir: Path) -> None:
    cert = x509.load_pem_x509_certificate((ca_dir / "bank-a.crt").read_bytes())
    assert identity_from_certificate(cert).serial == cert.serial_number


def test_crafted_keys_extension_is_read_back(ca_dir: Path) -> None:
    pem = sign_with_ca(ca_dir, subject("Org", "auditor", "aud-1"), [_KEYS])
    identity = identity_from_certificate(pem)
    assert (identity.seal_public, identity.sign_public) == (b"s" * 32, b"g" * 32)


@pytest.mark.parametrize(
    ("org", "ou", "cn", "problem"),
    [
        (None, "bank", "b1", "organization"),
        ("Org", None, "b1", "role"),
        ("Org", "bank", None, "node id"),
        ("Org", "admin", "b1", "unknown role"),
    ],
)
def test_missing_or_unknown_subject_fields(
    ca_dir: Path, org: str | None, ou: str | None, cn: str | None, problem: str
) -> None:
    # prepare
    pem = sign_with_ca(ca_dir, subject(org, ou, cn), [_KEYS])
    # execute / assert
    with pytest.raises(BadIdentity, match=problem) as err:
        identity_from_certificate(pem)
    assert problem in err.value.problem


def test_missing_keys_extension(ca_dir: Path) -> None:
    pem = sign_with_ca(ca_dir, subject("Org", "bank", "b1"))
    with pytest.raises(BadIdentity, match="no envelope keys"):
        identity_from_certificate(pem)


def test_malformed_keys_extension(ca_dir: Path) -> None:
    bad = x509.UnrecognizedExtension(ENVELOPE_KEYS_OID, b"FCK1" + b"x" * 10)
    pem = sign_with_ca(ca_dir, subject("Org", "bank", "b1"), [bad])
    with pytest.raises(BadIdentity, match="malformed"):
        identity_from_certificate(pem)


def test_encode_envelope_keys_checks_lengths() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        encode_envelope_keys(b"short", b"g" * 32)
