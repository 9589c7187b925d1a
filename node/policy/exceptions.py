"""Errors of the policy engine: unusable policy files, refused requests, bad release queries.

No error here ever carries a data value. A refusal names the dataset, the field, the recipient
(role and organization) and the purpose, which are all metadata the operator already knows;
never the value of a field, an enterprise identifier, a label or a key. That way an error
message can be logged, shown in a terminal or returned over gRPC without leaking what the
policy protects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from node.validation.errors import SpecError


class PolicyError(Exception):
    """Base class for every error of the policy package."""

    catalog_code: ClassVar[str] = "policy.reload_failed"  # RPC answer: node.transport.errors


class PolicyFileError(PolicyError, SpecError):
    """A policy file is not valid: unreadable, malformed YAML, or a key that breaks the schema.

    The policy files' ``SpecError`` (same arguments and attributes), read as ``"<file>:<line>
    <key>: <problem>; <fix>"``; ``key`` is the dotted path of the offending key
    (``datasets.bank.rules[2].transform.keep_first``), ``line`` its 1-based line.
    """

    @property
    def path(self) -> Path:
        """The offending file (or folder)."""
        return Path(self.source)


@dataclass(frozen=True)
class MissingRule:
    """The rule a refused request would have needed, in the words of the policy file.

    It names what to write, not what the data holds: dataset, field, its class, the recipient
    and the purpose.
    """

    dataset: str
    field: str
    field_class: str
    role: str
    organization: str
    purpose: str

    def describe(self) -> str:
        """A one-line description an operator can turn into a rule."""
        return (
            f"datasets.{self.dataset}.rules: no rule for field {self.field!r} "
            f"(class {self.field_class}) to role {self.role!r} or organization "
            f"{self.organization!r} for purpose {self.purpose!r}"
        )

    def to_dict(self) -> dict[str, str]:
        """Plain form for the access log."""
        return {
            "dataset": self.dataset,
            "field": self.field,
            "field_class": self.field_class,
            "role": self.role,
            "organization": self.organization,
            "purpose": self.purpose,
        }


class PolicyDenied(PolicyError):
    """The node's policy refuses the request. Deny by default: nothing was released.

    Attributes
    ----------
    version
        Content hash of the policy that decided.
    code
        Short machine-readable reason (``missing_rule``, ``purpose_not_permitted``,
        ``unknown_organization``, ``role_mismatch``, ``unknown_dataset``, ``unknown_field``).
    missing
        The rules that would have been needed (for ``missing_rule``), else empty.
    """

    catalog_code: ClassVar[str] = "policy.denied"  # RPC answer: node.transport.errors

    code = "denied"

    def __init__(self, message: str, version: str, missing: tuple[MissingRule, ...] = ()) -> None:
        super().__init__(f"{message} (policy version {version[:16]})")
        self.version = version
        self.missing = missing


class RuleMissing(PolicyDenied):
    """At least one requested field has no rule for this recipient and purpose."""

    code = "missing_rule"


class PurposeNotPermitted(PolicyDenied):
    """The caller's role may not act for this purpose at all on this node."""

    code = "purpose_not_permitted"


class UnknownOrganization(PolicyDenied):
    """The caller's organization is not registered in the node's policy."""

    code = "unknown_organization"


class RoleMismatch(PolicyDenied):
    """The certificate claims a role the policy does not register for its organization."""

    code = "role_mismatch"


class UnknownDataset(PolicyDenied):
    """The request names a dataset the policy does not describe."""

    code = "unknown_dataset"


class UnknownField(PolicyDenied):
    """The request names a field the policy does not describe (never served unclassified)."""

    code = "unknown_field"


class TransformError(PolicyError):
    """A transformation cannot be applied to a column (wrong type, missing entity column).

    Attributes
    ----------
    field
        The column at fault.
    transform
        The transformation name.
    """

    catalog_code: ClassVar[str] = "release.transform_failed"  # RPC answer: node.transport.errors

    def __init__(self, field: str, transform: str, problem: str, fix: str) -> None:
        super().__init__(f"field {field!r}, transform {transform!r}: {problem}; {fix}")
        self.field = field
        self.transform = transform


class ReleaseQueryError(PolicyError):
    """A release filter is not in the accepted subset of pandas query syntax, or uses a field
    the recipient may not filter on.

    Attributes
    ----------
    problem
        What is wrong (names fields and operators, never the filter's literal values).
    """

    catalog_code: ClassVar[str] = "release.bad_filter"  # RPC answer: node.transport.errors

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"release filter refused: {problem}; {fix}")
        self.problem = problem
        self.fix = fix

    def catalog_detail(self) -> str:
        """What the caller sees: the problem only (the fix is the catalog entry's)."""
        return self.problem


class TransformSpecError(PolicyError, SpecError):
    """A transformation's parameters are invalid (``parse_transform``); ``key`` names the
    parameter, ``type`` when the transformation itself is unknown.

    Inside a policy file the same refusal is a ``PolicyFileError`` naming file, line and key.
    """


class FilterNotPermitted(PolicyDenied):
    """A release filter uses a field the recipient may not see as it is.

    Filtering runs on the raw values, so a filter on a masked field would be an oracle for the
    hidden value (``legal_rep_id_number == '...'`` tells by the row count whether a guess is
    right). Filters may therefore only use fields released under ``keep``.
    """

    code = "filter_not_permitted"
