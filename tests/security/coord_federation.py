"""A synthetic federation with coordinator settings of a test's choosing, for attack tests."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

from coordinator.local import LocalFederation
from tests.federation_fixtures import synthetic_federation

# A job that stays pending while a registered party is offline, for tests that need a job
# to exist but not finish: "ghost" registers and never opens its stream.
GHOST_JOB = "type: check\nparties:\n  bank: {}\n  ghost: {}\n"


def configured_federation(root: Path, **settings: object) -> LocalFederation:
    """The synthetic three-holder federation, its coordinator.yaml updated with ``settings``."""
    fed = synthetic_federation(root, n_firms=200)
    path = root / "config" / "coordinator.yaml"
    raw = yaml.safe_load(path.read_text())
    raw.update(settings)
    path.write_text(yaml.safe_dump(raw))
    return fed


def coordinator_log(fed: LocalFederation) -> str:
    return (fed.root / "logs" / "coordinator.log").read_text(errors="replace")


def fedcredit(*args: str) -> list[str]:
    """The ``fedcredit`` command line, run with this interpreter."""
    return [sys.executable, "-c", "from node.cli.app import main; main()", *args]


def cli_args(fed: LocalFederation, name: str = "operator") -> Mapping[str, str]:
    return {"--coordinator": fed.address, "--certs": str(fed.certs), "--as": name}
