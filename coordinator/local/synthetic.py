"""The embedded default: the three synthetic SME holders as a local federation."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from coordinator.local.federation import POLICY_DIR, LocalFederation, PartySpec
from coordinator.local.monitoring import BankWatch, watching
from node.data.synthetic import generate_federation

# Organizations as the shipped default policies (policies/*.yaml) know them.
ORGANIZATIONS: Final = {"government": "gov-dc", "bank": "bank-a", "third_party": "third-party"}
# The bank decides loans under the example decision policy (docs/scoring.md).
SCORING: Final = {"bank": {"decision_policy": str(POLICY_DIR / "decision" / "sme-standard.yaml")}}


def synthetic_federation(
    root: Path, n_firms: int = 600, seed: int = 7, watch: BankWatch | None = None
) -> LocalFederation:
    """Generate the synthetic tables and prepare (not start) government, bank, third party;
    with ``watch``, each serving its live monthly panel and monitoring (``monitoring.py``)."""
    fed = LocalFederation(root)
    files = generate_federation(fed.root / "data", n_firms=n_firms, seed=seed)
    parties = [
        PartySpec(
            name,
            name,
            org,
            {name: (files.tables[name], files.schemas[name], "uscc")},
            scoring=SCORING.get(name),
        )
        for name, org in ORGANIZATIONS.items()
    ]
    fed.prepare(watching(parties, fed.root, watch) if watch else parties)
    return fed
