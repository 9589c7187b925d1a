"""Fixtures for the policy tests: real default policies, a real node key, synthetic tables."""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from node.data.synthetic import SyntheticConfig, SyntheticFederation, build_federation
from node.policy import DecisionLog, PolicyEngine

REPO_ROOT = Path(__file__).resolve().parents[3]
POLICIES = REPO_ROOT / "policies"


@dataclass(frozen=True)
class Caller:
    """Stands in for ``node.pki.identity.Identity`` (same three attributes)."""

    organization: str
    node_id: str
    role: str


BANK = Caller("bank-a", "bank-a-node-1", "bank")
GOV = Caller("gov-dc", "gov-dc-node-1", "government")
THIRD = Caller("third-party", "tp-node-1", "third_party")
AUDITOR = Caller("audit-office", "audit-1", "auditor")
COORDINATOR = Caller("coordinator", "coord-1", "coordinator")


@pytest.fixture
def node_key() -> bytes:
    """A fresh real node key."""
    return os.urandom(32)


@pytest.fixture
def decisions() -> DecisionLog:
    """Collects every decision the engine records."""
    return DecisionLog()


@pytest.fixture
def engine(node_key: bytes, decisions: DecisionLog) -> PolicyEngine:
    """The shipped default policies, all three files."""
    return PolicyEngine.load(POLICIES, node_key, on_decision=decisions)


@pytest.fixture(scope="session")
def federation() -> SyntheticFederation:
    """A small synthetic federation (the tables the default policies are written for)."""
    return build_federation(SyntheticConfig(n_firms=400, seed=3))


@pytest.fixture
def gov_frame(federation: SyntheticFederation) -> pd.DataFrame:
    """The government table (a copy, so tests may edit it)."""
    return federation.government.copy()


def write_policy(folder: Path, text: str, name: str = "policy.yaml") -> Path:
    """Write a dedented policy file and return its path."""
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


MINIMAL = """
fedcredit_policy: 1
roles:
  bank: [training, scoring, release]
  government: [training]
  auditor: [audit]
organizations:
  bank-a: bank
  bank-b: bank
  gov-dc: government
datasets:
  firms:
    id_field: uscc
    fields:
      uscc: {class: C3, kind: string}
      phone: {class: C3, kind: string}
      revenue: {class: C2, kind: numeric}
      founded: {class: C2, kind: date}
      sector: public
    rules:
      - fields: [uscc]
        to: {roles: [bank]}
        purposes: [training, release]
        transform: token
      - fields: [revenue]
        to: {roles: [bank]}
        purposes: [training]
        transform: keep
      - fields: [revenue]
        to: {organizations: [bank-b]}
        purposes: [training]
        transform: {type: bucket, width: 1000}
      - classes: [C2]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: clip, upper: 500}
      - fields: [founded]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: date_shift, max_days: 30}
      - classes: [public]
        to: {roles: [bank]}
        purposes: [release]
        transform: keep
"""
