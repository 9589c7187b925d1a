"""Builders for real local federations used by cross-process tests."""

from __future__ import annotations

from pathlib import Path

from coordinator.local import LocalFederation, PartySpec
from node.data.synthetic import generate_federation

ORGANIZATIONS = {"government": "gov-dc", "bank": "bank-a", "third_party": "third-party"}
CHECK_JOB = "type: check\nparties:\n  government: {}\n  bank: {}\n  third_party: {}\n"


def synthetic_federation(root: Path, n_firms: int = 600, seed: int = 7) -> LocalFederation:
    """A prepared (not started) federation of the three synthetic holders."""
    files = generate_federation(root / "data", n_firms=n_firms, seed=seed)
    parties = [
        PartySpec(name, name, org, {name: (files.tables[name], files.schemas[name], "uscc")})
        for name, org in ORGANIZATIONS.items()
    ]
    fed = LocalFederation(root)
    fed.prepare(parties)
    return fed
