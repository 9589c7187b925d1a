"""Signed checkpoints: format, signature, strict parsing, key loading."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit.checkpoint import Checkpoint, SignedCheckpoint, load_public_key, sign_checkpoint
from node.audit.exceptions import CheckpointSignatureError, InvalidCheckpoint

T = "2026-11-29T07:00:00.000001Z"
ROOT = hashlib.sha256(b"root").digest()


def test_sign_serialize_parse_verify(signing_key: Ed25519PrivateKey) -> None:
    # prepare
    cp = Checkpoint("bank-a", 42, ROOT, T)

    # execute
    signed = sign_checkpoint(cp, signing_key)
    data = signed.to_bytes()
    back = SignedCheckpoint.from_bytes(data)

    # assert
    assert back == signed
    assert back.verify(signing_key.public_key()) == cp
    assert data.startswith(b"fedcredit-audit-checkpoint/v1\nbank-a\n42\n")


def test_other_key_or_altered_body_fails(signing_key: Ed25519PrivateKey) -> None:
    # prepare
    signed = sign_checkpoint(Checkpoint("bank-a", 42, ROOT, T), signing_key)
    altered = SignedCheckpoint.from_bytes(signed.to_bytes().replace(b"\n42\n", b"\n43\n"))

    # execute / assert
    with pytest.raises(CheckpointSignatureError):
        signed.verify(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(CheckpointSignatureError):
        altered.verify(signing_key.public_key())


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.replace(b"checkpoint/v1", b"checkpoint/v2"),
        lambda b: b.replace(b"\n42\n", b"\n042\n"),
        lambda b: b.replace(b"\n42\n", b"\n-4\n"),
        lambda b: b + b"\n",
        lambda b: b.replace(b"sig ed25519", b"sig rsa"),
        lambda b: b"\xff" + b,
        lambda b: b.split(b"\n\n")[0],
    ],
)
def test_malformed_checkpoints_are_refused(signing_key: Ed25519PrivateKey, mutate) -> None:  # type: ignore[no-untyped-def]
    # prepare
    data = sign_checkpoint(Checkpoint("bank-a", 42, ROOT, T), signing_key).to_bytes()

    # execute / assert
    with pytest.raises(InvalidCheckpoint):
        SignedCheckpoint.from_bytes(mutate(data))


@pytest.mark.parametrize(
    "args",
    [("bad origin\n", 1, ROOT, T), ("o", -1, ROOT, T), ("o", 1, b"x", T), ("o", 1, ROOT, "now")],
)
def test_invalid_checkpoint_fields(args: tuple[str, int, bytes, str]) -> None:
    with pytest.raises(InvalidCheckpoint):
        Checkpoint(*args)


def test_load_public_key_forms(signing_key: Ed25519PrivateKey) -> None:
    # prepare
    pub = signing_key.public_key()
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "bank-a")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pub)
        .serial_number(1)
        .not_valid_before(datetime.datetime(2026, 1, 1))
        .not_valid_after(datetime.datetime(2027, 1, 1))
        .sign(signing_key, None)
    )

    # execute / assert
    for form in (raw, raw.hex().encode(), pem, cert.public_bytes(serialization.Encoding.PEM)):
        assert load_public_key(form) == pub


def test_load_public_key_refuses_other_algorithms() -> None:
    # prepare
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    # execute / assert
    with pytest.raises(ValueError):
        load_public_key(ec_pem)
    with pytest.raises(ValueError):
        load_public_key(b"hello")
