"""Batch-scoring answers leave as fingerprinted releases named by the service's firm tokens.

The marked values are pinned to what the mark produced before the release stopped rendering a
CSV only to hash it: the fingerprint a leaked answer file is traced by must not change when the
bookkeeping around it does.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from node.audit import AccessLog
from node.audit.sink import AuditSink
from node.governance.registry import ReleaseRegistry
from node.governance.releases import CANONICAL, GovernedReleases, canonical_bytes
from node.governance.store import GovernanceDB
from node.scoring.engine import Outcomes
from node.scoring.marking import mark_answers
from node.scoring.service import Decisions

from .conftest import BANK_A, GOVERNMENT

FIRMS = 600
# SHA-256 of the marked pd and points (float64 bytes) and of the fingerprint spec (sorted JSON)
# for release id UUID(int=7) under the secret 0x07 * 32
MARKED_VALUES = "79761beb74d0b58abd67240a385ca9bf037cd275628fd768a083b37f0b9b50a3"
MARK_SPEC = "9985817e333d9f6cb8fa8b5414a94bcf1752704c18567dc89cc0c3dd25ecdbc6"


def _decisions() -> Decisions:
    """A batch of decided applications as the decision service returns them (seeded)."""
    rng = np.random.default_rng(5)
    pd_values = rng.uniform(0.0, 0.4, FIRMS)
    zeros, one = np.zeros(FIRMS), np.zeros((FIRMS, 1))
    outcomes = Outcomes(
        np.zeros(FIRMS, np.int8), pd_values, np.round(600 - 80 * np.log(pd_values), 3),
        np.log(pd_values / (1 - pd_values)), zeros, np.zeros(FIRMS, np.int64),
        np.full((FIRMS, 1), -1, np.int16), one, ("tax_growth_12m",),
        np.zeros((FIRMS, 0), np.bool_), np.zeros((FIRMS, 1), np.uint8),
        np.full((FIRMS, 1), -1, np.int8), ("government",), ("v1",), "b1", (), (), 1e6,
    )  # fmt: skip
    tokens = [f"ft:{i:032x}" for i in range(FIRMS)]
    refs = [f"app-{i}" for i in range(FIRMS)]
    return Decisions(refs, "c0ffee", outcomes, "policy-v1", first=0, tokens=tokens)


@pytest.fixture
def pinned(
    governance_db: GovernanceDB, access_log: AccessLog, monkeypatch: pytest.MonkeyPatch
) -> GovernedReleases:
    """Releases under a fixed node secret and release id, so the mark is reproducible."""
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=7))
    sink = AuditSink(access_log, GOVERNMENT)
    return GovernedReleases(b"\x07" * 32, ReleaseRegistry(governance_db), sink.record)


def test_the_answer_mark_is_unchanged(pinned: GovernedReleases, certs: Path) -> None:
    decisions = _decisions()
    cert = (certs / "bank.crt").read_bytes()
    marked = mark_answers(pinned, decisions, BANK_A, cert, chunk=3)
    out = marked.outcomes
    digest = hashlib.sha256(out.pd.tobytes() + out.points.tobytes()).hexdigest()
    registered = pinned.registry.releases()
    assert len(registered) == 1
    spec = json.dumps(registered[0].record.fingerprint, sort_keys=True)
    # the values a leaked file is traced by, and how they were marked, as before
    assert digest == MARKED_VALUES
    assert hashlib.sha256(spec.encode()).hexdigest() == MARK_SPEC
    original = decisions.outcomes
    assert 0 < np.abs(out.pd - original.pd).max() <= 1e-4
    assert 0 < np.abs(out.points - original.points).max() <= 0.5
    np.testing.assert_array_equal(out.decision, original.decision)
    # the record hashes the marked columns' canonical bytes (no CSV is rendered for it)
    frame = pd.DataFrame({"pd": out.pd, "points": out.points})
    record = registered[0].record
    assert record.format == CANONICAL
    assert record.sha256 == hashlib.sha256(canonical_bytes(frame)).hexdigest()


def test_canonical_bytes_tell_tables_apart() -> None:
    base = pd.DataFrame({"pd": [0.1, 0.2], "firm": ["a", None]})
    variants = [
        base,
        base.rename(columns={"pd": "points"}),
        base.assign(pd=[0.1, 0.2000001]),
        base.assign(firm=["a", "None"]),
        base.assign(pd=np.array([0.1, 0.2], np.float32)),
        base.iloc[:1],
    ]
    assert len({canonical_bytes(v) for v in variants}) == len(variants)
    assert canonical_bytes(base) == canonical_bytes(base.copy())


def test_the_answer_names_its_firms_by_the_services_tokens(
    pinned: GovernedReleases, access_log: AccessLog, certs: Path
) -> None:
    decisions = _decisions()
    mark_answers(pinned, decisions, BANK_A, (certs / "bank.crt").read_bytes())
    (registered,) = pinned.registry.releases()
    assert registered.log_index is not None
    entry = access_log.entry(registered.log_index)
    assert entry.details["release_id"] == registered.record.release_id
    assert entry.subjects == tuple(sorted(decisions.tokens))


def test_an_answer_without_its_firms_tokens_is_not_released(
    pinned: GovernedReleases, certs: Path
) -> None:
    # as decisions read back from columns come: without tokens, the release would name no firm
    untokened = replace(_decisions(), tokens=())
    with pytest.raises(ValueError, match="0 firm tokens for 600 applications"):
        mark_answers(pinned, untokened, BANK_A, (certs / "bank.crt").read_bytes())
    assert pinned.registry.releases() == []
