"""Run every role of a vertical job in one process over a ``MemoryHub`` (demo, tests, bench).

Each role runs in its own thread, exactly as it would in its own node; the hub records every
message, which is what the tests inspect. The first role error is re-raised after all threads
have ended (every other role ends promptly with ``PartyFailed``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Executor
from typing import Any

import pandas as pd

from node.jobs.hooks import JobHooks, MemoryHooks
from node.training.vertical.arbiter import run_arbiter
from node.training.vertical.feature_holder import run_feature_holder
from node.training.vertical.label_holder import run_label_holder
from node.training.vertical.spec import ARBITER, VerticalSpec
from node.transport.memory import MemoryHub


def run_in_memory(
    spec: VerticalSpec,
    frames: Mapping[str, pd.DataFrame],
    pool: Executor | None = None,
    hub: MemoryHub | None = None,
    hooks: Mapping[str, JobHooks] | None = None,
) -> tuple[dict[str, Any], dict[str, BaseException]]:
    """Run the job; return ``(results, errors)`` keyed by party (``"coordinator"`` = arbiter)."""
    hub = hub or MemoryHub("vertical-sim")
    hooks = dict(hooks or {})
    for party in (*spec.parties, ARBITER):
        hooks.setdefault(party, MemoryHooks())
    results: dict[str, Any] = {}
    errors: dict[str, BaseException] = {}

    def role(party: str) -> None:
        channel = hub.channel(party)
        try:
            if party == ARBITER:
                results[party] = run_arbiter(channel, hooks[party], spec, pool)
            elif party == spec.label_holder.party:
                results[party] = run_label_holder(channel, hooks[party], spec, frames[party], pool)
            else:
                results[party] = run_feature_holder(
                    channel, hooks[party], spec, frames[party], pool
                )
        except BaseException as exc:  # collected and reported to the caller
            errors[party] = exc

    threads = [
        threading.Thread(target=role, args=(p,), name=f"vlr-{p}", daemon=True)
        for p in (ARBITER, *spec.parties)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
