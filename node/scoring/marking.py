"""Batch-scoring answers fingerprinted for the loan system that receives them.

A book of decisions is a file that leaves the node (``fedcredit decide batch`` and ``book``
write it), so it is released like any table: its ``pd`` and ``points`` columns carry the
recipient-specific mark of ``docs/governance.md`` within a tolerance that changes nothing a
reader of the file acts on, the release is written to the access log with the firms' tokens
and kept in the release registry, and ``fedcredit trace`` finds it in a leaked copy.

What is marked is the reply only: the decision records keep the unmarked values, so every
decision is still reproduced exactly from its record (``fedcredit decide replay``). The
decision itself (approve / refer / decline, band, limit) is never changed; a PD printed a
hundredth of a basis point away from the one the policy compared is the price of tracing.
A single ``Decide`` answers one application, not a file, and is not marked.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

import numpy as np
import pandas as pd

from node.governance.releases import GovernedReleases
from node.pki.identity import Principal
from node.scoring.service import Decisions

# How far a released value may move: far below what a credit officer reads (the CLI prints PD
# to six decimals and points to one) and far below any cut-off's meaning.
ANSWER_TOLERANCES: Final = {"pd": 1e-4, "points": 0.5}
DATASET: Final = "decisions"


def mark_answers(
    releases: GovernedReleases,
    decisions: Decisions,
    recipient: Principal,
    cert_pem: bytes,
    *,
    chunk: int | None = None,
) -> Decisions:
    """Release ``decisions`` to ``recipient`` as a fingerprinted, logged, registered table.

    The firms are logged by the tokens the decision service made for them
    (``Decisions.tokens``). Returns the decisions with marked ``pd`` and ``points``;
    everything else is unchanged.

    Raises
    ------
    ValueError
        ``decisions`` does not carry one token per application (read back from columns, say):
        a release naming no firms must not be registered.
    sqlite3.Error
        The release registry could not be written: the answer must not leave.
    """
    if len(decisions.tokens) != len(decisions):
        raise ValueError(
            f"decisions of call {decisions.call} carry {len(decisions.tokens)} firm tokens for "
            f"{len(decisions)} applications: mark the service's own Decisions, which name "
            "every firm, not a copy read back from columns"
        )
    outcomes = decisions.outcomes
    frame = pd.DataFrame({"pd": outcomes.pd, "points": outcomes.points})
    query: dict[str, object] = {
        "call": decisions.call,
        "first": decisions.first,
        "applications": len(decisions),
    }
    if chunk is not None:
        query["chunk"] = chunk
    release = releases.issue(
        frame,
        recipient,
        cert_pem,
        purpose="scoring",
        dataset=DATASET,
        query=query,
        policy_version=decisions.policy_version,
        tolerances=ANSWER_TOLERANCES,
        subjects=decisions.tokens,
    )
    marked = release.frame
    return replace(
        decisions,
        outcomes=replace(
            outcomes,
            pd=marked["pd"].to_numpy(dtype=np.float64),
            points=marked["points"].to_numpy(dtype=np.float64),
        ),
    )
