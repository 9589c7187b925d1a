"""Alerts a refresh raises: level changes of borrowers, data-quality and drift problems.

An alert is what the bank's systems receive (webhook, file) and what the access log names:
tokens, levels, coded reasons, months and PSI figures, never a partner's value. Level names
are ``node.monitoring.policy.LEVELS``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from node.monitoring.feed import FeedIssue
from node.monitoring.policy import LEVELS
from node.monitoring.store import new_id


def level_alerts(
    refresh_id: str,
    as_of: str,
    firms: Sequence[str],
    refs: Sequence[str],
    before: NDArray[np.int8],
    after: NDArray[np.int8],
    reasons: Sequence[Sequence[str]],
) -> list[dict[str, Any]]:
    """One alert per borrower whose level changed (a new borrower counts from green)."""
    start = np.where(before < 0, 0, before)
    out = []
    for i in np.flatnonzero(after != start).tolist():
        out.append(
            {
                "alert_id": new_id("alert"),
                "refresh_id": refresh_id,
                "kind": "level_change",
                "subject": firms[i],
                "firm": firms[i],
                "ref": refs[i],
                "as_of": as_of,
                "from_level": LEVELS[start[i]],
                "to_level": LEVELS[after[i]],
                "reasons": list(reasons[i]),
            }
        )
    return out


def feed_alerts(refresh_id: str, as_of: str, issues: Sequence[FeedIssue]) -> list[dict[str, Any]]:
    """One data-quality alert per feed issue."""
    return [
        {
            "alert_id": new_id("alert"),
            "refresh_id": refresh_id,
            "kind": "data_quality",
            "subject": issue.holder,
            "holder": issue.holder,
            "as_of": as_of,
            "code": issue.code,
            "detail": issue.detail,
        }
        for issue in issues
    ]


def drift_alerts(
    refresh_id: str,
    as_of: str,
    psi: Mapping[str, float],
    threshold: float,
    drifting: Collection[str],
) -> tuple[list[dict[str, Any]], set[str]]:
    """Alerts for the scores and inputs whose PSI reached ``threshold`` at this refresh and
    were not ``drifting`` already, and the names drifting after it.

    A drift is raised once, when it starts, like a level change, not again at every refresh
    it lasts (the refresh records keep every figure); a name measured below the threshold
    stops drifting, and one not measured this time (its holder's feed is out) keeps its state.
    """
    alerts = [
        {
            "alert_id": new_id("alert"),
            "refresh_id": refresh_id,
            "kind": "drift",
            "subject": name,
            "as_of": as_of,
            "code": "DRIFT",
            "psi": round(value, 4),
        }
        for name, value in sorted(psi.items())
        if value >= threshold and name not in drifting
    ]
    now = {name for name, value in psi.items() if value >= threshold}
    return alerts, (set(drifting) - set(psi)) | now
