"""Conversions between monitoring domain values and the Node service's messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from node.monitoring.policy import CATEGORIES, LEVELS
from node.monitoring.service import RefreshResult
from protos.fedcredit.v1 import node_pb2


def refresh_to_proto(result: RefreshResult) -> node_pb2.MonitorRefreshResponse:
    return node_pb2.MonitorRefreshResponse(
        refresh_id=result.refresh_id,
        as_of=result.as_of,
        result_json=json.dumps(result.to_dict(), sort_keys=True),
    )


def entry_to_proto(row: Mapping[str, Any]) -> node_pb2.WatchlistEntry:
    return node_pb2.WatchlistEntry(
        firm=row["firm"],
        ref=row["ref"],
        level=LEVELS[int(row["level"])],
        reasons=[str(r) for r in row["reasons"]],
        pd=float(row["pd"] or 0.0),
        category=CATEGORIES[int(row["category"])],
        since=row["since"],
        as_of=row["as_of"],
    )


def entry_from_proto(entry: node_pb2.WatchlistEntry) -> dict[str, Any]:
    return {
        "firm": entry.firm,
        "ref": entry.ref,
        "level": LEVELS.index(entry.level),
        "reasons": list(entry.reasons),
        "pd": entry.pd,
        "category": CATEGORIES.index(entry.category),
        "since": entry.since,
        "as_of": entry.as_of,
    }


def alert_to_proto(alert: Mapping[str, Any]) -> node_pb2.MonitorAlert:
    return node_pb2.MonitorAlert(
        alert_id=str(alert["alert_id"]),
        kind=str(alert["kind"]),
        state=str(alert["state"]),
        body_json=json.dumps(alert, sort_keys=True),
    )


def alert_from_proto(alert: node_pb2.MonitorAlert) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(alert.body_json)
    return body
