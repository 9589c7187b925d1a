"""The shipped monitoring policy for unit tests, and a bank node's config for offline
commands."""

from __future__ import annotations

from pathlib import Path

import yaml

from node.monitoring.policy import MonitoringPolicy, parse_monitoring_policy

POLICY_FILE = Path(__file__).resolve().parents[3] / "policies" / "monitoring" / "sme-watch.yaml"
POLICY_TEXT = POLICY_FILE.read_text()


def policy() -> MonitoringPolicy:
    return parse_monitoring_policy(POLICY_TEXT, "sme-watch.yaml")


def bank_config(root: Path, datasets: dict[str, tuple[Path, Path]], policy: Path) -> Path:
    """A bank node's config file in ``root`` (state in ``root/state``) with ``datasets``
    (name -> (file, schema)) and the monitoring policy at ``policy``; for the commands that
    work on a node's files offline."""
    path = root / "node.yaml"
    raw = {
        "node_id": "bank",
        "certs": {"dir": "certs"},
        "coordinator": "127.0.0.1:50051",
        "state_dir": str(root / "state"),
        "datasets": {n: {"path": str(f), "schema": str(s)} for n, (f, s) in datasets.items()},
        "monitoring": {"policy": str(policy)},
    }
    path.write_text(yaml.safe_dump(raw))
    return path
