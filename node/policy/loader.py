"""Load policy files into a validated, immutable ``Policy``; see ``docs/policies.md``.

Loading is all-or-nothing: every file is read, checked against the schema and cross-checked
(fields exist, organizations are registered, roles may use the purposes they are granted, no
two rules claim the same field/recipient/purpose, C3 fields only leave hashed, tokenized,
masked or not at all) before a ``Policy`` exists. A policy that loads is therefore one that
the engine can enforce without further checks, and every error names file, line and key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from node.policy.exceptions import PolicyFileError, TransformSpecError
from node.policy.model import (
    C3_TRANSFORMS,
    DATA_PURPOSES,
    DEIDENTIFIED_BASIS,
    TRAINING_BASES,
    DatasetPolicy,
    FieldClass,
    FieldDef,
    Policy,
    Purpose,
    Role,
    Rule,
)
from node.policy.transforms import parse_transform
from node.policy.transforms.base import Transform
from node.policy.transforms.dates import DateShift
from node.policy.yamlsource import LList, LMap, read_located

FORMAT_VERSION: Final = 1
KINDS: Final = ("numeric", "string", "date")
_NEEDS_KIND: Final = {
    "bucket": ("numeric",),
    "clip": ("numeric",),
    "noise": ("numeric",),
    "age_band": ("numeric", "date"),
    "date_truncate": ("date",),
    "date_shift": ("date",),
    "region_prefix": ("string", "numeric"),
}
# Transformations whose output is a number (bucket unless output: label).
_NUMERIC_OUTPUT: Final = ("keep", "clip", "noise", "bucket")


class _File:
    """Error helper bound to one file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, line: int | None, key: str, problem: str, fix: str) -> PolicyFileError:
        return PolicyFileError(self.path, line, key, problem, fix)

    def mapping(self, value: Any, line: int | None, key: str, allowed: Iterable[str]) -> LMap:
        if not isinstance(value, LMap):
            raise self.error(line, key, "expected a mapping", "write key: value pairs under it")
        allowed = tuple(allowed)
        for k in value:
            if k not in allowed:
                raise self.error(
                    value.lines[k],
                    f"{key}.{k}" if key else k,
                    "unknown key",
                    f"use one of: {', '.join(allowed)}",
                )
        return value

    def names(
        self, value: Any, line: int | None, key: str, choices: Iterable[str] | None
    ) -> list[str]:
        single = isinstance(value, str)
        if single:
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.error(line, key, "expected a non-empty list", f"write {key}: [a, b]")
        choices = tuple(choices) if choices is not None else None
        out = []
        for i, item in enumerate(value):
            item_line = value.lines[i] if isinstance(value, LList) else line
            item_key = key if single else f"{key}[{i}]"
            if not isinstance(item, str):
                raise self.error(item_line, item_key, "expected text", "quote the value")
            if choices is not None and item not in choices:
                raise self.error(
                    item_line,
                    item_key,
                    f"unknown value {item!r}",
                    f"use one of: {', '.join(choices)}",
                )
            out.append(item)
        return out


def _parse_transform(f: _File, value: Any, line: int | None, key: str) -> Transform:
    if isinstance(value, str):
        name, params, lines = value, {}, {}
    elif isinstance(value, LMap):
        if "type" not in value:
            raise f.error(value.line, key, "transform has no type", "add type: keep|mask|...")
        name = value["type"]
        params = {k: v for k, v in value.items() if k != "type"}
        lines = value.lines
    else:
        raise f.error(line, key, "expected a transform", "write a name or {type: ..., ...}")
    try:
        return parse_transform(str(name), params)
    except TransformSpecError as exc:
        at = lines.get(exc.key, line if exc.key == "type" else getattr(value, "line", line))
        raise f.error(at, f"{key}.{exc.key}", exc.problem, exc.fix) from None


def _parse_fields(f: _File, raw: Any, line: int, key: str) -> dict[str, FieldDef]:
    if not isinstance(raw, LMap) or not raw:
        raise f.error(line, key, "expected a mapping of field names", "list each field: class")
    out: dict[str, FieldDef] = {}
    classes = [c.value for c in FieldClass]
    for name, spec in raw.items():
        here, at = f"{key}.{name}", raw.lines[name]
        kind = None
        if isinstance(spec, LMap):
            f.mapping(spec, at, here, ("class", "kind", "description"))
            if "class" not in spec:
                raise f.error(at, here, "field has no class", f"add class: one of {classes}")
            if "kind" in spec:
                kind = f.names(spec["kind"], spec.lines["kind"], f"{here}.kind", KINDS)[0]
            spec_class, at = spec["class"], spec.lines["class"]
        else:
            spec_class = spec
        out[name] = FieldDef(name, FieldClass(f.names(spec_class, at, here, classes)[0]), kind)
    return out


