"""Finding 12 (keys half): a party's private keys are made on its own machine, never at the CA.

The party runs ``fedcredit certs request`` in its own folder, the operator runs ``certs sign``
on the request alone at the live federation's CA, and the certificate with the party's own
keys then passes mutual TLS with the live coordinator. A request claiming another party's
envelope keys is refused.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from coordinator.local import LocalFederation
from node.pki import identity_from_certificate, load_identity_files
from node.pki.identity import ENVELOPE_KEYS_OID, encode_envelope_keys
from node.pki.request import KEY_PROOF_OID
from node.transport.client import open_channel
from protos.fedcredit.v1 import coordinator_pb2, coordinator_pb2_grpc

pytestmark = pytest.mark.slow


def certs(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli.certs", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_request_then_sign_keeps_keys_with_the_party(
    node_federation: LocalFederation, tmp_path: Path
) -> None:
    # prepare: the party's machine and the CA's folder are different folders
    party, ca = tmp_path / "party", node_federation.certs
    before = set(ca.iterdir())

    # execute: request on the party's side, only the .csr crosses to the CA
    made = certs("request", "bank-b", "--role", "bank", "--org", "bank-a", "--out", party)
    fingerprint = re.search(r"SHA-256 ([0-9a-f]{64})", made.stdout)
    shutil.copy(party / "bank-b.csr", tmp_path / "inbox.csr")
    signed = certs(
        "sign", tmp_path / "inbox.csr", "--dir", ca, "--fingerprint",
        fingerprint.group(1) if fingerprint else "", "--out", tmp_path / "outbox",
    )  # fmt: skip
    for name in ("ca.crt", "ca.crl"):
        shutil.copy(ca / name, party / name)
    shutil.copy(tmp_path / "outbox" / "bank-b.crt", party / "bank-b.crt")

    # assert: keys exist only with the party, 0600; the request holds no private key
    assert made.returncode == 0 and signed.returncode == 0, made.stderr + signed.stderr
    for suffix in (".key", ".seal.key", ".sign.key"):
        mode = stat.S_IMODE((party / f"bank-b{suffix}").stat().st_mode)
        assert mode == 0o600, (suffix, oct(mode))
    assert b"PRIVATE KEY" not in (party / "bank-b.csr").read_bytes()
    assert set(ca.iterdir()) == before and not list((tmp_path / "outbox").glob("*.key"))
    creds = load_identity_files(party, "bank-b")  # the CA certified the party's own keys
    assert (creds.identity.organization, creds.identity.role) == ("bank-a", "bank")
    # and the certificate works: mutual TLS with the live coordinator
    with open_channel(node_federation.address, party, "bank-b") as channel:
        nodes = coordinator_pb2_grpc.CoordinatorStub(channel).ListNodes(
            coordinator_pb2.ListNodesRequest(), timeout=10
        )
    assert {"government", "bank"} <= {n.node_id for n in nodes.nodes}


def _forged_request(victim_cert: bytes) -> bytes:
    """A request under the attacker's own TLS key claiming the victim's envelope keys."""
    victim = identity_from_certificate(victim_cert)
    key = ec.generate_private_key(ec.SECP256R1())
    claimed = encode_envelope_keys(victim.seal_public, victim.sign_public)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bank-a"),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "bank"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "mallory"),
                ]
            )
        )
        .add_extension(x509.UnrecognizedExtension(ENVELOPE_KEYS_OID, claimed), False)
        .add_extension(x509.UnrecognizedExtension(KEY_PROOF_OID, b"\x00" * 64), False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def test_request_claiming_another_partys_keys_is_refused(
    node_federation: LocalFederation, tmp_path: Path
) -> None:
    # prepare
    forged = tmp_path / "mallory.csr"
    forged.write_bytes(_forged_request((node_federation.certs / "government.crt").read_bytes()))
    genuine = certs("request", "honest", "--role", "bank", "--org", "bank-a", "--out", tmp_path)

    # execute
    refused = certs("sign", forged, "--dir", node_federation.certs, "--out", tmp_path / "out")
    mismatch = certs(
        "sign", tmp_path / "honest.csr", "--dir", node_federation.certs,
        "--fingerprint", "00" * 32, "--out", tmp_path / "out",
    )  # fmt: skip

    # assert
    assert genuine.returncode == 0
    assert refused.returncode == 10 and "does not prove possession" in refused.stderr
    assert mismatch.returncode == 10 and "fingerprint" in mismatch.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
