#!/usr/bin/env python3
"""Long fuzz runs: one target (or all) for a time budget, with fresh random seeds.

    python scripts/fuzz.py --target all --seconds 60
    python scripts/fuzz.py --target rpc.node.Release --seconds 600
    python scripts/fuzz.py --list

Targets are every parser of untrusted input (envelope, paillier, psi_wire, job_yaml,
policy_yaml, csv, checkpoint, audit_entry, release_filter) and every RPC of both services
(``rpc.node.*``, ``rpc.coordinator.*``, run against a real coordinator and node started in
this process on loopback mutual TLS); ``rpc`` selects all RPC targets, ``all`` everything.
A crash is a parser raising anything but its own error, or an RPC answering INTERNAL,
UNKNOWN, hanging or dropping the connection; hypothesis shrinks each to a small input.

Prints a table of cases and distinct crashes per target, then one JSON line with the same;
exits 1 when any target crashed. The short, deterministic run is ``tests/fuzz/test_fuzz.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fuzz.harness import Stats, run_for  # noqa: E402
from tests.fuzz.parsers import PARSERS  # noqa: E402
from tests.fuzz.rpcs import METHODS, in_process_federation, rpc_targets  # noqa: E402

RPC_NAMES = [f"rpc.{service}.{method}" for service, method, *_ in METHODS]


def _selected(target: str) -> list[str]:
    if target == "all":
        return [*PARSERS, *RPC_NAMES]
    if target == "rpc":
        return RPC_NAMES
    if target in PARSERS or target in RPC_NAMES:
        return [target]
    raise SystemExit(f"unknown target {target!r}; --list shows them")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="all", help="a target, 'rpc' or 'all'")
    parser.add_argument("--seconds", type=float, default=60.0, help="budget per target")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join([*PARSERS, *RPC_NAMES]))
        return 0
    names = _selected(args.target)
    logging.basicConfig(level=logging.ERROR)  # the in-process servers' refusals are expected
    results: list[Stats] = []
    parsers = [n for n in names if n in PARSERS]
    for name in parsers:
        results.append(run_for(PARSERS[name](), args.seconds))
        _row(results[-1])
    rpcs = [n for n in names if n in RPC_NAMES]
    if rpcs:
        with tempfile.TemporaryDirectory() as tmp, in_process_federation(Path(tmp)) as fed:
            targets = rpc_targets(fed)
            for name in rpcs:
                results.append(run_for(targets[name](), args.seconds))
                _row(results[-1])
    crashes = sum(len(r.crashes) for r in results)
    print(f"{'total':<34} {sum(r.cases for r in results):>9} {crashes:>8}")
    print(
        json.dumps(
            {
                "seconds_per_target": args.seconds,
                "targets": {r.target: {"cases": r.cases, "crashes": r.crashes} for r in results},
                "total_cases": sum(r.cases for r in results),
                "total_crashes": crashes,
            }
        )
    )
    return 1 if crashes else 0


def _row(stats: Stats) -> None:
    if not hasattr(_row, "header"):
        print(f"{'target':<34} {'cases':>9} {'crashes':>8}")
        _row.header = True  # type: ignore[attr-defined]
    print(f"{stats.target:<34} {stats.cases:>9} {len(stats.crashes):>8}", flush=True)
    for crash in stats.crashes:
        print(f"    crash: {crash}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
