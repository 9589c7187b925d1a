"""Load policy files into a validated, immutable ``Policy``; see ``docs/policies.md``.

Loading is all-or-nothing: every file is read, checked against its format (``schema``: keys,
types, transformations, rules that fit their dataset) and cross-checked across files
(organizations are registered, roles may use the purposes they are granted, no two rules
claim the same field/recipient/purpose, files agree on shared entries) before a ``Policy``
exists. A policy that loads is therefore one that the engine can enforce without further
checks, and every error names file, line and key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from node.policy.exceptions import PolicyFileError
from node.policy.model import (
    DEIDENTIFIED_BASIS,
    DatasetPolicy,
    FieldClass,
    FieldDef,
    Policy,
    Purpose,
    Role,
    Rule,
)
from node.policy.schema import DatasetSection, PolicyFile
from node.policy.yamlsource import line_at, read_located
from node.validation import validate


class _File:
    """One policy file as read: its path, its located document and its validated model."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.root = read_located(path, text)
        self.spec = validate(
            PolicyFile,
            self.root,
            source=str(path),
            error=PolicyFileError,
            locate=lambda loc: line_at(self.root, loc),
        )

    def line(self, *loc: str | int) -> int:
        """The line of a key or list item of this file."""
        return line_at(self.root, loc) or 1

    def error(self, line: int | None, key: str, problem: str, fix: str) -> PolicyFileError:
        return PolicyFileError(str(self.path), problem, key=key, fix=fix, line=line)


def _dataset(f: _File, name: str, spec: DatasetSection) -> tuple[DatasetPolicy, list[int]]:
    """The dataset's policy, and the line of each of its rules."""
    fields = {n: FieldDef(n, FieldClass(e.field_class), e.kind) for n, e in spec.fields.items()}
    lines = [f.line("datasets", name, "rules", i) for i in range(len(spec.rules))]
    rules = tuple(
        Rule(
            dataset=name,
            fields=tuple(r.fields or ()),
            classes=tuple(FieldClass(c) for c in r.classes or ()),
            roles=tuple(Role(x) for x in r.to.roles or ()),
            organizations=tuple(r.to.organizations or ()),
            purposes=tuple(Purpose(p) for p in r.purposes),
            transform=r.transform,
            source=f"{f.path.name}:{line}",
            tolerance=r.tolerance,
        )
        for r, line in zip(spec.rules, lines, strict=True)
    )
    return DatasetPolicy(name, spec.id_field, fields, rules), lines


class _Merged:
    def __init__(self) -> None:
        self.roles: dict[Role, tuple[frozenset[Purpose], str]] = {}
        self.orgs: dict[str, tuple[frozenset[Role], str]] = {}
        self.datasets: dict[str, tuple[DatasetPolicy, str]] = {}
        self.rule_lines: dict[str, tuple[_File, int, str]] = {}
        self.training_basis: tuple[str, str] | None = None  # (basis, where it was stated)

    def agree(self, f: _File, key: str, mine: Any, theirs: tuple[Any, str] | None) -> None:
        """Refuse an entry another file already states differently."""
        if theirs is not None and theirs[0] != mine:
            raise f.error(
                f.line(*key.split(".", 1)),
                key,
                f"conflicts with {theirs[1]}",
                "make both files agree",
            )


def _merge_file(f: _File, merged: _Merged) -> None:
    spec, name = f.spec, f.path.name
    if spec.training_basis is not None:
        merged.agree(f, "training_basis", spec.training_basis, merged.training_basis)
        merged.training_basis = (spec.training_basis, f"{name}:{f.line('training_basis')}")
    for role, allowed in spec.roles.given().items():
        merged.agree(f, f"roles.{role.value}", allowed, merged.roles.get(role))
        merged.roles[role] = (allowed, f"{name}:{f.line('roles', role.value)}")
    for org, role_names in spec.organizations.items():
        roles_of = frozenset(Role(r) for r in role_names)
        merged.agree(f, f"organizations.{org}", roles_of, merged.orgs.get(org))
        merged.orgs[org] = (roles_of, f"{name}:{f.line('organizations', org)}")
    for ds_name, ds_spec in spec.datasets.items():
        at = f.line("datasets", ds_name)
        if ds_name in merged.datasets:
            raise f.error(
                at,
                f"datasets.{ds_name}",
                f"dataset also defined in {merged.datasets[ds_name][1]}",
                "define each dataset once",
            )
        ds, lines = _dataset(f, ds_name, ds_spec)
        for i, (rule, line) in enumerate(zip(ds.rules, lines, strict=True)):
            merged.rule_lines[rule.source] = (f, line, f"datasets.{ds_name}.rules[{i}]")
        merged.datasets[ds_name] = (ds, f"{name}:{at}")


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
                str(path), "no .yaml policy files in this folder", fix="add a policy file"
            )
        return files
    if not path.is_file():
        raise PolicyFileError(str(path), "no such file or folder", fix="check the policy path")
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
                str(file),
                f"cannot read the file ({type(exc).__name__})",
                fix="check the path, its permissions and that it is UTF-8",
            ) from None
        contents.append((file.name, data))
        _merge_file(_File(file, text), merged)
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