def _check_rule_fits(f: _File, rule: Rule, ds: DatasetPolicy, line: int, key: str) -> None:
    name = rule.transform.name
    targets = [ds.fields[n] for n in rule.fields]
    has_c3 = FieldClass.C3 in rule.classes or any(t.field_class is FieldClass.C3 for t in targets)
    if has_c3 and name not in C3_TRANSFORMS:
        raise f.error(
            line,
            f"{key}.transform",
            f"a C3 field may not leave under {name!r}",
            f"use one of {', '.join(sorted(C3_TRANSFORMS))} for C3 fields",
        )
    # Kinds are checked for fields named by the rule. A class rule may be shadowed by field
    # rules for some of its fields, so a mismatch there surfaces as TransformError at run time
    # (and in ``fedcredit policy dry-run``), never as data leaving.
    for t in targets:
        if t.kind is not None and name in _NEEDS_KIND and t.kind not in _NEEDS_KIND[name]:
            raise f.error(
                line,
                f"{key}.transform",
                f"{name} does not apply to {t.kind} field {t.name!r}",
                f"use it on {' or '.join(_NEEDS_KIND[name])} fields",
            )
    if isinstance(rule.transform, DateShift):
        entity = rule.transform.entity_field or ds.id_field
        if entity is None or entity not in ds.fields:
            raise f.error(
                line,
                f"{key}.transform",
                "date_shift needs the entity id column",
                "set id_field on the dataset or entity_field on the transform",
            )


def _parse_rule(f: _File, raw: Any, line: int, key: str, ds: DatasetPolicy) -> Rule:
    r = f.mapping(
        raw, line, key, ("fields", "classes", "to", "purposes", "transform", "tolerance", "note")
    )
    if ("fields" in r) == ("classes" in r):
        raise f.error(
            r.line, key, "a rule needs exactly one of fields or classes", "split it in two"
        )
    fields: list[str] = []
    classes: list[FieldClass] = []
    if "fields" in r:
        fields = f.names(r["fields"], r.lines["fields"], f"{key}.fields", list(ds.fields))
    else:
        classes = [
            FieldClass(c)
            for c in f.names(
                r["classes"], r.lines["classes"], f"{key}.classes", [c.value for c in FieldClass]
            )
        ]
    for required in ("to", "purposes", "transform"):
        if required not in r:
            raise f.error(r.line, f"{key}.{required}", "missing", f"add {required}: ...")
    to = f.mapping(r["to"], r.lines["to"], f"{key}.to", ("roles", "organizations"))
    if not to:
        raise f.error(r.lines["to"], f"{key}.to", "no recipient", "give roles and/or organizations")
    roles = (
        [
            Role(x)
            for x in f.names(
                to["roles"], to.lines["roles"], f"{key}.to.roles", [x.value for x in Role]
            )
        ]
        if "roles" in to
        else []
    )
    orgs = (
        f.names(to["organizations"], to.lines["organizations"], f"{key}.to.organizations", None)
        if "organizations" in to
        else []
    )
    purposes = [
        Purpose(p)
        for p in f.names(
            r["purposes"],
            r.lines["purposes"],
            f"{key}.purposes",
            sorted(p.value for p in DATA_PURPOSES),
        )
    ]
    transform = _parse_transform(f, r["transform"], r.lines["transform"], f"{key}.transform")
    rule = Rule(
        dataset=ds.name,
        fields=tuple(fields),
        classes=tuple(classes),
        roles=tuple(roles),
        organizations=tuple(orgs),
        purposes=tuple(purposes),
        transform=transform,
        source=f"{f.path.name}:{r.line}",
        tolerance=_parse_tolerance(f, r, key, transform, [ds.fields[n] for n in fields]),
    )
    _check_rule_fits(f, rule, ds, r.line, key)
    return rule


