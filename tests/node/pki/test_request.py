"""Certificate signing requests: made with the party's own keys, checked before signing."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from node.pki import create_ca, load_identity_files
from node.pki.exceptions import BadIdentity, CertificateExists
from node.pki.request import InvalidRequest, create_request, read_request, sign_request


def test_round_trip_certifies_the_partys_own_keys(tmp_path: Path) -> None:
    # prepare
    create_ca(tmp_path / "ca")
    path = create_request(
        tmp_path / "party", "gov", role="government", organization="Gov", hostnames=["gov.example"]
    )

    # execute
    request = read_request(path.read_bytes())
    cert = sign_request(tmp_path / "ca", path.read_bytes(), out_dir=tmp_path / "party")
    for name in ("ca.crt", "ca.crl"):
        (tmp_path / "party" / name).write_bytes((tmp_path / "ca" / name).read_bytes())

    # assert
    assert (request.organization, request.role, request.node_id) == ("Gov", "government", "gov")
    assert request.hostnames == ("gov.example",)
    assert load_identity_files(tmp_path / "party", "gov").identity.node_id == "gov"
    sans = x509.load_pem_x509_certificate(cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert "gov.fedcredit.internal" in sans.value.get_values_for_type(x509.DNSName)


def test_altered_request_is_refused(tmp_path: Path) -> None:
    path = create_request(tmp_path, "gov", role="government", organization="Gov")
    pem = bytearray(path.read_bytes())
    body = pem.index(b"\n") + 40
    pem[body] = ord("A") if pem[body] != ord("A") else ord("B")
    with pytest.raises(InvalidRequest):
        read_request(bytes(pem))
    with pytest.raises(InvalidRequest, match="not a PEM"):
        read_request(b"junk")


def test_request_does_not_overwrite_existing_keys(tmp_path: Path) -> None:
    create_request(tmp_path, "gov", role="government", organization="Gov")
    with pytest.raises(CertificateExists):
        create_request(tmp_path, "gov", role="government", organization="Gov")
    with pytest.raises(BadIdentity):
        create_request(tmp_path, "x", role="king", organization="Gov")
