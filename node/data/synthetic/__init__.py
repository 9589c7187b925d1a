"""Seeded synthetic SME federation: government, bank and third-party tables of the same firms."""

from node.data.synthetic.config import SyntheticConfig
from node.data.synthetic.federation import SyntheticFederation, build_federation
from node.data.synthetic.writer import FederationFiles, generate_federation

__all__ = [
    "FederationFiles",
    "SyntheticConfig",
    "SyntheticFederation",
    "build_federation",
    "generate_federation",
]
