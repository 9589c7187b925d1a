"""The embedded default: a whole federation on one machine, for demos and tests."""

from coordinator.local.federation import LocalFederation, PartySpec

__all__ = ["LocalFederation", "PartySpec"]
