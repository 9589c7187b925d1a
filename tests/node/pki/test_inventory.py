"""Listing a certificate folder with each certificate's standing."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from node.pki import create_ca, issue_certificate, list_certificates, load_crl, revoke
from node.pki.inventory import EXPIRED, FOREIGN, REVOKED, VALID

from .helpers import ca_cert


def test_each_standing_is_reported(ca_dir: Path, tmp_path: Path) -> None:
    # prepare
    issue_certificate(ca_dir, "gov", role="government", organization="Tax")
    issue_certificate(
        ca_dir,
        "old",
        role="bank",
        organization="Bank",
        not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        days=1,
    )
    revoke(ca_dir, ca_dir / "gov.crt")
    create_ca(tmp_path / "rogue")
    issue_certificate(tmp_path / "rogue", "rogue", role="bank", organization="Rogue")
    shutil.copy(tmp_path / "rogue" / "rogue.crt", ca_dir / "rogue.crt")
    # execute
    rows = list_certificates(ca_dir, ca_cert(ca_dir), load_crl(ca_dir))
    # assert
    assert [(r.name, r.status) for r in rows] == [
        ("bank-a", VALID),
        ("gov", REVOKED),
        ("old", EXPIRED),
        ("rogue", FOREIGN),
    ]
    assert "O=Tax" in rows[1].subject
