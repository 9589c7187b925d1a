"""Vertical gradient-boosted trees (SecureBoost, Cheng et al. 2019) with packed Paillier histograms.

The label holder (bank) holds the labels, the Paillier key and the leaf weights; feature holders
build encrypted histograms of its gradients over their own columns and keep their split rules.
See docs/protocols/secureboost.md.
"""

from node.training.secureboost.guest import run_guest
from node.training.secureboost.host import run_host
from node.training.secureboost.model import (
    Ensemble,
    PartyPart,
    SplitRule,
    load_guest_model,
    load_part,
    resolve_splits,
    save_guest_model,
    save_part,
)
from node.training.secureboost.results import GuestResult, HostResult
from node.training.secureboost.session import PartyLeft
from node.training.secureboost.simulate import run_in_memory
from node.training.secureboost.spec import SecureBoostSpec, spec_from_job

__all__ = [
    "Ensemble",
    "GuestResult",
    "HostResult",
    "PartyLeft",
    "PartyPart",
    "SecureBoostSpec",
    "SplitRule",
    "load_guest_model",
    "load_part",
    "resolve_splits",
    "run_guest",
    "run_host",
    "run_in_memory",
    "save_guest_model",
    "save_part",
    "spec_from_job",
]
