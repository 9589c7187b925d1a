"""Commands and daemons start without torch and flwr; a bank training a horizontal job loads them.

torch and flwr cost over a second of CPU to import, paid by every command, node and coordinator
while the job-type registry imported every protocol's code at start. Each check runs in a
fresh interpreter (this test process has long imported everything) and looks at
``sys.modules``, never at a clock.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

HEAVY = {"torch", "flwr"}
# the console's web stack, imported only by a node or coordinator configured with a console
WEB = {"starlette", "uvicorn", "jinja2", "node.console.serve"}
WATCHED = sorted(HEAVY | WEB)
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# every command a user installs with fedcredit: "module:function"
ENTRY_POINTS = sorted(tomllib.loads(PYPROJECT.read_text())["project"]["scripts"].values())

# The coordinator's side of a horizontal job (validate the file, resolve the aggregator), then
# a bank's: its context names no dataset, so it refuses the job once the code that trains is in.
HORIZONTAL = """
from node.jobs.context import PartyContext
from node.jobs.exceptions import JobSpecError
from node.jobs.spec import parse_job_file
from node.jobtypes.registry import job_type

kind = job_type("horizontal")
job = parse_job_file(
    b"type: horizontal\\nparties:\\n  a: {dataset: d, label: y}\\n  b: {dataset: d, label: y}\\n",
    job_types=["horizontal"],
)
kind.validate(job)
kind.run_coordinator.resolve()
snapshot()
try:
    kind.run_party(
        PartyContext(
            party="a", job_id="j1", attempt=1, parties=("a", "b"), spec={},
            channel=None, hooks=None, datasets=None, gate=None,
        )
    )
except JobSpecError:
    pass
snapshot()
"""

# What the coordinator and every node resolve before a job's party code runs: validation at
# submission, the fields each party uses, and the coordinator's own part.
EVERY_JOB_TYPE = """
from node.jobtypes.registry import Deferred, job_type, known_job_types

for name in known_job_types():
    kind = job_type(name)
    for slot in (kind.validate, kind.uses, kind.run_coordinator):
        if isinstance(slot, Deferred):
            slot.resolve()
"""


def snapshots(code: str) -> list[set[str]]:
    """Run ``code`` in a fresh interpreter; at each ``snapshot()`` it calls, which watched
    modules it had imported."""
    prelude = (
        "import json, sys\n"
        f"def snapshot(): print(json.dumps([m for m in {WATCHED} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", f"{prelude}{code}\nsnapshot()"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [set(json.loads(line)) for line in done.stdout.splitlines() if line.startswith("[")]


def test_every_installed_command_is_read_from_pyproject() -> None:
    assert "node.cli.app:main" in ENTRY_POINTS
    assert "coordinator.cli.local:main" in ENTRY_POINTS


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_an_entry_point_starts_without_torch_flwr_or_the_console(entry: str) -> None:
    [loaded] = snapshots(f"import {entry.partition(':')[0]}")
    assert not loaded


def test_validating_and_coordinating_every_job_type_loads_no_torch_or_flwr() -> None:
    [loaded] = snapshots(EVERY_JOB_TYPE)
    assert not HEAVY & loaded


def test_only_a_banks_part_of_a_horizontal_job_loads_torch_and_flwr() -> None:
    coordinator, bank, _ = snapshots(HORIZONTAL)
    assert not HEAVY & coordinator, "validating or aggregating a horizontal job loaded them"
    assert bank >= HEAVY
