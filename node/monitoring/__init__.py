"""Post-loan monitoring: panel signals, warning rules, watch list, alerts, drift, feed health.

See docs/early-warning.md. Every node with a monthly panel answers monitoring refreshes for
the banks authorized to monitor its firms; a bank with a monitoring policy runs them.
"""

from node.monitoring.exceptions import (
    InvalidTransition,
    MonitoringError,
    MonitoringPolicyError,
    NotConfigured,
    PanelError,
    PolicyChangeNotRecorded,
    UnknownAlert,
)
from node.monitoring.panel import PanelCube
from node.monitoring.policy import MonitoringPolicy, load_monitoring_policy
from node.monitoring.signals import compute_signals, signal_names

__all__ = [
    "InvalidTransition",
    "MonitoringError",
    "MonitoringPolicy",
    "MonitoringPolicyError",
    "NotConfigured",
    "PanelCube",
    "PanelError",
    "PolicyChangeNotRecorded",
    "UnknownAlert",
    "compute_signals",
    "load_monitoring_policy",
    "signal_names",
]