def _parse_tolerance(
    f: _File, r: LMap, key: str, transform: Transform, targets: list[FieldDef]
) -> float | None:
    """The rule's ``tolerance``: how far a released number may differ from the transform's
    output (release fingerprints use it). Only rules whose output is a number may have one."""
    if "tolerance" not in r:
        return None
    value, line, here = r["tolerance"], r.lines["tolerance"], f"{key}.tolerance"
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e12:
        raise f.error(line, here, "must be a positive number", "write tolerance: 0.001")
    numeric = transform.name in _NUMERIC_OUTPUT and transform.params().get("output") != "label"
    if not numeric or any(t.kind not in (None, "numeric") for t in targets):
        raise f.error(
            line,
            here,
            f"{transform.name!r} does not release numbers, so it cannot carry a tolerance",
            f"give tolerance only to rules with {', '.join(_NUMERIC_OUTPUT)} on numeric fields",
        )
    return float(value)


class _Merged:
    def __init__(self) -> None:
        self.roles: dict[Role, tuple[frozenset[Purpose], str]] = {}
        self.orgs: dict[str, tuple[frozenset[Role], str]] = {}
        self.datasets: dict[str, tuple[DatasetPolicy, str]] = {}
        self.rule_lines: dict[str, tuple[_File, int, str]] = {}
        self.training_basis: tuple[str, str] | None = None  # (basis, where it was stated)


def _parse_file(path: Path, text: str, merged: _Merged) -> None:
    f = _File(path)
    root = f.mapping(
        read_located(path, text),
        1,
        "",
        ("fedcredit_policy", "description", "roles", "organizations", "datasets", "training_basis"),
    )
    if root.get("fedcredit_policy") != FORMAT_VERSION:
        raise f.error(
            root.lines.get("fedcredit_policy", 1),
            "fedcredit_policy",
            "missing or unsupported format version",
            f"start the file with fedcredit_policy: {FORMAT_VERSION}",
        )
    if "training_basis" in root:
        at = root.lines["training_basis"]
        (basis,) = f.names(root["training_basis"], at, "training_basis", TRAINING_BASES)
        if merged.training_basis is not None and merged.training_basis[0] != basis:
            raise f.error(
                at,
                "training_basis",
                f"conflicts with {merged.training_basis[1]}",
                "state one training basis for the whole policy",
            )
        merged.training_basis = (basis, f"{path.name}:{at}")
    if "roles" in root:
        roles = f.mapping(root["roles"], root.lines["roles"], "roles", [r.value for r in Role])
        for name, purposes in roles.items():
            at = roles.lines[name]
            allowed = frozenset(
                Purpose(p)
                for p in (
                    f.names(purposes, at, f"roles.{name}", [p.value for p in Purpose])
                    if purposes
                    else []
                )
            )
            role = Role(name)
            if role in merged.roles and merged.roles[role][0] != allowed:
                raise f.error(
                    at,
                    f"roles.{name}",
                    f"conflicts with {merged.roles[role][1]}",
                    "make both files agree",
                )
            merged.roles[role] = (allowed, f"{path.name}:{at}")
    if "organizations" in root:
        orgs = root["organizations"]
        if not isinstance(orgs, LMap):
            raise f.error(
                root.lines["organizations"],
                "organizations",
                "expected a mapping",
                "write org-name: role (or a list of roles)",
            )
        for org, role_names in orgs.items():
            at = orgs.lines[org]
            roles_of = frozenset(
                Role(r)
                for r in f.names(role_names, at, f"organizations.{org}", [r.value for r in Role])
            )
            if org in merged.orgs and merged.orgs[org][0] != roles_of:
                raise f.error(
                    at,
                    f"organizations.{org}",
                    f"conflicts with {merged.orgs[org][1]}",
                    "make both files agree",
                )
            merged.orgs[org] = (roles_of, f"{path.name}:{at}")
    datasets = root.get("datasets", LMap(1))
    if not isinstance(datasets, LMap):
        raise f.error(
            root.lines["datasets"], "datasets", "expected a mapping", "write dataset-name: {...}"
        )
    for name, raw in datasets.items():
        key, at = f"datasets.{name}", datasets.lines[name]
        if name in merged.datasets:
            raise f.error(
                at,
                key,
                f"dataset also defined in {merged.datasets[name][1]}",
                "define each dataset once",
            )
        d = f.mapping(raw, at, key, ("description", "id_field", "fields", "rules"))
        if "fields" not in d:
            raise f.error(
                at, f"{key}.fields", "missing", "list the dataset's fields with their class"
            )
        fields = _parse_fields(f, d["fields"], d.lines["fields"], f"{key}.fields")
        id_field = d.get("id_field")
        if id_field is not None and id_field not in fields:
            raise f.error(
                d.lines["id_field"],
                f"{key}.id_field",
                "not one of the fields",
                "name a declared field",
            )
        ds = DatasetPolicy(name, id_field, fields, ())
        raw_rules = d.get("rules", LList(at))
        if not isinstance(raw_rules, LList):
            raise f.error(
                d.lines.get("rules", at), f"{key}.rules", "expected a list", "write - fields: ..."
            )
        rules = []
        for i, rr in enumerate(raw_rules):
            rule = _parse_rule(f, rr, raw_rules.lines[i], f"{key}.rules[{i}]", ds)
            merged.rule_lines[rule.source] = (f, raw_rules.lines[i], f"{key}.rules[{i}]")
            rules.append(rule)
        merged.datasets[name] = (
            DatasetPolicy(name, id_field, fields, tuple(rules)),
            f"{path.name}:{at}",
        )


