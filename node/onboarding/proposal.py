"""What ``fedcredit init`` proposes for review: each node's policy and the project's job files.

Policies are written as commented YAML text, not dumped, so that the reviewer reads why each rule
is there. They are deny by default: they register exactly the project's organizations plus the
coordinator's, operator's and auditor's; they propose a training-and-scoring rule for the
columns schema inference found numeric and not identifying, a token-only rule for the id (what
PSI alignment needs) and, at the label holder, the label for its own training only. Identifiers
and text columns get no rule: they never leave the node.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

from node.data.infer import InferredSchema
from node.data.schema import FieldType
from node.onboarding.project import Party, Project
from node.training.vertical.spec import MIN_BATCH

_KIND: Final = {
    FieldType.INT: "numeric",
    FieldType.FLOAT: "numeric",
    FieldType.BOOL: "numeric",
    FieldType.DATE: "date",
    FieldType.STR: "string",
}
_OTHER_ORGANIZATIONS: Final = (("coordinator", "coordinator"), ("audit-office", "auditor"))


def _flow(items: Sequence[str]) -> str:
    """A YAML flow list (JSON strings are valid YAML and quote what needs quoting)."""
    return "[" + ", ".join(json.dumps(i, ensure_ascii=False) for i in items) + "]"


def propose_policy(project: Project, party: Party, inferred: Sequence[InferredSchema]) -> str:
    """The policy text proposed for ``party``'s node over its ``inferred`` datasets."""
    holders = sorted({p.role for p in project.parties})
    organizations = [(p.organization, p.role) for p in project.parties]
    organizations += [(project.operator_organization, "operator"), *_OTHER_ORGANIZATIONS]
    lines = [
        f"# Masking policy of node {party.name} ({party.organization}), proposed by",
        "# `fedcredit init` from its data files. REVIEW IT before the first job: deny by default,",
        "# a field leaves this node only under a rule below, and only to an organization listed",
        "# under organizations:. Delete a proposed rule to keep its fields at home. Reference:",
        "# docs/policies.md; after a change: fedcredit policy validate, then restart or reload.",
        "fedcredit_policy: 1",
        f"description: {json.dumps(f'{party.name} ({party.organization}), proposed by init')}",
        "",
        "roles:",
        *(f"  {role}: [training, scoring]" for role in holders),
        "  coordinator: []",
        "  auditor: [audit]",
        "  operator: [operate]",
        "",
        "# every organization this node deals with, and the role its certificates carry",
        "organizations:",
        *(f"  {json.dumps(org)}: {role}" for org, role in dict(organizations).items()),
        "",
        "datasets:",
    ]
    for ds in inferred:
        schema = ds.schema
        lines += [
            f"  {schema.name}:",
            f"    id_field: {json.dumps(schema.id_column)}",
            "    fields:",
        ]
        lines += [
            f"      {json.dumps(f.name)}: {{class: {f.sensitivity.value}, kind: {_KIND[f.dtype]}}}"
            for f in schema.fields
        ]
        lines.append("    rules:")
        if ds.features:
            lines += [
                "      # proposed: numeric, non-identifying columns for federated training and",
                "      # scoring (only encrypted partial results leave the node, never values)",
                f"      - fields: {_flow(ds.features)}",
                f"        to: {{roles: {_flow(holders)}}}",
                "        purposes: [training, scoring]",
                "        transform: keep",
                "        note: proposed by fedcredit init - review",
            ]
        lines += [
            "      # the id leaves only as a per-recipient token (what PSI alignment needs)",
            f"      - fields: {_flow([schema.id_column])}",
            f"        to: {{roles: {_flow(holders)}}}",
            "        purposes: [training, scoring]",
            "        transform: token",
        ]
        if schema.label_column:
            lines += [
                "      # the label serves this node's own training only",
                f"      - fields: {_flow([schema.label_column])}",
                f"        to: {{organizations: {_flow([party.organization])}}}",
                "        purposes: [training]",
                "        transform: keep",
            ]
        held_back = [c for c in schema.columns if c in ds.identifiers and c != schema.id_column]
        if held_back:
            lines.append(f"      # no rule, so never sent: {', '.join(held_back)}")
    return "\n".join(lines) + "\n"


def propose_jobs(project: Project, training: dict[str, InferredSchema]) -> dict[str, str]:
    """Job files by name: PSI alignment alone, and the vertical scorecard.

    ``training`` maps each party to the dataset it trains on (the label holder's holds the
    label; others use their first file).
    """
    holder = project.label_holder
    lead = training[holder.name].schema
    entries = [
        f"  {p.name}: {{dataset: {training[p.name].schema.name}, "
        f"id_field: {json.dumps(training[p.name].schema.id_column)}}}"
        for p in project.parties
    ]
    psi = "\n".join(
        [
            "# Private entity alignment: which firms all parties hold (docs/protocols/psi.md).",
            "type: psi",
            "parties:",
            *entries,
            "psi:",
            f"  leader: {holder.name}",
        ]
    )
    widest = max(len(training[p.name].features) + 1 for p in project.parties)
    batch = max(MIN_BATCH, 4 * widest, 256)
    hosts = []
    for p in project.feature_holders:
        s = training[p.name]
        hosts += [
            f"    - party: {p.name}",
            f"      dataset: {s.schema.name}",
            f"      id_column: {json.dumps(s.schema.id_column)}",
            f"      features: {_flow(s.features)}",
        ]
    vertical = "\n".join(
        [
            "# Vertical logistic-regression scorecard over all parties' proposed training columns",
            "# (docs/protocols/vertical-lr.md). Drop a column here to leave it out of the model.",
            "type: vertical_lr",
            "parties:",
            *(f"  {p.name}: {{}}" for p in project.parties),
            "preprocess: log_standardize   # each party, on its own columns, locally",
            "vertical:",
            "  label_holder:",
            f"    party: {holder.name}",
            f"    dataset: {lead.name}",
            f"    id_column: {json.dumps(lead.id_column)}",
            f"    label: {json.dumps(lead.label_column)}",
            f"    features: {_flow(training[holder.name].features)}",
            "  feature_holders:",
            *hosts,
            "  validation: {fraction: 0.2, seed: 7}",
            "  model:",
            "    epochs: 5",
            f"    batch_size: {batch}",
            "    learning_rate: 0.5",
            "    early_stopping: {patience: 2, min_delta: 0.0005}",
            "  encryption: {key_bits: 2048}",
            "  scorecard: {base_points: 600, base_odds: 50, points_to_double_odds: 20, "
            "odds: good_to_bad}",
        ]
    )
    return {"psi": psi + "\n", "vertical_lr": vertical + "\n"}
