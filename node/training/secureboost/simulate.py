"""Run a whole SecureBoost job in one process (one thread per party over a memory hub).

The real protocol code, only the transport is in memory: tests use it for the encrypted /
plaintext-twin equivalence and for what crosses the wire, the benchmark for its timings.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Executor
from typing import Any

import pandas as pd

from node.jobs.hooks import JobHooks, MemoryHooks
from node.training.secureboost.guest import run_guest
from node.training.secureboost.host import run_host
from node.training.secureboost.spec import SecureBoostSpec
from node.transport.memory import MemoryHub


def run_in_memory(
    spec: SecureBoostSpec,
    frames: Mapping[str, pd.DataFrame],
    pool: Executor | None = None,
    hub: MemoryHub | None = None,
    hooks: Mapping[str, JobHooks] | None = None,
) -> tuple[dict[str, Any], dict[str, BaseException]]:
    """Run the job; return ``(results, errors)`` keyed by party."""
    hub = hub or MemoryHub("secureboost-sim")
    hooks = dict(hooks or {})
    for party in spec.parties:
        hooks.setdefault(party, MemoryHooks())
    results: dict[str, Any] = {}
    errors: dict[str, BaseException] = {}

    def role(party: str) -> None:
        run = run_guest if party == spec.label_holder.party else run_host
        try:
            results[party] = run(hub.channel(party), hooks[party], spec, frames[party], pool)
        except BaseException as exc:  # collected and reported to the caller
            errors[party] = exc

    threads = [
        threading.Thread(target=role, args=(p,), name=f"sb-{p}", daemon=True) for p in spec.parties
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
