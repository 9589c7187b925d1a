"""Errors of post-loan monitoring, one class per failure a caller handles differently."""

from __future__ import annotations

from typing import ClassVar

from node.validation.errors import SpecError


class MonitoringError(Exception):
    """Base class: a monitoring request or configuration cannot be carried out."""

    catalog_code: ClassVar[str] = "monitoring.refused"  # RPC answer: node.transport.errors


class MonitoringPolicyError(MonitoringError, SpecError):
    """A monitoring policy file is malformed (``SpecError``'s message and attributes: file,
    key path, problem and fix)."""


class PanelError(MonitoringError):
    """A panel cannot be read as firm x month figures, or a month is outside it."""


class NotConfigured(MonitoringError):
    """This node has no monitoring section, panel, policy or model to run a refresh with."""


class UnknownAlert(MonitoringError):
    """No alert of that id at this bank."""

    catalog_code: ClassVar[str] = "monitoring.unknown_alert"  # RPC answer: node.transport.errors


class InvalidTransition(MonitoringError):
    """An action that the alert's workflow state does not allow (e.g. acting on a closed one)."""


class PolicyChangeNotRecorded(MonitoringError):
    """The access log did not take the entry of a monitoring policy change: the new policy is
    not put in force until it does (the next refresh retries)."""