def _index(merged: _Merged) -> dict[tuple[str, str, Purpose, str, str], Rule]:
    index: dict[tuple[str, str, Purpose, str, str], Rule] = {}
    roles = {r: p for r, (p, _) in merged.roles.items()}
    for ds, _ in merged.datasets.values():
        for rule in ds.rules:
            f, line, key = merged.rule_lines[rule.source]
            for org in rule.organizations:
                if org not in merged.orgs:
                    raise f.error(
                        line,
                        f"{key}.to.organizations",
                        f"organization {org!r} is not registered",
                        "add it under organizations: with its role",
                    )
            recipients = [("role", r.value, frozenset({r})) for r in rule.roles] + [
                ("org", o, merged.orgs[o][0]) for o in rule.organizations
            ]
            targets = [("field", n) for n in rule.fields] + [
                ("class", c.value) for c in rule.classes
            ]
            for purpose in rule.purposes:
                for kind, who, held in recipients:
                    if not any(purpose in roles.get(r, frozenset()) for r in held):
                        names = "/".join(sorted(r.value for r in held))
                        raise f.error(
                            line,
                            f"{key}.purposes",
                            f"recipient {who!r} (role {names}) may not act for {purpose.value!r}",
                            f"grant {purpose.value} under roles: or remove it from the rule",
                        )
                    for tkind, target in targets:
                        k = (ds.name, target, purpose, f"{tkind}_{kind}", who)
                        if k in index:
                            raise f.error(
                                line,
                                key,
                                f"overlaps rule at {index[k].source} for {tkind} {target!r}, "
                                f"{kind} {who!r}, purpose {purpose.value!r}",
                                "keep one rule per field, recipient and purpose",
                            )
                        index[k] = rule
    return index


def policy_files(path: Path) -> list[Path]:
    """The policy files at ``path``: the file itself, or the ``*.yaml``/``*.yml`` of a folder."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise PolicyFileError(
                path, None, "", "no .yaml policy files in this folder", "add a policy file"
            )
        return files
    if not path.is_file():
        raise PolicyFileError(path, None, "", "no such file or folder", "check the policy path")
    return [path]


def content_version(contents: list[tuple[str, bytes]]) -> str:
    """SHA-256 over the (name, bytes) of every file, in name order: the policy version."""
    h = hashlib.sha256(b"fedcredit-policy-v1\n")
    for name, data in sorted(contents):
        h.update(len(name).to_bytes(4, "big") + name.encode() + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def load_policy(path: Path | str) -> Policy:
    """Load and validate the policy file or folder at ``path``.

    Raises
    ------
    PolicyFileError
        Any file is unreadable, malformed or breaks the schema; the message names file, line
        and key. Nothing is loaded in that case.
    """
    files = policy_files(Path(path))
    contents: list[tuple[str, bytes]] = []
    merged = _Merged()
    for file in files:
        try:
            data = file.read_bytes()
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyFileError(
                file,
                None,
                "",
                f"cannot read the file ({type(exc).__name__})",
                "check the path, its permissions and that it is UTF-8",
            ) from None
        contents.append((file.name, data))
        _parse_file(file, text, merged)
    index = _index(merged)
    return Policy(
        version=content_version(contents),
        sources=tuple(files),
        roles={r: p for r, (p, _) in merged.roles.items()},
        organizations={o: r for o, (r, _) in merged.orgs.items()},
        datasets={n: d for n, (d, _) in merged.datasets.items()},
        index=index,
        training_basis=merged.training_basis[0] if merged.training_basis else DEIDENTIFIED_BASIS,
    )
