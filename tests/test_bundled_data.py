"""The shipped default_credit files decompress to FATE's bytes, as the data README states."""

from __future__ import annotations

import gzip
import hashlib
import re

from node.data import bundled


def _stated_checksums() -> dict[str, str]:
    text = (bundled.BUNDLED_DIR / "README.md").read_text()
    return {m.group(2): m.group(1) for m in re.finditer(r"^([0-9a-f]{64})  (\S+)$", text, re.M)}


def test_every_bundled_file_matches_its_stated_checksum() -> None:
    stated = _stated_checksums()
    assert sorted(stated) == sorted(bundled.FILES)
    for name in bundled.FILES:
        with gzip.open(bundled.compressed(name), "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == stated[name], name


def test_extract_writes_plain_csv_once(tmp_path) -> None:
    out = bundled.extract(tmp_path / "dc")
    guest = out / "default_credit_hetero_guest.csv"
    assert guest.read_text().splitlines()[0].startswith("id,y,x0")
    before = guest.stat().st_mtime_ns
    bundled.extract(tmp_path / "dc")
    assert guest.stat().st_mtime_ns == before
