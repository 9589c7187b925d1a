"""The short fuzz run: every parser and every RPC, a fixed budget, deterministic inputs.

Each target must survive its inputs without a crash (see ``tests.fuzz.harness``). The long
run is ``python scripts/fuzz.py --target all --seconds N``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.harness import run
from tests.fuzz.parsers import PARSERS
from tests.fuzz.rpcs import METHODS, InProcessFederation, in_process_federation, rpc_targets

# A few seconds per target on a loaded 2-core machine; job files run every job type's
# validator, which is the slowest of the parsers.
PARSER_EXAMPLES = {"job_yaml": 40, "policy_yaml": 60}
DEFAULT_EXAMPLES = 120
RPC_EXAMPLES = 40


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PARSERS))
def test_parser_survives_fuzzing(name: str) -> None:
    stats = run(PARSERS[name](), PARSER_EXAMPLES.get(name, DEFAULT_EXAMPLES))
    assert stats.crashes == [], stats.crashes
    assert stats.cases > 0


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFederation]:
    with in_process_federation(tmp_path_factory.mktemp("fuzz")) as fed:
        yield fed


@pytest.mark.slow
@pytest.mark.parametrize("name", [f"rpc.{s}.{m}" for s, m, *_ in METHODS])
def test_rpc_survives_fuzzing(servers: InProcessFederation, name: str) -> None:
    stats = run(rpc_targets(servers)[name](), RPC_EXAMPLES)
    assert stats.crashes == [], stats.crashes
    assert stats.cases > 0


def test_every_rpc_of_both_services_is_a_target() -> None:
    from protos.fedcredit.v1 import coordinator_pb2, node_pb2

    declared = sum(
        len(module.DESCRIPTOR.services_by_name[name].methods)
        for module, name in ((node_pb2, "Node"), (coordinator_pb2, "Coordinator"))
    )
    assert len(METHODS) == declared >= 19
