"""Field-level masking policies, role-based access decisions and governed release."""

from node.policy.decision import Decision, DecisionLog, FieldDecision
from node.policy.engine import MaskedFrame, PolicyEngine
from node.policy.exceptions import (
    FilterNotPermitted,
    MissingRule,
    PolicyDenied,
    PolicyError,
    PolicyFileError,
    PurposeNotPermitted,
    ReleaseQueryError,
    RoleMismatch,
    RuleMissing,
    TransformError,
    UnknownDataset,
    UnknownField,
    UnknownOrganization,
)
from node.policy.loader import load_policy
from node.policy.model import FieldClass, Identity, Policy, Purpose, Role
from node.policy.release import Release, ReleaseRecord, ReleaseRequest, build_release

__all__ = [
    "Decision",
    "DecisionLog",
    "FieldClass",
    "FieldDecision",
    "FilterNotPermitted",
    "Identity",
    "MaskedFrame",
    "MissingRule",
    "Policy",
    "PolicyDenied",
    "PolicyEngine",
    "PolicyError",
    "PolicyFileError",
    "Purpose",
    "PurposeNotPermitted",
    "Release",
    "ReleaseQueryError",
    "ReleaseRecord",
    "ReleaseRequest",
    "Role",
    "RoleMismatch",
    "RuleMissing",
    "TransformError",
    "UnknownDataset",
    "UnknownField",
    "UnknownOrganization",
    "build_release",
    "load_policy",
]
