"""The policy file format as models: every key, its type, default and the checks one file needs.

``PolicyFile`` validates a file on its own: keys, value types, names of classes, roles and
purposes, each rule's transformation against its parameter model, and the checks that need
only the dataset the rule sits in (fields exist, C3 fields only leave under a replacing
transformation, the transformation suits the field's kind). Checks across files (registered
organizations, role grants, overlapping rules) stay in ``loader``. The reference page
``docs/reference/policy-file.md`` is generated from these models.

Shorthands a file may use: a single name where a list is asked (``to: {roles: bank}``), a
class alone for a field (``sector: public``), a name alone for a parameterless transformation
(``transform: keep``).
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BeforeValidator, Field, field_validator, model_validator

from node.policy.model import (
    C3_TRANSFORMS,
    DATA_PURPOSES,
    TRAINING_BASES,
    FieldClass,
    Purpose,
    Role,
)
from node.policy.transforms import AnyTransform
from node.policy.transforms.dates import DateShift
from node.validation import FileModel, FormatVersion, Invalid, OneOf

FORMAT_VERSION: Final = 1
KINDS: Final = ("numeric", "string", "date")
# The field kinds each transformation reads; the others take any kind.
NEEDS_KIND: Final = {
    "bucket": ("numeric",),
    "clip": ("numeric",),
    "noise": ("numeric",),
    "age_band": ("numeric", "date"),
    "date_truncate": ("date",),
    "date_shift": ("date",),
    "region_prefix": ("string", "numeric"),
}
# Transformations whose output is a number (bucket unless output: label).
NUMERIC_OUTPUT: Final = ("keep", "clip", "noise", "bucket")


def _one_or_more(value: object) -> object:
    """A single name where a list is asked: ``roles: bank`` reads as ``roles: [bank]``."""
    return [value] if isinstance(value, str) else value


OneOrMore: Final = BeforeValidator(_one_or_more)
PurposeName = Annotated[str, OneOf(tuple(p.value for p in Purpose))]
DataPurposeName = Annotated[str, OneOf(tuple(sorted(p.value for p in DATA_PURPOSES)))]
RoleName = Annotated[str, OneOf(tuple(r.value for r in Role))]
ClassName = Annotated[str, OneOf(tuple(c.value for c in FieldClass))]
Purposes = Annotated[list[PurposeName], OneOrMore]
Roles = Annotated[list[RoleName], OneOrMore, Field(min_length=1)]


class RoleGrants(FileModel):
    """Purposes each certificate role may act for on this node (a role not named: none)."""

    government: Purposes | None = None
    bank: Purposes | None = None
    third_party: Purposes | None = None
    coordinator: Purposes | None = None
    auditor: Purposes | None = None
    operator: Purposes | None = None

    def given(self) -> dict[Role, frozenset[Purpose]]:
        """The roles the file names, with their purposes (``[]`` or empty: none)."""
        return {
            Role(name): frozenset(Purpose(p) for p in getattr(self, name) or ())
            for name in self.model_fields_set
        }


class FieldEntry(FileModel):
    """One column the dataset may serve; `sector: public` is short for `{class: public}`."""

    field_class: ClassName = Field(
        alias="class", examples=["C2"], description="Sensitivity class (JR/T 0171-2020)."
    )
    kind: Annotated[str, OneOf(KINDS)] | None = Field(
        None, description="The value kind; a rule naming the field must suit it."
    )
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _class_alone(cls, value: object) -> object:
        return {"class": value} if isinstance(value, str) else value


class Recipients(FileModel):
    """Who receives: certificate roles and/or registered organizations."""

    roles: Roles | None = None
    organizations: Annotated[list[str], OneOrMore, Field(min_length=1)] | None = Field(
        None, description="Organizations registered under `organizations:`."
    )

    @model_validator(mode="after")
    def _someone(self) -> Recipients:
        if self.roles is None and self.organizations is None:
            raise Invalid("no recipient", "give roles and/or organizations")
        return self


class RuleSection(FileModel):
    """One rule: which fields leave to whom, for which purposes, under which transformation."""

    fields: Annotated[list[str], OneOrMore, Field(min_length=1)] | None = Field(
        None, description="Fields of the dataset (give this or `classes`)."
    )
    classes: Annotated[list[ClassName], OneOrMore, Field(min_length=1)] | None = Field(
        None, description="Every field of these classes (give this or `fields`)."
    )
    to: Recipients
    purposes: Annotated[list[DataPurposeName], OneOrMore, Field(min_length=1)] = Field(
        examples=[["training", "scoring"]]
    )
    transform: AnyTransform = Field(
        examples=["keep"],
        description="A name, or `{type: NAME, parameters}`; the sections below list each.",
    )
    tolerance: float | None = Field(
        None,
        gt=0,
        lt=1e12,
        description="How far a released number may differ from the transform's output "
        "(release fingerprints stay within it); numeric outputs only.",
    )
    note: str | None = None

    @field_validator("transform", mode="before")
    @classmethod
    def _name_alone(cls, value: object) -> object:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _targets_and_tolerance(self) -> RuleSection:
        if (self.fields is None) == (self.classes is None):
            raise Invalid("a rule needs exactly one of fields or classes", "split it in two")
        name = self.transform.name
        if self.tolerance is not None and (
            name not in NUMERIC_OUTPUT or self.transform.params().get("output") == "label"
        ):
            raise Invalid(
                f"{name!r} does not release numbers, so it cannot carry a tolerance",
                f"give tolerance only to rules with {', '.join(NUMERIC_OUTPUT)}",
                key="tolerance",
            )
        return self


class DatasetSection(FileModel):
    """The fields of one dataset and the rules that let them leave."""

    description: str | None = None
    id_field: str | None = Field(
        None, description="The entity id column (keys `date_shift`); one of `fields`."
    )
    fields: dict[str, FieldEntry] = Field(min_length=1)
    rules: list[RuleSection] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules_fit_fields(self) -> DatasetSection:
        if self.id_field is not None and self.id_field not in self.fields:
            raise Invalid("not one of the fields", "name a declared field", key="id_field")
        for i, rule in enumerate(self.rules):
            for j, name in enumerate(rule.fields or ()):
                if name not in self.fields:
                    raise Invalid(
                        f"{name!r} is not a field of this dataset",
                        f"use one of: {', '.join(self.fields)}",
                        key=f"rules[{i}].fields[{j}]",
                    )
            self._transform_fits(rule, f"rules[{i}]")
        return self

    def _transform_fits(self, rule: RuleSection, key: str) -> None:
        name = rule.transform.name
        targets = {n: self.fields[n] for n in rule.fields or ()}
        has_c3 = FieldClass.C3.value in (rule.classes or ()) or any(
            t.field_class == FieldClass.C3.value for t in targets.values()
        )
        if has_c3 and name not in C3_TRANSFORMS:
            raise Invalid(
                f"a C3 field may not leave under {name!r}",
                f"use one of {', '.join(sorted(C3_TRANSFORMS))} for C3 fields",
                key=f"{key}.transform",
            )
        # Kinds are checked for fields named by the rule. A class rule may be shadowed by field
        # rules for some of its fields, so a mismatch there surfaces as TransformError at run
        # time (and in ``fedcredit policy dry-run``), never as data leaving.
        for field, entry in targets.items():
            if entry.kind is not None and entry.kind not in NEEDS_KIND.get(name, KINDS):
                raise Invalid(
                    f"{name} does not apply to {entry.kind} field {field!r}",
                    f"use it on {' or '.join(NEEDS_KIND[name])} fields",
                    key=f"{key}.transform",
                )
            if rule.tolerance is not None and entry.kind not in (None, "numeric"):
                raise Invalid(
                    f"{entry.kind} field {field!r} does not release numbers",
                    "give tolerance only to rules on numeric fields",
                    key=f"{key}.tolerance",
                )
        if isinstance(rule.transform, DateShift):
            entity = rule.transform.entity_field or self.id_field
            if entity is None or entity not in self.fields:
                raise Invalid(
                    "date_shift needs the entity id column",
                    "set id_field on the dataset or entity_field on the transform",
                    key=f"{key}.transform",
                )


class PolicyFile(FileModel):
    """A policy file (several files in one folder make one policy)."""

    fedcredit_policy: Annotated[
        int, FormatVersion("fedcredit_policy", FORMAT_VERSION, "the format version")
    ] = Field(examples=[FORMAT_VERSION], description="The format version.")
    description: str | None = None
    training_basis: Annotated[str, OneOf(TRAINING_BASES)] | None = Field(
        None,
        description="Which firms training may use: `deidentified` (every firm, the default) "
        "or `authorized` (firms whose authorization covers model development); "
        "docs/authorization.md.",
    )
    roles: RoleGrants = RoleGrants()
    organizations: dict[str, Roles] = Field(
        default_factory=dict,
        description="Registered organizations and the roles their certificates may carry; "
        "an organization not listed is refused for every purpose.",
    )
    datasets: dict[str, DatasetSection] = Field(default_factory=dict)
