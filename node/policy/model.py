"""The policy as data: field classes, roles, purposes, rules and the compiled lookup.

A policy file is parsed once (see ``loader``) into these frozen objects; the engine never
reads YAML again until a reload. Everything here is immutable so that a snapshot can be shared
by in-flight requests while a reload builds the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Final

from node.pki.identity import Principal

if TYPE_CHECKING:
    from node.policy.transforms.base import Transform


class FieldClass(StrEnum):
    """Sensitivity class after JR/T 0171-2020 (C3 most sensitive), plus ``public``.

    The standard grades personal financial information: C3 is identity and authentication data
    whose leak directly harms the person (identity card number, bank card, mobile number used
    as a credential); C2 identifies or profiles a person or firm (name, account flows, loans);
    C1 is internal data with limited harm (aggregates, ratios). ``public`` is published data.
    """

    C3 = "C3"
    C2 = "C2"
    C1 = "C1"
    PUBLIC = "public"


class Role(StrEnum):
    """Who a certificate holder is in the federation; read from the mutual-TLS certificate."""

    GOVERNMENT = "government"
    BANK = "bank"
    THIRD_PARTY = "third_party"
    COORDINATOR = "coordinator"
    AUDITOR = "auditor"
    OPERATOR = "operator"


class Purpose(StrEnum):
    """Why the caller asks. The first four move data and need field rules; the last two do not.

    ``monitoring`` is post-loan monitoring: a holder's partial scores and coded flags of a
    bank's borrowers, computed from its monthly panel at every refresh (docs/early-warning.md).
    """

    TRAINING = "training"
    SCORING = "scoring"
    RELEASE = "release"
    MONITORING = "monitoring"
    AUDIT = "audit"
    OPERATE = "operate"


DATA_PURPOSES: Final = frozenset(
    {Purpose.TRAINING, Purpose.SCORING, Purpose.RELEASE, Purpose.MONITORING}
)

# The only transformations a C3 field may leave under: each replaces every non-empty value by
# something else. ``keep``, generalizations, date changes and noise can return the raw value
# (a bucket of width 1, a zero shift, a noise draw of 0), so they are refused at load time.
C3_TRANSFORMS: Final = frozenset({"drop", "hash", "token", "mask"})


# The caller as read from its certificate (``node.pki.identity.Identity`` satisfies it).
Identity = Principal


@dataclass(frozen=True)
class FieldDef:
    """One column a dataset may serve: its class and, optionally, its value kind."""

    name: str
    field_class: FieldClass
    kind: str | None = None  # "numeric", "string" or "date"; None when not declared


@dataclass(frozen=True)
class Rule:
    """One line of the policy: these fields (or classes) go to these recipients, for these
    purposes, under this transformation.

    ``source`` is ``file:line`` of the rule, so a decision can say which rule applied.
    ``tolerance`` is the error the rule allows in a numeric output (``None``: none); release
    fingerprints (``node.governance.fingerprint``) stay within it.
    """

    dataset: str
    fields: tuple[str, ...]
    classes: tuple[FieldClass, ...]
    roles: tuple[Role, ...]
    organizations: tuple[str, ...]
    purposes: tuple[Purpose, ...]
    transform: Transform
    source: str
    tolerance: float | None = None


@dataclass(frozen=True)
class DatasetPolicy:
    """The fields of one dataset and the rules that let them leave."""

    name: str
    id_field: str | None
    fields: dict[str, FieldDef]
    rules: tuple[Rule, ...]


# Lookup key precedence, most specific first: a field rule beats a class rule, and within each
# an organization rule beats a role rule. Two rules on the same key are refused at load time.
SPECIFICITY: Final = ("field_org", "field_role", "class_org", "class_role")


# Which firms training may use, as the policy file states it (``training_basis:``).
AUTHORIZED_BASIS: Final = "authorized"  # firms whose authorization covers model_development
DEIDENTIFIED_BASIS: Final = "deidentified"  # every firm, the holder's de-identified basis
TRAINING_BASES: Final = (DEIDENTIFIED_BASIS, AUTHORIZED_BASIS)


@dataclass(frozen=True)
class Policy:
    """A loaded, validated policy: the immutable snapshot every decision reads.

    Attributes
    ----------
    version
        SHA-256 over the files' names and bytes; names the policy in every decision.
    sources
        The files it was loaded from.
    roles
        Purposes each role may act for (role-based access control).
    organizations
        Registered organizations and the roles their certificates may present.
    datasets
        Fields and rules per dataset.
    index
        (dataset, field, purpose, specificity, recipient) -> rule; built by the loader.
    training_basis
        Which firms training may use (``training_basis:`` in the file): ``deidentified`` (the
        default: every firm, under the holder's de-identified training basis) or
        ``authorized`` (only firms whose authorization covers model development); see
        docs/authorization.md.
    """

    version: str
    sources: tuple[Path, ...]
    roles: dict[Role, frozenset[Purpose]]
    organizations: dict[str, frozenset[Role]]
    datasets: dict[str, DatasetPolicy]
    index: dict[tuple[str, str, Purpose, str, str], Rule] = field(repr=False)
    training_basis: str = DEIDENTIFIED_BASIS

    def lookup(
        self, dataset: str, fname: str, purpose: Purpose, role: Role, org: str
    ) -> Rule | None:
        """The most specific rule for one field and recipient, or ``None`` (deny)."""
        fdef = self.datasets[dataset].fields[fname]
        for spec, target, who in (
            ("field_org", fname, org),
            ("field_role", fname, role.value),
            ("class_org", fdef.field_class.value, org),
            ("class_role", fdef.field_class.value, role.value),
        ):
            rule = self.index.get((dataset, target, purpose, spec, who))
            if rule is not None:
                return rule
        return None
