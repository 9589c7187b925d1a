"""Fixtures for the access-log tests: vectors, keys, entries and a log directory."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit.entry import AccessEntry, Action, Actor
from node.audit.store import DB_NAME
from node.audit.tokens import FirmTokenizer

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "merkle"


def load_vectors(name: str) -> dict[str, Any]:
    """Read one vector file from ``tests/vectors/merkle`` (see its README for sources)."""
    with (VECTORS / name).open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.fixture(scope="session")
def rfc6962_vectors() -> dict[str, Any]:
    """The Certificate Transparency reference tree and proofs."""
    return load_vectors("rfc6962.json")


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    """A fresh node key (Ed25519 keys are cheap, so every test gets its own)."""
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def tokenizer() -> FirmTokenizer:
    """A tokenizer with a fixed test key."""
    return FirmTokenizer(b"k" * 32)


def make_entry(i: int = 0, **overrides: Any) -> AccessEntry:
    """Return a plausible node RPC entry; ``i`` varies the job so entries differ."""
    fields: dict[str, Any] = {
        "actor": Actor("Bank A", "bank-a", "trainer"),
        "action": Action.READ,
        "purpose": "training",
        "result": "allowed",
        "job_id": f"job-{i % 7}",
        "dataset": "loans",
        "fields": ("amount", "term"),
        "rows": 100 + i,
        "policy_version": "p1",
        "details": {"rpc": "Release", "n": i},
    }
    fields.update(overrides)
    return AccessEntry(**fields)


def tamper_db(logdir: Path) -> sqlite3.Connection:
    """Open a log's database as an attacker would: append-only triggers dropped first."""
    db = sqlite3.connect(logdir / DB_NAME, isolation_level=None)
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
    for name in names:
        db.execute(f"DROP TRIGGER {name}")
    return db
