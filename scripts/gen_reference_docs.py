"""Write docs/reference/<format>.md for every file format from the models that validate it.

Run from anywhere: ``python scripts/gen_reference_docs.py`` (``--check`` only reports stale
pages and exits 1). The pages are committed, and ``tests/test_reference_docs.py`` fails when
one differs from what the models say.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: the packages live at the repo root
    sys.path.insert(0, str(REPO))

from coordinator.runtime.config import CoordinatorConfigFile  # noqa: E402
from node.jobs.spec import JobHeader  # noqa: E402
from node.monitoring.policy import MonitoringPolicyFile  # noqa: E402
from node.policy.schema import PolicyFile  # noqa: E402
from node.psi.spec import PsiFile  # noqa: E402
from node.runtime.config import NodeConfigFile  # noqa: E402
from node.scoring.policy import DecisionPolicyFile  # noqa: E402
from node.training.horizontal.spec import HorizontalFile  # noqa: E402
from node.training.secureboost.spec import SecureBoostFile  # noqa: E402
from node.training.vertical.spec import VerticalFile  # noqa: E402
from node.validation import FileModel  # noqa: E402
from node.validation.reference import render_page  # noqa: E402

OUT = REPO / "docs" / "reference"


@dataclass(frozen=True)
class Format:
    """One file format: its page name, title, the prose above the tables, and its root model."""

    name: str
    title: str
    intro: str
    model: type[FileModel]
    key: str = ""


_JOB = (
    "A job file is YAML with `type`, `parties` (node id to that party's settings) and the "
    "section of its type; `fedcredit jobs submit FILE` sends it to the coordinator, which "
    "validates it before any node starts. "
)

FORMATS = (
    Format(
        "job-file",
        "Job file: the keys every job type shares",
        _JOB + "Besides `type` and `parties`, the top level holds the job type's own sections "
        "(each on its own page here, e.g. [vertical_lr](vertical_lr.md)); each job type "
        "validates its own, and their unknown keys are refused.",
        JobHeader,
    ),
    Format(
        "vertical_lr",
        "Job file: `vertical_lr` (the `vertical` section)",
        _JOB + "Protocol and defaults: docs/protocols/vertical-lr.md. The `psi` section, when "
        "present, is the one of [psi](psi.md); its leader is the label holder.",
        VerticalFile,
        "vertical",
    ),
    Format(
        "secureboost",
        "Job file: `secureboost` (the `secureboost` section)",
        _JOB + "Protocol and defaults: docs/protocols/secureboost.md. The party sections have "
        "the shape of the `vertical_lr` job's.",
        SecureBoostFile,
        "secureboost",
    ),
    Format(
        "horizontal",
        "Job file: `horizontal` (the `horizontal` section)",
        _JOB + "Every party under `parties` is a bank that trains; each names its `dataset`, "
        "`label` and `features` there. Protocol and defaults: docs/protocols/horizontal.md.",
        HorizontalFile,
        "horizontal",
    ),
    Format(
        "psi",
        "Job file: `psi` (the `psi` section)",
        _JOB + "Each party names its `dataset` (and optionally `id_field`) under `parties`. "
        "Protocol and what each party learns: docs/protocols/psi.md.",
        PsiFile,
        "psi",
    ),
    Format(
        "node-config",
        "Node configuration file",
        "Read by `fedcredit-node --config FILE` at start-up; relative paths are resolved "
        "against the file. What the `governance`, `scoring`, `monitoring` and `console` "
        "sections do is in the documents their descriptions name.",
        NodeConfigFile,
    ),
    Format(
        "policy-file",
        "Policy file",
        "Read by the node from `--policy` (a file, or every `*.yaml` of a folder, merged into "
        "one policy; `fedcredit policy validate PATH` checks it without starting). Deny by "
        "default: a field, recipient or purpose no rule names does not leave the node. Meaning "
        "of classes, "
        "roles and purposes, and what each transformation does: docs/policies.md. "
        "Shorthands: one name where a list is asked (`to: {roles: bank}`), a class alone for a "
        "field (`sector: public`), a name alone for a transformation without parameters "
        "(`transform: keep`). Errors also name the line.",
        PolicyFile,
    ),
    Format(
        "decision-policy",
        "Decision policy file",
        "Read by the bank's node from `scoring.decision_policy` (re-read when the file "
        "changes); it says how a probability of default becomes a decision, a limit and a "
        "price. Versioned by content: every decision record names the file's SHA-256. What "
        "each rule does: docs/scoring.md.",
        DecisionPolicyFile,
    ),
    Format(
        "monitoring-policy",
        "Monitoring policy file",
        "Read by the bank's node from `monitoring.policy`: warning levels, the IFRS 9 and "
        "loan-classification rules, flags and feed limits of early warning. Versioned by "
        "content: every refresh names the file's SHA-256. What each rule does: "
        "docs/early-warning.md.",
        MonitoringPolicyFile,
    ),
    Format(
        "coordinator-config",
        "Coordinator configuration file",
        "Read by `fedcredit-coordinator --config FILE` at start-up; relative paths are "
        "resolved against the file.",
        CoordinatorConfigFile,
    ),
)


def pages() -> dict[str, str]:
    """Every reference page by file name, as the models say it today."""
    return {f"{f.name}.md": render_page(f.title, f.intro, f.model, f.key) for f in FORMATS}


def stale(out: Path = OUT) -> list[str]:
    """The pages under ``out`` that are missing or differ from ``pages()``."""
    return sorted(
        name
        for name, text in pages().items()
        if not (out / name).exists() or (out / name).read_text() != text
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale pages, write none")
    args = parser.parse_args(argv)
    if args.check:
        names = stale()
        for name in names:
            print(f"docs/reference/{name} is stale; run python scripts/gen_reference_docs.py")
        return 1 if names else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in pages().items():
        (OUT / name).write_text(text)
    print(f"wrote {len(FORMATS)} pages in docs/reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
