"""Abnormal-access monitoring: events from the access log, per-principal baselines, detectors."""

from node.governance.monitor.events import AccessEvent, EventKind, event_from_entry
from node.governance.monitor.monitor import AccessMonitor, Alert
from node.governance.severity import Severity

__all__ = ["AccessEvent", "AccessMonitor", "Alert", "EventKind", "Severity", "event_from_entry"]
