"""A node's monitoring settings as the node builds them: its ``monitoring:`` section written
into a node configuration file, read with the file, then built into settings."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml

from node.monitoring.config import MonitoringConfig, monitoring_config
from node.runtime.config import load_node_config

HEAD = {"node_id": "bank", "certs": {"dir": "certs"}, "coordinator": "127.0.0.1:50051"}


def monitoring_settings(section: dict[str, Any]) -> MonitoringConfig:
    """The settings of ``section``, through ``load_node_config`` and ``monitoring_config``.

    Raises
    ------
    node.runtime.config.ConfigError
        The section breaks its format (the message names the key and the fix).
    """
    with tempfile.TemporaryDirectory() as where:
        path = Path(where) / "node.yaml"
        path.write_text(yaml.safe_dump({**HEAD, "monitoring": section}, sort_keys=False), "utf-8")
        config = load_node_config(path)
        return monitoring_config(config.monitoring, config.state_dir)
