"""Errors of post-loan monitoring, one class per failure a caller handles differently."""

from __future__ import annotations

from typing import ClassVar


class MonitoringError(Exception):
    """Base class: a monitoring request or configuration cannot be carried out."""

    catalog_code: ClassVar[str] = "monitoring.refused"  # RPC answer: node.transport.errors


class MonitoringPolicyError(MonitoringError):
    """A monitoring policy file is malformed; the message names the file, key and fix."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}")
        self.source = source
        self.key = key
        self.problem = problem


class PanelError(MonitoringError):
    """A panel cannot be read as firm x month figures, or a month is outside it."""


class NotConfigured(MonitoringError):
    """This node has no monitoring section, panel, policy or model to run a refresh with."""


class UnknownAlert(MonitoringError):
    """No alert of that id at this bank."""

    catalog_code: ClassVar[str] = "monitoring.unknown_alert"  # RPC answer: node.transport.errors


class InvalidTransition(MonitoringError):
    """An action that the alert's workflow state does not allow (e.g. acting on a closed one)."""
