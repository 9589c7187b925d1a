"""A refresh with a SecureBoost early-warning model, across real node processes over loopback
mTLS.

The model is trained as a real ``secureboost`` job on the tables each node writes from its own
panel (``fedcredit monitor table``) and deployed at every node; the bank's scheduler then
refreshes the book: each holder routes the borrowers down its own splits and answers one bit
per split and borrower, the bank walks the trees. The test checks the watch list it produces
against the deployed parts walked here, in one process, on every party's signals as of the
same month: the distributed refresh must give each borrower exactly the model's PD.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from coordinator.local.monitoring import PANELS, SECTIONS
from node.models import ModelRegistry, TreePart
from node.monitoring import trees
from node.monitoring.config import monitored_panel
from node.monitoring.signals import compute_signals
from node.runtime.secrets import node_secret
from node.scoring.lending import subject_tokenizer
from protos.fedcredit.v1 import node_pb2
from tests.node.monitoring.federation import (
    EW_BOOST_JOB,
    HOLDERS,
    MonitoringFederation,
    monitoring_federation,
    train_and_deploy,
)
from tests.node.monitoring.settings import monitoring_settings

# Shared 2-core machine (2026-11): setup (tables, four processes, the eight-tree job,
# deployment) 126 s under a load average of ~8 and 205-239 s under ~20, the test 2-4 s,
# stopping the processes 23-52 s; the project's 300 s per test leaves no room for that.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
PREFIX = {"government": "GOV", "third_party": "TP", "bank": "BANK"}


@pytest.fixture(scope="module")
def boosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MonitoringFederation,
                                                                          list[str]]]:  # fmt: skip
    root = tmp_path_factory.mktemp("monitoring-trees")
    fed, codes = monitoring_federation(root, sinks=[])
    try:
        train_and_deploy(fed, codes, EW_BOOST_JOB)
        yield fed, codes
    finally:
        fed.stop()


def _first_refresh(fed: MonitoringFederation, timeout: float = 240.0) -> dict[str, Any]:
    """The scheduler's first refresh (it runs once the bank's model is deployed)."""
    path = fed.root / "state" / "bank" / "monitoring" / "watch.sqlite"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                row = db.execute("SELECT body FROM refreshes ORDER BY started LIMIT 1").fetchone()
            if row:
                found: dict[str, Any] = json.loads(row[0])
                return found
        time.sleep(0.5)
    raise AssertionError(f"no refresh within {timeout}s")


def _deployed(fed: MonitoringFederation, node: str) -> TreePart:
    registry = ModelRegistry(fed.root / "state" / node)
    try:
        part = registry.part(registry.current("sme-ew"))
    finally:
        registry.close()
    assert isinstance(part, TreePart), type(part)
    return part


def _signals(fed: MonitoringFederation, node: str, codes: list[str], month: str) -> pd.DataFrame:
    """``node``'s signals of ``codes`` as of ``month``, from its live panel, as it computes
    them (its monitoring config's figures and ratios)."""
    config = monitoring_settings({"panel": PANELS[node], **SECTIONS[node]})
    frame = pd.read_csv(fed.root / "live" / f"{PANELS[node]}.csv", dtype={"uscc": str})
    cube, kinds = monitored_panel(frame, "uscc", {"uscc"}, config)
    index = {c: i for i, c in enumerate(cube.codes)}
    rows = np.array([index.get(c, -1) for c in codes], np.int64)
    return compute_signals(cube, rows, month, kinds)


def test_a_secureboost_refresh_lists_borrowers_with_the_models_pd(
    boosted: tuple[MonitoringFederation, list[str]],
) -> None:
    fed, codes = boosted
    first = _first_refresh(fed)
    assert first["trigger"] == "first refresh" and first["as_of"] == "2025-12"
    assert first["book"] == len(codes)
    # every holder answered for every borrower it holds: no gap, no feed issue
    assert first["gaps"] == dict.fromkeys(HOLDERS, 0), first["gaps"]
    assert first["feed"] == {h: [] for h in HOLDERS}, first["feed"]

    # the deployed parts, walked here on every party's signals of the same month
    n = len(codes)
    parts = {node: _deployed(fed, node) for node in PANELS}
    assert parts["bank"].ensemble is not None and len(parts["bank"].ensemble.trees) >= 1
    splits = {}
    for holder in HOLDERS:
        assert parts[holder].own.rules, f"{holder} owns no split: the test would prove little"
        frame = _signals(fed, holder, codes, first["as_of"])
        answer = trees.holder_answer(parts[holder], frame, np.arange(n), n, PREFIX[holder])
        splits[holder] = trees.HolderSplits.empty(n)
        splits[holder].add(answer, 0, np.ones(n, np.bool_))
    own = _signals(fed, "bank", codes, first["as_of"])
    expected = parts["bank"].head.probability(trees.walk(parts["bank"], own, splits, "BANK").margin)

    request = node_pb2.MonitorWatchlistRequest(min_level="green", limit=100_000)
    entries = fed.node("bank").MonitorWatchlist(request, timeout=60).entries
    tokenizer = subject_tokenizer(node_secret(fed.root / "state" / "bank"))
    by_token = {e.firm: e for e in entries}
    got = np.array([by_token[tokenizer.token(c)].pd for c in codes])
    assert np.allclose(got, expected, rtol=0.0, atol=5.01e-7)  # the list carries 6 decimals
    assert len(set(np.round(expected, 6))) > 10  # and the PDs differ: a real model

    # the list: yellow and above, within the policy's 10 % unless hard rules list more, and
    # each listed borrower says why with codes only (the holders' from their splits' figures)
    listed = [e for e in entries if e.level != "green"]
    assert listed, "nobody listed: the model and rules flagged no borrower"
    hard = {"BANK-DPD30", "GOV-COURT-ENFORCEMENT", "GOV-TAX-ARREARS", "TP-SALES-COLLAPSE"}
    soft = [e for e in listed if not hard & set(e.reasons)
            and not any(r.startswith("CLASS-") for r in e.reasons)]  # fmt: skip
    assert len(soft) <= int(0.10 * n)
    assert all(e.reasons for e in listed)
    model_listed = [e for e in listed if "EW-PD" in e.reasons]
    assert model_listed and min(e.pd for e in model_listed) >= 0.06
    holder_codes = {r for e in model_listed for r in e.reasons if r.startswith(("GOV-", "TP-"))}
    assert holder_codes, [list(e.reasons) for e in model_listed]
